"""Delegation: run a sub-service at a lower SP and follow it to the end.

The lower SP is called through the same API as any node; its lifecycle
events stream back (no polling) and are relayed up with the lower SP's id in
their origin path. A failure at the lower SP, however deep, arrives as the
same typed error with its origin.

A sub-service is sent with a deterministic request id, so the lower SP admits
it once however often it is sent, and it can be found again by that id when
the upper SP never recorded the answer (``find_subservice``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from spfed.errors import DeadlineExceeded, Internal, NotFound, SpfedError
from spfed.model import (
    Catalogue,
    InstantiateRequest,
    Operation,
    ServiceEvent,
    ServiceEventKind,
    ServiceRecord,
    ServiceState,
)

__all__ = ["DelegationResult", "LowerSp", "delegate", "find_subservice", "release"]

Relay = Callable[[ServiceEvent], Awaitable[None]]


class LowerSp(Protocol):
    """The small interface of a lower SP (``spfed.client.PlatformClient`` fits it)."""

    id: str

    async def instantiate(self, request: InstantiateRequest) -> Operation:
        """Start a sub-service."""
        ...

    def watch_service(
        self,
        service_id: str,
        *,
        after: int = 0,
        until_settled: bool = False,
        milestones: bool = False,
    ) -> AsyncGenerator[ServiceEvent, None]:
        """Its lifecycle events (milestones only, when asked)."""
        ...

    async def get_service(self, service_id: str) -> ServiceRecord:
        """Its record."""
        ...

    async def terminate(self, service_id: str, request_id: str = "") -> Operation:
        """Start terminating it."""
        ...

    async def list_services(
        self, *, include_inactive: bool = False, page_size: int = 0
    ) -> list[ServiceRecord]:
        """The caller's own services there, newest first (every page)."""
        ...

    async def get_catalogue(self) -> Catalogue:
        """The lower SP's current catalogue."""
        ...

    def watch_catalogue(self, after_version: int = 0) -> AsyncGenerator[Catalogue, None]:
        """Its catalogue versions."""
        ...

    async def close(self) -> None:
        """Release the connection."""
        ...


@dataclass(frozen=True)
class DelegationResult:
    """A settled sub-service."""

    service_id: str
    """Id at the lower SP."""
    record: ServiceRecord
    """The lower SP's view of it."""
    last_sequence: int
    """Last event sequence relayed from it."""


async def _follow(
    lower: LowerSp, service_id: str, relay: Relay, targets: tuple[ServiceState, ...], after: int
) -> tuple[ServiceState | None, int]:
    """Relay events after ``after`` until the lower SP's own record reaches a target.

    Returns the last state seen and the last relayed sequence.
    """
    last: ServiceState | None = None
    # Closed on every way out (a target reached, an error), not when the
    # generator happens to be collected: it holds a live stream to the lower SP.
    stream = lower.watch_service(service_id, after=after, until_settled=True, milestones=True)
    async with contextlib.aclosing(stream):
        async for event in stream:
            await relay(event)
            after = event.sequence
            own = event.origin == (lower.id,)
            if own and event.kind is ServiceEventKind.STATE_CHANGED and event.state is not None:
                last = event.state
                if last in targets:
                    break
    return last, after


async def _follow_termination(lower: LowerSp, service_id: str, relay: Relay, after: int) -> None:
    """Relay events after ``after`` until the lower SP's record ends its termination.

    A settled state counts only once the termination began there (TERMINATING),
    except TERMINATED itself: a sub-service found by its request id is followed
    from its first event, and its instantiation's own settle (ACTIVE, perhaps
    reached just after the terminate was sent) comes first in the replay.
    """
    began = False
    stream = lower.watch_service(service_id, after=after, milestones=True)
    async with contextlib.aclosing(stream):
        async for event in stream:
            await relay(event)
            if event.origin != (lower.id,) or event.kind is not ServiceEventKind.STATE_CHANGED:
                continue
            if event.state is ServiceState.TERMINATING:
                began = True
            elif event.state is ServiceState.TERMINATED or (
                began and event.state in (ServiceState.ACTIVE, ServiceState.FAILED)
            ):
                return


async def delegate(
    lower: LowerSp,
    request: InstantiateRequest,
    relay: Relay,
    on_created: Callable[[str], Awaitable[None]],
    timeout_s: float,
) -> DelegationResult:
    """Instantiate a sub-service at ``lower`` and wait until it settles.

    ``on_created`` gets the remote service id as soon as the lower SP admits
    the request, so the caller can persist it before anything else happens.

    Raises:
        SpfedError: the lower SP refused or failed the sub-service (its typed
            error, origin included), or it did not settle within ``timeout_s``.
    """

    async def admit() -> Operation:
        op = await lower.instantiate(request)
        await on_created(op.service_id)
        return op

    # Once the lower SP admitted the sub-service, its id must be on record
    # before anything else happens, cancellation included: compensation can
    # only release what it knows about.
    admission = asyncio.ensure_future(admit())
    try:
        op = await asyncio.shield(admission)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await admission
        raise
    try:
        async with asyncio.timeout(timeout_s):
            state, seen = await _follow(
                lower, op.service_id, relay, (ServiceState.ACTIVE, ServiceState.FAILED), 0
            )
    except TimeoutError as exc:
        raise DeadlineExceeded(
            f"sub-service {op.service_id} at {lower.id} did not settle within {timeout_s:.0f}s"
        ) from exc
    record = await lower.get_service(op.service_id)
    if record.state is ServiceState.ACTIVE:
        return DelegationResult(op.service_id, record, seen)
    if record.error is not None:
        raise record.error.to_error()
    ended = state.value if state is not None else record.state.value
    raise Internal(f"sub-service {op.service_id} at {lower.id} ended {ended} without an error")


async def release(
    lower: LowerSp,
    service_id: str,
    request_id: str,
    relay: Relay,
    timeout_s: float,
    after: int = 0,
) -> None:
    """Terminate a sub-service and wait until the lower SP has released it.

    Idempotent: a sub-service that is already gone counts as released.

    Raises:
        SpfedError: the lower SP could not terminate it.
    """
    try:
        await lower.terminate(service_id, request_id)
    except NotFound:
        return
    try:
        async with asyncio.timeout(timeout_s):
            await _follow_termination(lower, service_id, relay, after)
    except TimeoutError as exc:
        raise DeadlineExceeded(
            f"sub-service {service_id} at {lower.id} was not released within {timeout_s:.0f}s"
        ) from exc
    try:
        record = await lower.get_service(service_id)
    except NotFound:
        return  # gone is released
    if record.state is not ServiceState.TERMINATED:
        raise (
            record.error.to_error()
            if record.error
            else SpfedError(
                f"sub-service {service_id} at {lower.id} ended {record.state.value}, not terminated"
            )
        )


async def find_subservice(lower: LowerSp, request_id: str) -> ServiceRecord | None:
    """The sub-service ``lower`` admitted under ``request_id``, terminated ones included;
    None when it admitted nothing under it.

    For a part whose InstantiateService answer never reached the upper SP's
    records (a lost answer, or a crash between sending and recording). The API
    has no lookup by request id, and a node shows a caller only the caller's own
    services, so this reads the upper SP's services at ``lower`` (every page)
    and picks the one with that request id: linear in what this upper SP holds
    there, and only on this rare path. Sending the same InstantiateService
    again would also return the sub-service, but would create it when the lower
    SP had never admitted it.

    Raises:
        SpfedError: the lower SP could not be asked (``Unavailable`` when unreachable).
    """
    for record in await lower.list_services(include_inactive=True):
        if record.request_id == request_id:
            return record
    return None
