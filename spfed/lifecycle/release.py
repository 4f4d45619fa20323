"""Releasing the sub-services of delegated parts: for compensation and for termination.

A delegated part's sub-service is known by its id at the lower SP once this
node recorded the lower SP's answer. A part that was sent but whose answer
was never recorded (lost to a timeout, or to a crash of this node between
sending InstantiateService and recording the answer) is found again at the
lower SP by the deterministic request id it was sent with
(``delegation_request_id``, ``upper_sp.delegation.find_subservice``); no
answer there means nothing was admitted.

Parts are released independently: a lower SP that cannot be reached does
not keep the others from being released. Compensation makes one attempt
per part (the engine retries the compensator). Termination keeps trying a
lower SP that fails temporarily (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED),
with backoff, until its deadline (``RetryUntil``), and says so in the
service's events; then it fails naming the lower SP.
"""

from __future__ import annotations

import asyncio
import logging
import time

from spfed.errors import SpfedError, error_for_code
from spfed.lifecycle.context import RemotePart, RetryUntil
from spfed.lifecycle.events import new_event
from spfed.lifecycle.ports import EventPorts, ReleasePorts
from spfed.lifecycle.relay import EventRelay
from spfed.model import DelegatedPart, ServiceEventKind, ServiceState
from upper_sp.delegation import find_subservice, release

__all__ = ["RetryUntil", "delegation_request_id", "release_delegated_parts"]

log = logging.getLogger(__name__)

_WAITING_EVENT_EVERY_S = 10.0
"""Least time between two "waiting for lower SP" events of one part. Attempts follow the
reconnect backoff (a fraction of a second at first); a terminate that waits ten minutes
should leave tens of lines in the service's history, not hundreds. The log has every one."""


def delegation_request_id(node_id: str, service_id: str, part: DelegatedPart) -> str:
    """The request id of a delegated part's InstantiateService: the same on every try,
    so the lower SP admits the part once, and the sub-service can be found by it."""
    return f"{node_id}/{service_id}/{part}"


async def release_delegated_parts(
    rt: ReleasePorts,
    service_id: str,
    operation_id: str,
    remotes: dict[DelegatedPart, RemotePart],
    retry: RetryUntil | None = None,
) -> None:
    """Terminate the sub-services of delegated parts, drop their part records, and drop
    each released part from ``remotes`` (so what is left there may still exist below).

    A part without a sub-service id is looked up by its request id first. Without
    ``retry`` each part gets one attempt; with it, temporary failures are retried
    until ``retry.deadline``.

    Raises:
        SpfedError: a part could not be released (the first part's error when one
            failed; one listing every part when several did). Every other part
            was released all the same.
    """
    parts = list(remotes.items())

    async def one(part: DelegatedPart, remote: RemotePart) -> None:
        if retry is None:
            await _release_part(rt, service_id, operation_id, part, remote, 1)
        else:
            await _release_with_retries(rt, service_id, operation_id, part, remote, retry)
        await rt.services.remove_part(service_id, str(part))
        await rt.intents.close(delegation_request_id(rt.node_id, service_id, part))
        remotes.pop(part, None)

    # Not gather_all: one part's failure must not cancel the release of the others.
    outcomes = await asyncio.gather(*(one(p, r) for p, r in parts), return_exceptions=True)
    failed: list[tuple[RemotePart, SpfedError]] = []
    for (_, remote), outcome in zip(parts, outcomes, strict=True):
        if isinstance(outcome, SpfedError):
            failed.append((remote, outcome))
        elif isinstance(outcome, BaseException):
            raise outcome
    if len(failed) == 1:
        raise failed[0][1]
    if failed:
        first = failed[0][1]
        raise error_for_code(first.code)(
            f"{len(failed)} sub-services were not released: "
            + "; ".join(f"at lower SP {r.lower}: {e.describe()}" for r, e in failed)
        ) from first


async def _release_part(
    rt: ReleasePorts,
    service_id: str,
    operation_id: str,
    part: DelegatedPart,
    remote: RemotePart,
    attempt: int,
) -> None:
    """One attempt at releasing a part's sub-service (finding it first, if need be)."""
    lower = rt.lowers[remote.lower]
    if not remote.service_id:
        found = await find_subservice(lower, delegation_request_id(rt.node_id, service_id, part))
        if found is None:
            return  # the lower SP admitted nothing for this part
        remote.service_id = found.id
        log.warning(
            "event=subservice_found service=%s part=%s lower_sp=%s subservice=%s state=%s",
            service_id,
            part,
            remote.lower,
            found.id,
            found.state.value,
        )
        if found.state is ServiceState.TERMINATED:
            return
    # A new request id per attempt: the lower SP joins a termination already running
    # (or reports one already done) whatever the id, and starts a fresh one only when
    # an earlier one failed there, which is what a further attempt is for.
    request_id = f"{rt.node_id}/{operation_id}/{part}" + (f"/{attempt}" if attempt > 1 else "")
    relay = EventRelay(rt, service_id, operation_id, part, remote)
    try:
        await release(
            lower,
            remote.service_id,
            request_id,
            relay,
            rt.config.federation.delegation_timeout_s,
            after=remote.last_sequence,
        )
    finally:
        await relay.flush()


async def _release_with_retries(
    rt: ReleasePorts,
    service_id: str,
    operation_id: str,
    part: DelegatedPart,
    remote: RemotePart,
    retry: RetryUntil,
) -> None:
    """Attempts at releasing a part until one succeeds, one fails permanently, or a
    temporary failure comes after ``retry.deadline``.

    Raises:
        SpfedError: a permanent failure as itself; a temporary one past the deadline as
            the same code, its message naming the lower SP.
    """
    delay = retry.initial_s
    last_event: float | None = None
    attempt = 0
    while True:
        attempt += 1
        try:
            await _release_part(rt, service_id, operation_id, part, remote, attempt)
            return
        except SpfedError as exc:
            if not exc.temporary:
                raise
            left = retry.left_s()
            if left <= 0:
                raise error_for_code(exc.code)(
                    f"gave up waiting for lower SP {remote.lower} after {attempt} attempts: the"
                    f" sub-service of part {part} may still hold resources there ({exc.message})",
                    origin=exc.origin,
                ) from exc
            log.warning(
                "event=terminate_waiting service=%s part=%s lower_sp=%s attempt=%d left_s=%.0f"
                " error=%r",
                service_id,
                part,
                remote.lower,
                attempt,
                left,
                exc.describe(),
            )
            now = time.monotonic()
            if last_event is None or now - last_event >= _WAITING_EVENT_EVERY_S:
                last_event = now
                await _waiting_event(rt, service_id, operation_id, part, remote, attempt, exc)
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, retry.max_s)


async def _waiting_event(
    rt: EventPorts,
    service_id: str,
    operation_id: str,
    part: DelegatedPart,
    remote: RemotePart,
    attempt: int,
    error: SpfedError,
) -> None:
    event = new_event(
        rt.origin,
        ServiceEventKind.PART_CHANGED,
        operation_id=operation_id,
        part_id=str(part),
        message=f"waiting for lower SP {remote.lower} (attempt {attempt}): {error.describe()}",
    )
    await rt.events.append(service_id, [event])
