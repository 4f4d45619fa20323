"""``delegate`` and ``release`` against a scripted lower SP."""

from __future__ import annotations

import pytest

from spfed.errors import (
    Aborted,
    DeadlineExceeded,
    Internal,
    InvalidArgument,
    NotFound,
    QuotaViolation,
    ResourceExhausted,
    SpfedError,
    Unavailable,
)
from spfed.model import ErrorStatus, InstantiateRequest, ServiceEvent, ServiceState
from tests.unit.upper_sp.fakes import (
    REMOTE_ID,
    FakeLowerSp,
    part_event,
    record,
    state_event,
    task_event,
)
from upper_sp.delegation import delegate, release

LOWER = ("lower",)
DEEPER = ("lower", "edge")
REQUEST = InstantiateRequest(request_id="upper/svc/sp:lower")


class Recorder:
    """The relay and ``on_created`` callbacks; notes the order in which they were called."""

    def __init__(self, fail_at: int = 0) -> None:
        self.relayed: list[ServiceEvent] = []
        self.created: list[tuple[str, int]] = []
        self._fail_at = fail_at

    async def relay(self, event: ServiceEvent) -> None:
        if event.sequence == self._fail_at:
            raise Aborted("the upper's event log is gone")
        self.relayed.append(event)

    async def on_created(self, remote_id: str) -> None:
        self.created.append((remote_id, len(self.relayed)))

    def sequences(self) -> list[int]:
        return [e.sequence for e in self.relayed]


ACTIVE_SCRIPT = [
    part_event(1, "pop:ams", LOWER),
    state_event(2, ServiceState.INSTANTIATING, LOWER),
    state_event(3, ServiceState.ACTIVE, DEEPER),  # a sub-sub-service settling: not the end
    part_event(4, "sp:edge", LOWER),
    state_event(5, ServiceState.ACTIVE, LOWER),
    part_event(6, "after-the-end", LOWER),
]


async def test_delegate_relays_events_in_order_until_the_lower_sps_own_record_settles() -> None:
    lower = FakeLowerSp("lower", ACTIVE_SCRIPT, [record(ServiceState.ACTIVE)])
    rec = Recorder()
    result = await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    assert result.service_id == REMOTE_ID
    assert result.record.state is ServiceState.ACTIVE
    assert result.last_sequence == 5
    assert rec.sequences() == [1, 2, 3, 4, 5]
    assert [e.origin for e in rec.relayed] == [LOWER, LOWER, DEEPER, LOWER, LOWER]
    # the remote id is handed over before a single event is relayed
    assert rec.created == [(REMOTE_ID, 0)]
    assert lower.calls == [
        ("instantiate", REQUEST.request_id),
        ("watch", REMOTE_ID, 0, True, True),
        ("get", REMOTE_ID),
    ]


async def test_task_progress_of_the_lower_sp_is_not_relayed() -> None:
    script = [task_event(1, "validate", LOWER), *ACTIVE_SCRIPT[1:5]]
    lower = FakeLowerSp("lower", script, [record(ServiceState.ACTIVE)])
    rec = Recorder()
    await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    assert rec.sequences() == [2, 3, 4, 5]


async def test_a_stream_that_ends_early_is_settled_by_the_record() -> None:
    lower = FakeLowerSp("lower", ACTIVE_SCRIPT[:2], [record(ServiceState.ACTIVE)])
    rec = Recorder()
    result = await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    assert (result.last_sequence, rec.sequences()) == (2, [1, 2])


async def test_a_remote_failure_surfaces_the_remote_typed_error() -> None:
    error = ErrorStatus(
        "RESOURCE_EXHAUSTED",
        "PoP ams is full",
        quota_violations=(QuotaViolation("pop:ams", "4 vCPU asked, 1 free"),),
        origin=DEEPER,
    )
    script = [
        state_event(1, ServiceState.INSTANTIATING, LOWER),
        state_event(2, ServiceState.FAILED, LOWER, error),
    ]
    lower = FakeLowerSp("lower", script, [record(ServiceState.FAILED, error)])
    rec = Recorder()
    with pytest.raises(ResourceExhausted) as info:
        await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    assert info.value.message == "PoP ams is full"
    assert info.value.origin == DEEPER
    assert info.value.quota_violations == error.quota_violations
    assert rec.sequences() == [1, 2]
    assert rec.created == [(REMOTE_ID, 0)]


async def test_a_refused_request_raises_the_lower_sps_error_and_creates_nothing() -> None:
    refused = InvalidArgument("bad", origin=LOWER)
    lower = FakeLowerSp("lower", instantiate_error=refused)
    rec = Recorder()
    with pytest.raises(InvalidArgument) as info:
        await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    assert info.value is refused
    assert rec.created == []
    assert [c[0] for c in lower.calls] == ["instantiate"]


async def test_a_sub_service_that_never_settles_is_deadline_exceeded_and_the_stream_closed() -> (
    None
):
    lower = FakeLowerSp(
        "lower",
        [state_event(1, ServiceState.INSTANTIATING, LOWER)],
        [record(ServiceState.ACTIVE)],
        hang=True,
    )
    rec = Recorder()
    with pytest.raises(DeadlineExceeded) as info:
        await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=0.05)
    assert f"sub-service {REMOTE_ID} at lower did not settle" in info.value.message
    assert info.value.temporary
    assert rec.sequences() == [1]
    assert rec.created == [(REMOTE_ID, 0)]  # the caller knows what to release
    assert lower.open_streams == 0


