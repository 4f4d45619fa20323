"""``release_delegated_parts``: retries until a deadline, independence of the parts, and
the lookup of a sub-service by request id.

Everything is real (ServiceStore on SQLite, EventLog) but the lower SPs, which are
scripted fakes behind ``upper_sp.delegation.LowerSp``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from spfed.errors import DeadlineExceeded, PermissionDenied, SpfedError, Unavailable
from spfed.lifecycle.context import RemotePart
from spfed.lifecycle.release import RetryUntil, delegation_request_id, release_delegated_parts
from spfed.lifecycle.runtime import NodeRuntime
from spfed.model import DelegatedPart, Operation, ServiceEventKind, ServiceState
from tests.unit.upper_sp.fakes import REMOTE_ID, FakeLowerSp, record, state_event

pytestmark = pytest.mark.timeout(20)

NODE = "retail"
SERVICE = "s1"
OP = "op-t"


@dataclass
class Flaky(FakeLowerSp):
    """Refuses its first ``failures`` TerminateService calls with ``error``."""

    failures: int = 0
    error: SpfedError = field(default_factory=lambda: Unavailable("cannot reach lower SP x"))

    async def terminate(self, service_id: str, request_id: str = "") -> Operation:
        if self.failures > 0:
            self.failures -= 1
            self.calls.append(("terminate", service_id, request_id))
            raise self.error
        return await super().terminate(service_id, request_id)


def lower(lower_id: str, **kwargs: object) -> Flaky:
    return Flaky(
        lower_id,
        events=[state_event(1, ServiceState.TERMINATED, (lower_id,))],
        records=[record(ServiceState.TERMINATED)],
        **kwargs,  # type: ignore[arg-type]
    )


def terminates(fake: FakeLowerSp) -> list[str]:
    return [str(c[2]) for c in fake.calls if c[0] == "terminate"]


def retry(seconds: float) -> RetryUntil:
    return RetryUntil(datetime.now(UTC) + timedelta(seconds=seconds), 0.01, 0.05)


async def test_temporary_failures_are_retried_until_the_lower_sp_answers(
    runtime: NodeRuntime,
) -> None:
    x = lower("x", failures=2)
    runtime.lowers = {"x": x}
    remotes = {DelegatedPart("x"): RemotePart("x", REMOTE_ID)}

    await release_delegated_parts(runtime, SERVICE, OP, remotes, retry(5))

    assert remotes == {}
    base = f"{NODE}/{OP}/sp:x"
    # A new request id per attempt: a terminate that failed below is started afresh.
    assert terminates(x) == [base, f"{base}/2", f"{base}/3"]
    events = await runtime.services.events_after(SERVICE, 0)
    waiting = [e for e in events if "waiting for lower SP x" in e.message]
    # Attempts come fast at first; the events about them are rate-bounded.
    assert len(waiting) == 1
    assert waiting[0].kind is ServiceEventKind.PART_CHANGED
    assert waiting[0].part_id == "sp:x"


async def test_past_the_deadline_the_error_names_the_lower_sp_and_others_are_released(
    runtime: NodeRuntime,
) -> None:
    x = lower("x", failures=1000, error=DeadlineExceeded("x is slow"))
    y = lower("y")
    runtime.lowers = {"x": x, "y": y}
    remotes = {
        DelegatedPart("x"): RemotePart("x", REMOTE_ID),
        DelegatedPart("y"): RemotePart("y", REMOTE_ID),
    }

    with pytest.raises(DeadlineExceeded) as raised:
        await release_delegated_parts(runtime, SERVICE, OP, remotes, retry(0.3))

    assert "gave up waiting for lower SP x" in raised.value.message
    assert "x is slow" in raised.value.message
    assert list(remotes) == [DelegatedPart("x")]  # y's sub-service went, x's may still be there
    assert len(terminates(x)) > 1


async def test_a_permanent_refusal_is_not_retried(runtime: NodeRuntime) -> None:
    x = lower("x", failures=5, error=PermissionDenied("no"))
    runtime.lowers = {"x": x}
    remotes = {DelegatedPart("x"): RemotePart("x", REMOTE_ID)}

    with pytest.raises(PermissionDenied):
        await release_delegated_parts(runtime, SERVICE, OP, remotes, retry(5))

    assert len(terminates(x)) == 1
    assert list(remotes) == [DelegatedPart("x")]


async def test_without_a_deadline_each_part_gets_one_attempt_and_failures_are_listed(
    runtime: NodeRuntime,
) -> None:
    x, y = lower("x", failures=1), lower("y", failures=1)
    runtime.lowers = {"x": x, "y": y}
    remotes = {
        DelegatedPart("x"): RemotePart("x", REMOTE_ID),
        DelegatedPart("y"): RemotePart("y", REMOTE_ID),
    }

    with pytest.raises(Unavailable) as raised:
        await release_delegated_parts(runtime, SERVICE, OP, remotes)

    assert "2 sub-services were not released" in raised.value.message
    assert "at lower SP x" in raised.value.message
    assert "at lower SP y" in raised.value.message
    assert (len(terminates(x)), len(terminates(y))) == (1, 1)


async def test_a_part_without_an_id_is_found_by_its_request_id(runtime: NodeRuntime) -> None:
    sent = delegation_request_id(NODE, SERVICE, DelegatedPart("x"))
    assert sent == f"{NODE}/{SERVICE}/sp:x"  # the part's text form: lower SPs find it by this
    x = lower("x")
    x.listed = [
        replace(record(ServiceState.ACTIVE), id="other", request_id="retail/s0/sp:x"),
        replace(record(ServiceState.ACTIVE), request_id=sent),
    ]
    nothing = lower("y")
    runtime.lowers = {"x": x, "y": nothing}
    remotes = {DelegatedPart("x"): RemotePart("x"), DelegatedPart("y"): RemotePart("y")}

    await release_delegated_parts(runtime, SERVICE, OP, remotes, retry(5))

    assert remotes == {}
    assert [c[1] for c in x.calls if c[0] == "terminate"] == [REMOTE_ID]
    # y admitted nothing under the part's request id: nothing to terminate there.
    assert terminates(nothing) == []
    assert ("list", True) in nothing.calls
