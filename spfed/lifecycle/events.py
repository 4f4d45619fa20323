"""Lifecycle events: stored in the service's log, then pushed to live watchers.

Every event is committed before any watcher sees it, so a watcher that
(re)connects with the last sequence it saw misses nothing. Events can reach
the in-memory hub out of order (two writers commit 5 and 6, the second one
publishes first); a watcher that sees a gap reads it from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from spfed.model import ErrorStatus, ServiceEvent, ServiceEventKind, ServiceState
from spfed.storage import ServiceStore

__all__ = ["EventLog", "new_event"]

_QUEUE_LIMIT = 1000
log = logging.getLogger(__name__)


def new_event(
    origin: tuple[str, ...],
    kind: ServiceEventKind,
    *,
    operation_id: str = "",
    task: str = "",
    part_id: str = "",
    state: ServiceState | None = None,
    message: str = "",
    error: ErrorStatus | None = None,
    time: datetime | None = None,
) -> ServiceEvent:
    """An event not yet stored (sequence 0, service filled in on append)."""
    return ServiceEvent(
        sequence=0,
        service_id="",
        operation_id=operation_id,
        time=time or datetime.now(UTC),
        origin=origin,
        kind=kind,
        task=task,
        part_id=part_id,
        state=state,
        message=message,
        error=error,
    )


def _own_state(event: ServiceEvent, node: str | None) -> bool:
    return event.kind is ServiceEventKind.STATE_CHANGED and event.origin == (node,)


def _settles(event: ServiceEvent, node: str | None) -> bool:
    return (
        node is not None
        and _own_state(event, node)
        and event.state is not None
        and event.state.settled
    )


class _Subscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[ServiceEvent | None] = asyncio.Queue(_QUEUE_LIMIT)
        self.lagged = False

    def _drain(self) -> None:
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                self.queue.get_nowait()

    def close(self) -> None:
        self._drain()
        self.queue.put_nowait(None)

    def offer(self, event: ServiceEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A slow watcher: drop the backlog (it re-reads it from the log)
            # but keep this event queued, so that the watcher wakes up.
            self.lagged = True
            self._drain()
            self.queue.put_nowait(event)


class EventLog:
    """Appends events to services' logs and streams them to watchers."""

    def __init__(self, store: ServiceStore) -> None:
        self._store = store
        self._subs: dict[str, set[_Subscription]] = defaultdict(set)
        self._closed = False

    def close(self) -> None:
        """End every watch (the node is shutting down)."""
        self._closed = True
        for subs in self._subs.values():
            for sub in subs:
                sub.close()

    def publish(self, service_id: str, events: Sequence[ServiceEvent]) -> None:
        """Push committed events (with sequences) to live watchers."""
        for sub in self._subs.get(service_id, ()):
            for event in events:
                sub.offer(event)

    def track(
        self, service_id: str, write: asyncio.Future[list[ServiceEvent]]
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Publish the events a store write returns, as soon as it commits.

        Writes commit in submission order, so events reach watchers in order.
        A failed write is logged here (it may have nobody awaiting it).
        """

        def committed(done: asyncio.Future[list[ServiceEvent]]) -> None:
            if done.cancelled():
                return
            if done.exception() is not None:
                log.error(
                    "event=event_write_failed service=%s error=%r", service_id, done.exception()
                )
                return
            self.publish(service_id, done.result())

        write.add_done_callback(committed)
        return write

    def post(
        self, service_id: str, events: Sequence[ServiceEvent]
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Append events without waiting; they land in order with every later write."""
        return self.track(service_id, self._store.append_events(service_id, events))

    async def append(self, service_id: str, events: Sequence[ServiceEvent]) -> list[ServiceEvent]:
        """Append events and wait until they are committed (and published)."""
        return await self.post(service_id, events)

    async def watch(
        self, service_id: str, after: int, *, settled_at: str | None
    ) -> AsyncIterator[ServiceEvent]:
        """Events after ``after``: the stored backlog, then live ones.

        With ``settled_at`` (a node id), the stream ends once that node's own
        record of the service reaches a settled state (active, terminated,
        failed) and no later state change is already in the log.
        """
        if self._closed:
            return
        sub = _Subscription()
        self._subs[service_id].add(sub)
        try:
            # Subscribed first, read second: nothing committed in between is lost.
            backlog = await self._backlog(service_id, after)
            last_state = max(
                (i for i, e in enumerate(backlog) if _own_state(e, settled_at)), default=-1
            )
            for i, event in enumerate(backlog):
                after = event.sequence
                yield event
                if i == last_state and _settles(event, settled_at):
                    return
            async for event in self._live(service_id, sub, after):
                yield event
                if _settles(event, settled_at):
                    return
        finally:
            subs = self._subs.get(service_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[service_id]

    async def _backlog(self, service_id: str, after: int) -> list[ServiceEvent]:
        backlog: list[ServiceEvent] = []
        while batch := await self._store.events_after(service_id, after):
            backlog += batch
            after = batch[-1].sequence
        return backlog

    async def _live(
        self, service_id: str, sub: _Subscription, after: int
    ) -> AsyncIterator[ServiceEvent]:
        while not self._closed:
            event = await sub.queue.get()
            if event is None:
                return
            if sub.lagged or event.sequence > after + 1:
                # A gap: events were published out of order or dropped; read
                # them all from the log, page by page.
                sub.lagged = False
                for missed in await self._backlog(service_id, after):
                    after = missed.sequence
                    yield missed
            elif event.sequence > after:
                after = event.sequence
                yield event

    def watchers(self, service_id: str) -> int:
        """How many watchers a service has (for tests and metrics)."""
        return len(self._subs.get(service_id, ()))
