"""What the service stores share: event sequences and the reading of an operation.

``ServiceStore`` (records, operations, events) and ``ServiceRunStore`` (the
workflow progress of those operations) write a service's event log in the same
transactions as their own rows, through one ``EventSequences``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, event, func, insert, select

from spfed.errors import NotFound
from spfed.model import (
    Operation,
    OperationKind,
    OperationState,
    ServiceEvent,
    TaskProgress,
    TaskState,
)
from spfed.storage import _codecs as codec
from spfed.storage.schema import operations, service_events, services, workflow_tasks

__all__ = ["EventSequences", "aware", "read_operation"]

_LAST_EVENT = select(
    services.c.id,
    select(func.coalesce(func.max(service_events.c.sequence), 0))
    .where(service_events.c.service_id == services.c.id)
    .scalar_subquery(),
).where(services.c.id == bindparam("sid"))
_INSERT_EVENTS = insert(service_events)

_OPERATION = select(operations).where(operations.c.id == bindparam("oid"))
_TASKS = (
    select(workflow_tasks)
    .where(workflow_tasks.c.run_id == bindparam("oid"))
    .order_by(workflow_tasks.c.position)
)


def aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class EventSequences:
    """The last event sequence of each service, kept beside the log.

    Only this node writes its database, so the next sequence is known
    without a read-modify-write per append. A rolled-back transaction may
    have taken sequences it never wrote: every rollback forgets them all,
    and a service's sequence is read again from its log when next needed.
    """

    _LIMIT = 10_000

    def __init__(self, engine: Engine) -> None:
        self._last: dict[str, int] = {}
        event.listen(engine, "rollback", self._forget)

    def _forget(self, _conn: Connection) -> None:
        self._last.clear()

    def start(self, service_id: str) -> None:
        """A service was just created (its log is empty)."""
        self._last[service_id] = 0

    def append(
        self, conn: Connection, service_id: str, events: Sequence[ServiceEvent]
    ) -> list[ServiceEvent]:
        """Insert events at the end of a service's log; returns them with their sequences.

        Raises:
            NotFound: no such service.
        """
        if not events:
            return []
        last = self._last.get(service_id)
        if last is None:
            row = conn.execute(_LAST_EVENT, {"sid": service_id}).first()
            if row is None:
                raise NotFound(f"service {service_id} not found")
            last = int(row[1])
            if len(self._last) >= self._LIMIT:
                self._last.clear()
        stored = [
            replace(e, sequence=last + 1 + i, service_id=service_id) for i, e in enumerate(events)
        ]
        conn.execute(
            _INSERT_EVENTS,
            [
                {
                    "service_id": service_id,
                    "sequence": e.sequence,
                    "event": codec.dump(codec.EVENT, e),
                }
                for e in stored
            ],
        )
        self._last[service_id] = stored[-1].sequence
        return stored


def read_operation(conn: Connection, operation_id: str) -> Operation | None:
    row = conn.execute(_OPERATION, {"oid": operation_id}).first()
    if row is None:
        return None
    tasks = conn.execute(_TASKS, {"oid": operation_id}).all()
    return Operation(
        id=row.id,
        kind=OperationKind(row.kind),
        service_id=row.service_id,
        state=OperationState(row.state),
        create_time=aware(row.created_at),
        update_time=aware(row.updated_at),
        error=codec.load_optional(codec.ERROR, row.error),
        tasks=tuple(
            TaskProgress(
                task=t.task_id,
                state=TaskState(t.state),
                attempts=t.attempts,
                error=codec.load_optional(codec.ERROR, t.error),
            )
            for t in tasks
        ),
    )