async def test_a_failure_without_an_error_is_internal() -> None:
    script = [state_event(1, ServiceState.FAILED, LOWER)]
    lower = FakeLowerSp("lower", script, [record(ServiceState.FAILED)])
    rec = Recorder()
    with pytest.raises(Internal, match="ended failed without an error"):
        await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)


async def test_only_the_lower_sps_own_state_counts_not_a_deeper_one_with_the_same_id() -> None:
    script = [
        state_event(1, ServiceState.FAILED, DEEPER),  # a deeper node failed; lower compensates
        state_event(2, ServiceState.ACTIVE, LOWER),
    ]
    lower = FakeLowerSp("lower", script, [record(ServiceState.ACTIVE)])
    rec = Recorder()
    result = await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    assert result.last_sequence == 2


async def test_a_relay_failure_propagates() -> None:
    lower = FakeLowerSp("lower", ACTIVE_SCRIPT, [record(ServiceState.ACTIVE)])
    rec = Recorder(fail_at=3)
    with pytest.raises(Aborted):
        await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    assert rec.sequences() == [1, 2]


_STREAM_LEAK = (
    "upper_sp/delegation.py:94 _follow leaves the lower SP's watch stream (an async generator) "
    "open when it stops early (break at the settled state, or an exception from relay): it is "
    "closed only when the generator is garbage-collected, by a task the loop spawns later. For "
    "PlatformClient that is an open gRPC stream (call.cancel() runs in its finally). "
    "Fix: async with contextlib.aclosing(lower.watch_service(...)) as events"
)


async def test_the_watch_stream_is_closed_when_delegate_returns() -> None:
    lower = FakeLowerSp("lower", ACTIVE_SCRIPT, [record(ServiceState.ACTIVE)])
    rec = Recorder()
    await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    assert lower.open_streams == 0


async def test_the_watch_stream_is_closed_when_delegate_raises() -> None:
    lower = FakeLowerSp("lower", ACTIVE_SCRIPT, [record(ServiceState.ACTIVE)])
    rec = Recorder(fail_at=3)
    with pytest.raises(Aborted):
        await delegate(lower, REQUEST, rec.relay, rec.on_created, timeout_s=5)
    # the exception (held by pytest.raises) keeps the frame, and so the stream, alive
    assert lower.open_streams == 0


# --- release -----------------------------------------------------------------------

TERMINATE_SCRIPT = [
    *ACTIVE_SCRIPT[:5],
    state_event(6, ServiceState.TERMINATING, LOWER),
    state_event(7, ServiceState.TERMINATED, DEEPER),
    state_event(8, ServiceState.TERMINATED, LOWER),
]


async def test_release_terminates_and_relays_only_what_was_not_relayed_yet() -> None:
    lower = FakeLowerSp("lower", TERMINATE_SCRIPT, [record(ServiceState.TERMINATED)])
    rec = Recorder()
    await release(lower, REMOTE_ID, "upper/op/sp:lower", rec.relay, timeout_s=5, after=5)
    assert rec.sequences() == [6, 7, 8]
    assert lower.calls == [
        ("terminate", REMOTE_ID, "upper/op/sp:lower"),
        ("watch", REMOTE_ID, 5, False, True),
        ("get", REMOTE_ID),
    ]


async def test_release_from_the_first_event_skips_the_instantiation_settle() -> None:
    """A sub-service found by request id is followed from its first event: the ACTIVE of
    its instantiation comes first and is not the end of the termination."""
    lower = FakeLowerSp("lower", TERMINATE_SCRIPT, [record(ServiceState.TERMINATED)])
    rec = Recorder()
    await release(lower, REMOTE_ID, "upper/op/sp:lower", rec.relay, timeout_s=5, after=0)
    assert rec.sequences()[-3:] == [6, 7, 8]
    assert lower.calls[-1] == ("get", REMOTE_ID)


async def test_release_of_a_sub_service_that_is_gone_is_success() -> None:
    lower = FakeLowerSp("lower", terminate_error=NotFound("no such service"))
    rec = Recorder()
    await release(lower, REMOTE_ID, "r", rec.relay, timeout_s=5)
    assert [c[0] for c in lower.calls] == ["terminate"]
    assert rec.relayed == []


async def test_release_propagates_other_terminate_errors() -> None:
    lower = FakeLowerSp("lower", terminate_error=Unavailable("lower SP down"))
    with pytest.raises(Unavailable):
        await release(lower, REMOTE_ID, "r", Recorder().relay, timeout_s=5)


async def test_release_that_ends_failed_raises_the_remote_error() -> None:
    error = ErrorStatus("UNAVAILABLE", "VIM unreachable", origin=DEEPER)
    script = [state_event(1, ServiceState.FAILED, LOWER, error)]
    lower = FakeLowerSp("lower", script, [record(ServiceState.FAILED, error)])
    with pytest.raises(Unavailable) as info:
        await release(lower, REMOTE_ID, "r", Recorder().relay, timeout_s=5)
    assert info.value.origin == DEEPER


async def test_release_that_ends_in_another_state_without_error_is_an_error() -> None:
    lower = FakeLowerSp("lower", [], [record(ServiceState.ACTIVE)])
    with pytest.raises(SpfedError, match="ended active, not terminated"):
        await release(lower, REMOTE_ID, "r", Recorder().relay, timeout_s=5)


async def test_release_that_never_finishes_is_deadline_exceeded() -> None:
    lower = FakeLowerSp(
        "lower",
        [state_event(1, ServiceState.TERMINATING, LOWER)],
        [record(ServiceState.TERMINATING)],
        hang=True,
    )
    with pytest.raises(DeadlineExceeded, match="was not released"):
        await release(lower, REMOTE_ID, "r", Recorder().relay, timeout_s=0.05)
    assert lower.open_streams == 0
