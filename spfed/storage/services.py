"""Service records, their operations, parts and event logs.

The workflow progress of the operations is ``ServiceRunStore``'s
(``spfed/storage/service_runs.py``); an operation and its run are created in
one transaction here, and both stores append to a service's event log in the
transactions that change their own rows (``EventSequences``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from spfed.errors import NotFound
from spfed.model import (
    AddressAssignment,
    AddressConstraint,
    ErrorStatus,
    InstantiateRequest,
    Operation,
    OperationKind,
    OperationState,
    ServiceEvent,
    ServicePart,
    ServiceRecord,
    ServiceState,
)
from spfed.storage import _codecs as codec
from spfed.storage._service_rows import EventSequences, aware, read_operation
from spfed.storage._upsert import upsert
from spfed.storage.database import Database, executes
from spfed.storage.schema import (
    operations,
    service_events,
    service_parts,
    services,
)
from spfed.storage.service_runs import ServiceRunStore, insert_run

__all__ = ["NewOperation", "RequestMatch", "ServiceStore"]

_ACTIVE_STATES = (ServiceState.INSTANTIATING, ServiceState.ACTIVE, ServiceState.TERMINATING)

# Hot statements are built once: building a statement per call costs several
# times more CPU than executing it.
_DELETE_PART = delete(service_parts).where(
    service_parts.c.service_id == bindparam("sid"), service_parts.c.part_id == bindparam("pid")
)
_PUT_PART = upsert(service_parts)
_INSERT_SERVICE = insert(services)
_INSERT_OPERATION = insert(operations)
_SERVICE = select(services).where(services.c.id == bindparam("sid"))
_OWNER = select(services.c.owner).where(services.c.id == bindparam("sid"))
_PARTS = (
    select(service_parts.c.record)
    .where(service_parts.c.service_id == bindparam("sid"))
    .order_by(service_parts.c.position)
)
# Columns left NULL in the parameters keep their value.
_UPDATE_SERVICE = (
    update(services)
    .where(services.c.id == bindparam("sid"))
    .values(
        updated_at=bindparam("now"),
        state=func.coalesce(bindparam("state"), services.c.state),
        error=func.coalesce(bindparam("error"), services.c.error),
        address_space=func.coalesce(bindparam("address_space"), services.c.address_space),
        constraints=func.coalesce(bindparam("constraints"), services.c.constraints),
        assignments=func.coalesce(bindparam("assignments"), services.c.assignments),
    )
)
_UPDATE_OPERATION = (
    update(operations)
    .where(operations.c.id == bindparam("oid"))
    .values(
        state=bindparam("state"),
        error=func.coalesce(bindparam("error"), operations.c.error),
        updated_at=bindparam("now"),
    )
)
_EVENTS_AFTER = (
    select(service_events.c.event)
    .where(
        service_events.c.service_id == bindparam("sid"),
        service_events.c.sequence > bindparam("after"),
    )
    .order_by(service_events.c.sequence)
    .limit(bindparam("lim"))
)


@dataclass(frozen=True)
class RequestMatch:
    """An earlier instantiation with the same owner and request id."""

    service_id: str
    """Its service."""
    request_hash: str
    """Hash of the earlier request, to tell a retry from a conflicting reuse."""
    operation_id: str
    """Its instantiate operation."""


@dataclass(frozen=True)
class NewOperation:
    """An operation to create, with the workflow run that carries it out."""

    operation: Operation
    """The operation (its tasks give the schedule order)."""
    request_id: str
    """Idempotency key of the call that started it."""
    workflow: str
    """Workflow name, e.g. ``instantiate``."""
    schedule: tuple[tuple[str, ...], ...]
    """Steps of task ids."""
    context: str
    """Serialised run context."""


def _now() -> datetime:
    return datetime.now(UTC)


def _dump_event(event: ServiceEvent) -> str:
    return codec.dump(codec.EVENT, event)


def _insert_operation(conn: Connection, new: NewOperation) -> None:
    op = new.operation
    conn.execute(
        _INSERT_OPERATION,
        {
            "id": op.id,
            "service_id": op.service_id,
            "kind": op.kind.value,
            "request_id": new.request_id,
            "state": op.state.value,
            "error": codec.dump_optional(codec.ERROR, op.error),
            "created_at": op.create_time,
            "updated_at": op.update_time,
        },
    )
    insert_run(conn, op, new.workflow, new.schedule, new.context)


def _service_from_row(
    row: Row[tuple[object, ...]], parts: tuple[ServicePart, ...]
) -> ServiceRecord:
    return ServiceRecord(
        id=row.id,
        name=row.name,
        descriptor=codec.load(codec.REF, row.descriptor),
        state=ServiceState(row.state),
        operator="",  # filled in by the lifecycle, which knows the node id
        owner=row.owner,
        request_id=row.request_id,
        create_time=aware(row.created_at),
        update_time=aware(row.updated_at),
        parts=parts,
        address_space=row.address_space,
        error=codec.load_optional(codec.ERROR, row.error),
        constraints=codec.load(codec.CONSTRAINTS, row.constraints),
        assignments=codec.load(codec.ASSIGNMENTS, row.assignments),
    )


class ServiceStore:
    """Persistence of the service lifecycle. Every method is one transaction.

    Writes are plain methods that queue their transaction at once and return
    a future of its result: writes land in call order, so a caller may
    submit one without awaiting it and still rely on later ones landing after.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sequences = EventSequences(db.engine)
        self.progress = ServiceRunStore(db, self._sequences)
        """The workflow progress of these services' operations (same event logs)."""

    async def find_request(self, owner: str, request_id: str) -> RequestMatch | None:
        """The earlier instantiation with this idempotency key, if any."""

        def run(conn: Connection) -> RequestMatch | None:
            row = conn.execute(
                select(services.c.id, services.c.request_hash, operations.c.id.label("op"))
                .join(operations, operations.c.service_id == services.c.id)
                .where(
                    services.c.owner == owner,
                    services.c.request_id == request_id,
                    operations.c.kind == OperationKind.INSTANTIATE.value,
                )
            ).first()
            return None if row is None else RequestMatch(row.id, row.request_hash, row.op)

        return await self._db.run(run)

    def create_service(
        self,
        service: ServiceRecord,
        request: InstantiateRequest,
        request_hash: str,
        new: NewOperation,
        events: Sequence[ServiceEvent],
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Create a service with its instantiate operation and first events.

        Raises:
            AlreadyExists: the owner already used this request id (a racing retry).
        """

        row = {
            "id": service.id,
            "owner": service.owner,
            "request_id": service.request_id,
            "request_hash": request_hash,
            "name": service.name,
            "state": service.state.value,
            "descriptor": codec.dump(codec.REF, service.descriptor),
            "request": codec.dump(codec.REQUEST, request),
            "address_space": service.address_space,
            "constraints": codec.dump(codec.CONSTRAINTS, service.constraints),
            "assignments": codec.dump(codec.ASSIGNMENTS, service.assignments),
            "error": None,
            "created_at": service.create_time,
            "updated_at": service.update_time,
        }

        def run(conn: Connection) -> list[ServiceEvent]:
            conn.execute(_INSERT_SERVICE, row)
            _insert_operation(conn, new)
            self._sequences.start(service.id)
            return self._sequences.append(conn, service.id, events)

        return self._db.submit(run)

    async def request_of(self, service_id: str) -> InstantiateRequest:
        """The request a service was instantiated from.

        Raises:
            NotFound: no such service.
        """

        def run(conn: Connection) -> InstantiateRequest:
            text = conn.execute(
                select(services.c.request).where(services.c.id == service_id)
            ).scalar_one_or_none()
            if text is None:
                raise NotFound(f"service {service_id} not found")
            return codec.load(codec.REQUEST, text)

        return await self._db.run(run)

    def start_operation(
        self, new: NewOperation, state: ServiceState, events: Sequence[ServiceEvent]
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Add an operation (e.g. terminate) to an existing service and set its state."""

        def run(conn: Connection) -> list[ServiceEvent]:
            _insert_operation(conn, new)
            conn.execute(
                update(services)
                .where(services.c.id == new.operation.service_id)
                .values(state=state.value, updated_at=_now())
            )
            return self._sequences.append(conn, new.operation.service_id, events)

        return self._db.submit(run)

    async def find_operation(
        self, service_id: str, kind: OperationKind, request_id: str | None = None
    ) -> str | None:
        """The latest operation of this kind on a service (with that request id, if given)."""

        def run(conn: Connection) -> str | None:
            query = select(operations.c.id).where(
                operations.c.service_id == service_id, operations.c.kind == kind.value
            )
            if request_id is not None:
                query = query.where(operations.c.request_id == request_id)
            return conn.execute(query.order_by(operations.c.created_at.desc()).limit(1)).scalar()

        return await self._db.run(run)

    def put_part(
        self, service_id: str, position: int, part: ServicePart, events: Sequence[ServiceEvent] = ()
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Create or replace one part of a service's tree."""

        record = codec.dump(codec.PART, part)

        row = {"service_id": service_id, "part_id": part.id, "position": position, "record": record}

        def run(conn: Connection) -> list[ServiceEvent]:
            _PUT_PART(conn, row)
            return self._sequences.append(conn, service_id, events)

        return self._db.submit(run)

    def remove_part(
        self, service_id: str, part_id: str, events: Sequence[ServiceEvent] = ()
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Drop one part from a service's tree (once everything in it is released)."""

        def run(conn: Connection) -> list[ServiceEvent]:
            conn.execute(_DELETE_PART, {"sid": service_id, "pid": part_id})
            return self._sequences.append(conn, service_id, events)

        return self._db.submit(run)

    def update_service(
        self,
        service_id: str,
        *,
        state: ServiceState | None = None,
        error: ErrorStatus | None = None,
        address_space: str | None = None,
        constraints: tuple[AddressConstraint, ...] | None = None,
        assignments: tuple[AddressAssignment, ...] | None = None,
        events: Sequence[ServiceEvent] = (),
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Change a service's state, error or addressing, with events."""

        params = {
            "sid": service_id,
            "now": _now(),
            "state": state.value if state is not None else None,
            "error": codec.dump_optional(codec.ERROR, error),
            "address_space": address_space,
            "constraints": (
                codec.dump(codec.CONSTRAINTS, constraints) if constraints is not None else None
            ),
            "assignments": (
                codec.dump(codec.ASSIGNMENTS, assignments) if assignments is not None else None
            ),
        }

        def run(conn: Connection) -> list[ServiceEvent]:
            conn.execute(_UPDATE_SERVICE, params)
            return self._sequences.append(conn, service_id, events)

        return self._db.submit(run)

    def finish_operation(
        self,
        operation_id: str,
        state: OperationState,
        error: ErrorStatus | None,
        service_id: str,
        service_state: ServiceState,
        service_error: ErrorStatus | None,
        events: Sequence[ServiceEvent],
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Close an operation and settle its service, in one transaction."""

        now = _now()
        operation = {
            "oid": operation_id,
            "state": state.value,
            "error": codec.dump_optional(codec.ERROR, error),
            "now": now,
        }
        service = {
            "sid": service_id,
            "now": now,
            "state": service_state.value,
            "error": codec.dump_optional(codec.ERROR, service_error),
            "address_space": None,
            "constraints": None,
            "assignments": None,
        }

        def run(conn: Connection) -> list[ServiceEvent]:
            conn.execute(_UPDATE_OPERATION, operation)
            conn.execute(_UPDATE_SERVICE, service)
            return self._sequences.append(conn, service_id, events)

        return self._db.submit(run)

    def set_operation_state(self, operation_id: str, state: OperationState) -> asyncio.Future[None]:
        """Mark an operation as running or compensating."""

        params = {"oid": operation_id, "state": state.value, "error": None, "now": _now()}
        return self._db.submit(executes(_UPDATE_OPERATION, params))

    async def get_service(self, service_id: str) -> ServiceRecord | None:
        """A service with its parts, or None."""

        def run(conn: Connection) -> ServiceRecord | None:
            row = conn.execute(_SERVICE, {"sid": service_id}).first()
            if row is None:
                return None
            parts = conn.execute(_PARTS, {"sid": service_id}).scalars()
            return _service_from_row(row, tuple(codec.load(codec.PART, p) for p in parts))

        return await self._db.run(run)

    async def owner_of(self, service_id: str) -> str | None:
        """Who a service belongs to, or None when there is no such service."""

        def run(conn: Connection) -> str | None:
            return conn.execute(_OWNER, {"sid": service_id}).scalar_one_or_none()

        return await self._db.run(run)

    async def list_services(
        self, owner: str | None, *, include_inactive: bool, limit: int, offset: int
    ) -> list[ServiceRecord]:
        """Services newest first, without their parts."""

        def run(conn: Connection) -> list[ServiceRecord]:
            query = select(services)
            if owner is not None:
                query = query.where(services.c.owner == owner)
            if not include_inactive:
                query = query.where(services.c.state.in_([s.value for s in _ACTIVE_STATES]))
            query = (
                query.order_by(services.c.created_at.desc(), services.c.id)
                .limit(limit)
                .offset(offset)
            )
            return [_service_from_row(row, ()) for row in conn.execute(query)]

        return await self._db.run(run)

    async def get_operation(self, operation_id: str) -> Operation | None:
        """An operation with its per-task progress, or None."""
        return await self._db.run(lambda conn: read_operation(conn, operation_id))

    async def running_operation(self, service_id: str) -> Operation | None:
        """The service's unfinished operation, if one is running."""

        def run(conn: Connection) -> Operation | None:
            op_id = conn.execute(
                select(operations.c.id).where(
                    operations.c.service_id == service_id,
                    operations.c.state.in_(
                        [OperationState.RUNNING.value, OperationState.COMPENSATING.value]
                    ),
                )
            ).scalar()
            return None if op_id is None else read_operation(conn, op_id)

        return await self._db.run(run)

    async def events_after(
        self, service_id: str, after: int, limit: int = 500
    ) -> list[ServiceEvent]:
        """Stored events with a sequence greater than ``after``, oldest first."""

        def run(conn: Connection) -> list[ServiceEvent]:
            rows = conn.execute(_EVENTS_AFTER, {"sid": service_id, "after": after, "lim": limit})
            return [codec.load(codec.EVENT, r) for r in rows.scalars()]

        return await self._db.run(run)

    def append_events(
        self, service_id: str, events: Sequence[ServiceEvent]
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Append events to a service's log; returns them with their sequences."""
        return self._db.submit(lambda conn: self._sequences.append(conn, service_id, events))

    async def count_services(self) -> int:
        """How many service records exist (any state)."""
        return await self._db.run(
            lambda conn: int(conn.execute(select(func.count()).select_from(services)).scalar_one())
        )
