"""``EventLog`` over a real ``ServiceStore`` on SQLite: backlog, live, gaps, lag, settling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from spfed.lifecycle.events import _QUEUE_LIMIT as QUEUE_LIMIT
from spfed.lifecycle.events import EventLog, new_event
from spfed.model import ServiceEvent, ServiceEventKind, ServiceState
from spfed.storage import Database, ServiceStore
from tests.unit.storage.records import new_service

NODE = "retail"


def own(state: ServiceState) -> ServiceEvent:
    return new_event((NODE,), ServiceEventKind.STATE_CHANGED, state=state)


def deeper(state: ServiceState) -> ServiceEvent:
    return new_event((NODE, "wholesale"), ServiceEventKind.STATE_CHANGED, state=state)


def part(message: str = "") -> ServiceEvent:
    return new_event((NODE,), ServiceEventKind.PART_CHANGED, part_id="pop:ams", message=message)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ServiceStore]:
    db = Database.connect(f"sqlite:///{tmp_path / 'events.db'}")
    await db.migrate()
    store = ServiceStore(db)
    new = new_service("s1")
    await store.create_service(new.record, new.request, "h", new.operation, [])
    yield store
    await db.close()


@pytest.fixture
def log(store: ServiceStore) -> EventLog:
    return EventLog(store)


class Watcher:
    """Drives one watch stream from the test without ever cancelling it half-way.

    Cancelling a pending ``anext`` would throw into the async generator and end the
    watch, so a read that times out is kept and resumed by the next call.
    """

    def __init__(self, stream: AsyncIterator[ServiceEvent]) -> None:
        self.stream = stream
        self._pending: asyncio.Future[ServiceEvent] | None = None

    async def _next(self, timeout_s: float) -> asyncio.Future[ServiceEvent] | None:
        future = self._pending or asyncio.ensure_future(anext(self.stream))
        self._pending = None
        done, _ = await asyncio.wait({future}, timeout=timeout_s)
        if not done:
            self._pending = future
            return None
        return future

    async def take(self, n: int, within_s: float = 2.0) -> list[int]:
        """The sequences of the next ``n`` events (fails after ``within_s`` without one)."""
        out: list[int] = []
        for _ in range(n):
            future = await self._next(within_s)
            assert future is not None, f"stalled after {len(out)} events, last {out[-1:]}"
            out.append(future.result().sequence)
        return out

    async def available(self) -> list[int]:
        """The sequences of every event that comes before the stream stalls for 50 ms."""
        out = []
        while (future := await self._next(0.05)) is not None:
            out.append(future.result().sequence)
        return out

    async def ended(self) -> bool:
        """Whether the stream ends now, rather than waiting for more."""
        future = await self._next(0.05)
        if future is None:
            return False
        if isinstance(future.exception(), StopAsyncIteration):
            return True
        raise AssertionError(f"the stream yielded another event: {future.result()}")

    async def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)
        await self.stream.aclose()  # type: ignore[attr-defined]


def watch(log: EventLog, after: int = 0, settled_at: str | None = None) -> Watcher:
    return Watcher(log.watch("s1", after, settled_at=settled_at))


async def test_append_stores_then_returns_events_with_sequences(log: EventLog) -> None:
    stored = await log.append("s1", [part("a"), part("b")])
    assert [(e.sequence, e.service_id, e.message) for e in stored] == [
        (1, "s1", "a"),
        (2, "s1", "b"),
    ]


async def test_backlog_then_live(log: EventLog) -> None:
    await log.append("s1", [part(), part(), part()])
    w = watch(log)
    assert await w.take(3) == [1, 2, 3]
    assert log.watchers("s1") == 1
    assert not await w.ended()
    await log.append("s1", [part()])
    await log.append("s1", [part()])
    assert await w.take(2) == [4, 5]
    await w.close()
    assert log.watchers("s1") == 0


async def test_a_watch_after_a_sequence_starts_after_it(log: EventLog) -> None:
    await log.append("s1", [part() for _ in range(4)])
    w = watch(log, after=2)
    assert await w.take(2) == [3, 4]
    assert not await w.ended()
    await w.close()


async def test_events_committed_between_subscribing_and_reading_are_not_lost(
    log: EventLog,
) -> None:
    await log.append("s1", [part()])
    stream = log.watch("s1", 0, settled_at=None)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # subscribed; its backlog read is queued on the database thread
    posted = log.post("s1", [part()])  # commits after that read: arrives live
    assert (await first).sequence == 1
    await posted
    w = Watcher(stream)
    assert await w.take(1) == [2]
    assert not await w.ended()  # and only once
    await w.close()


async def test_gaps_from_out_of_order_publication_are_read_from_the_log(
    log: EventLog, store: ServiceStore
) -> None:
    await log.append("s1", [part()])
    w = watch(log)
    assert await w.take(1) == [1]
    # two writers commit 2 and 3; the second one publishes first
    second, third = await store.append_events("s1", [part("2"), part("3")])
    log.publish("s1", [third])
    assert await w.take(2) == [2, 3]
    log.publish("s1", [second, third])  # late duplicates: dropped
    assert not await w.ended()
    await log.append("s1", [part()])
    assert await w.take(1) == [4]
    await w.close()


async def test_a_lagged_watcher_recovers_gap_free_from_the_log(log: EventLog) -> None:
    await log.append("s1", [part()])
    w = watch(log)
    assert await w.take(1) == [1]
    await log.append("s1", [part() for _ in range(QUEUE_LIMIT + 1)])  # its queue overflows
    seen: list[int] = []
    for _ in range(10):
        [latest] = await log.append("s1", [part()])  # a later event: it reads the log again
        seen += await w.available()
        if seen and seen[-1] == latest.sequence:
            break
    assert seen == list(range(2, latest.sequence + 1)), "caught up, no gap and no repeat"
    await w.close()


async def test_a_lagged_watcher_catches_up_without_waiting_for_more_events(
    log: EventLog,
) -> None:
    await log.append("s1", [part()])
    w = watch(log, settled_at=NODE)
    assert await w.take(1) == [1]
    await log.append("s1", [part() for _ in range(QUEUE_LIMIT + 1)])
    await log.append("s1", [own(ServiceState.ACTIVE)])  # the last event: the service settles
    last = QUEUE_LIMIT + 3
    try:
        assert await w.take(last - 1, within_s=0.3) == list(range(2, last + 1))
        assert await w.ended()
    finally:
        await w.close()


async def test_an_overflow_on_the_last_event_still_reaches_the_watcher(log: EventLog) -> None:
    await log.append("s1", [part()])
    w = watch(log)
    assert await w.take(1) == [1]
    await log.append("s1", [part() for _ in range(QUEUE_LIMIT)])
    await log.append("s1", [part("the one that overflows")])
    try:
        # 500 are re-read from the log at most; the point is that the watcher wakes at all
        assert await w.take(1, within_s=0.3) == [2]
    finally:
        await w.close()


# --- settling ----------------------------------------------------------------------


async def test_settled_at_stops_at_the_last_own_settled_state_of_the_backlog(
    log: EventLog,
) -> None:
    await log.append(
        "s1",
        [own(ServiceState.INSTANTIATING), part(), own(ServiceState.ACTIVE), part("after")],
    )
    w = watch(log, settled_at=NODE)
    assert await w.take(3) == [1, 2, 3]
    assert await w.ended()


async def test_an_earlier_active_followed_by_terminating_does_not_end_the_stream(
    log: EventLog,
) -> None:
    await log.append(
        "s1",
        [
            own(ServiceState.INSTANTIATING),
            own(ServiceState.ACTIVE),
            own(ServiceState.TERMINATING),
            part(),
        ],
    )
    w = watch(log, settled_at=NODE)
    assert await w.take(4) == [1, 2, 3, 4]
    assert not await w.ended()
    await log.append("s1", [deeper(ServiceState.TERMINATED), own(ServiceState.TERMINATED)])
    assert await w.take(2) == [5, 6]
    assert await w.ended()


async def test_a_deeper_nodes_settled_state_does_not_end_the_stream(log: EventLog) -> None:
    await log.append("s1", [own(ServiceState.INSTANTIATING), deeper(ServiceState.ACTIVE)])
    w = watch(log, settled_at=NODE)
    assert await w.take(2) == [1, 2]
    assert not await w.ended()
    await log.append("s1", [deeper(ServiceState.FAILED), own(ServiceState.FAILED)])
    assert await w.take(2) == [3, 4]
    assert await w.ended()


async def test_another_nodes_id_does_not_settle_it(log: EventLog) -> None:
    await log.append("s1", [own(ServiceState.ACTIVE)])
    w = watch(log, settled_at="someone-else")
    assert await w.take(1) == [1]
    assert not await w.ended()
    await w.close()


async def test_without_settled_at_the_stream_never_ends_by_itself(log: EventLog) -> None:
    await log.append("s1", [own(ServiceState.ACTIVE)])
    w = watch(log)
    assert await w.take(1) == [1]
    assert not await w.ended()
    await w.close()


async def test_a_watch_after_the_settling_event_waits_for_the_next_state_change(
    log: EventLog,
) -> None:
    await log.append("s1", [own(ServiceState.INSTANTIATING), own(ServiceState.ACTIVE)])
    w = watch(log, after=2, settled_at=NODE)
    assert not await w.ended()  # nothing new in the backlog: it does not end on its own
    await log.append("s1", [own(ServiceState.TERMINATING), own(ServiceState.TERMINATED)])
    assert await w.take(2) == [3, 4]
    assert await w.ended()


# --- close -------------------------------------------------------------------------


async def test_close_ends_every_watch(log: EventLog) -> None:
    await log.append("s1", [part()])
    watchers = [watch(log) for _ in range(3)]
    for w in watchers:
        assert await w.take(1) == [1]
        assert not await w.ended()
    log.close()
    for w in watchers:
        async with asyncio.timeout(2):
            while not await w.ended():
                pass
    assert log.watchers("s1") == 0
    assert [e async for e in log.watch("s1", 0, settled_at=None)] == []
