"""Network slices, and which services they hold.

One row per slice in ``slices`` (the record as JSON, with the columns queried
on: owner, request id, state), and one row per (slice, subnet) in
``slice_holds`` naming the service the subnet uses. A shared service is
held by several slices; counting its rows is its reference count, so it is
terminated only when the last hold is dropped. Migration 0008 creates both
tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)

from spfed.model import DescriptorRef, SliceRecord, SliceState
from spfed.storage import _codecs as codec
from spfed.storage.database import Database
from spfed.storage.schema import ID, metadata

__all__ = ["SliceHold", "SliceStore", "slice_holds", "slices"]

slices = Table(
    "slices",
    metadata,
    Column("id", ID, primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("record", Text, nullable=False),
    UniqueConstraint("owner", "request_id"),
)

slice_holds = Table(
    "slice_holds",
    metadata,
    Column("slice_id", ID, primary_key=True),
    Column("subnet_id", String(128), primary_key=True),
    Column("service_id", ID, nullable=False),
    Column("owner", String(128), nullable=False),
    Column("nsd", String(255), nullable=False),
    Column("shared", Boolean, nullable=False),
)
Index("ix_slice_holds_service_id", slice_holds.c.service_id)

_RECORD: TypeAdapter[SliceRecord] = TypeAdapter(SliceRecord)
_S = slices.c
_H = slice_holds.c


@dataclass(frozen=True)
class SliceHold:
    """A slice's hold on the service of one of its subnets."""

    slice_id: str
    """The slice."""
    subnet_id: str
    """Its subnet."""
    service_id: str
    """The service."""
    owner: str
    """The slice's (and the service's) owner."""
    nsd: DescriptorRef
    """The service's NSD."""
    shared: bool
    """Whether other slices of the owner may hold the service too."""


def _row(record: SliceRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "owner": record.owner,
        "request_id": record.request_id,
        "state": record.state.value,
        "create_time": record.create_time,
        "record": codec.dump(_RECORD, record),
    }


class SliceStore:
    """Slice records and their holds on services."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, record: SliceRecord) -> None:
        """Store a new slice.

        Raises:
            AlreadyExists: the id, or the owner's request id, is taken.
        """
        await self._db.run(lambda conn: conn.execute(insert(slices), _row(record)))

    async def save(self, record: SliceRecord) -> None:
        """Replace a stored slice's record and state."""
        row = _row(record)
        statement = update(slices).where(_S.id == record.id).values(**row)
        await self._db.run(lambda conn: conn.execute(statement))

    async def get(self, slice_id: str) -> SliceRecord | None:
        """One slice, if stored."""

        def run(conn: Connection) -> SliceRecord | None:
            text = conn.execute(select(_S.record).where(_S.id == slice_id)).scalar()
            return None if text is None else codec.load(_RECORD, text)

        return await self._db.run(run)

    async def by_request(self, owner: str, request_id: str) -> SliceRecord | None:
        """The owner's slice created with that request id, if any."""

        def run(conn: Connection) -> SliceRecord | None:
            text = conn.execute(
                select(_S.record).where(_S.owner == owner, _S.request_id == request_id)
            ).scalar()
            return None if text is None else codec.load(_RECORD, text)

        return await self._db.run(run)

    async def find(
        self, owner: str | None, *, states: frozenset[SliceState] | None = None
    ) -> list[SliceRecord]:
        """Slices of ``owner`` (every owner's for None), newest first, in ``states`` if given."""
        query = select(_S.record).order_by(_S.create_time.desc(), _S.id)
        if owner is not None:
            query = query.where(_S.owner == owner)
        if states is not None:
            query = query.where(_S.state.in_([s.value for s in states]))

        def run(conn: Connection) -> list[SliceRecord]:
            return [codec.load(_RECORD, text) for text in conn.execute(query).scalars()]

        return await self._db.run(run)

    async def hold(self, hold: SliceHold) -> None:
        """Record a slice's hold on a service (idempotent)."""
        row = {
            "slice_id": hold.slice_id,
            "subnet_id": hold.subnet_id,
            "service_id": hold.service_id,
            "owner": hold.owner,
            "nsd": str(hold.nsd),
            "shared": hold.shared,
        }

        def run(conn: Connection) -> None:
            conn.execute(
                delete(slice_holds).where(
                    _H.slice_id == hold.slice_id, _H.subnet_id == hold.subnet_id
                )
            )
            conn.execute(insert(slice_holds), row)

        await self._db.run(run)

    async def drop(self, slice_id: str, subnet_id: str) -> tuple[str, int]:
        """Drop a slice's hold; the service it named ("" if none) and how many holds remain
        on that service."""

        def run(conn: Connection) -> tuple[str, int]:
            where = (_H.slice_id == slice_id, _H.subnet_id == subnet_id)
            service_id = conn.execute(select(_H.service_id).where(*where)).scalar()
            if service_id is None:
                return "", 0
            conn.execute(delete(slice_holds).where(*where))
            left = conn.execute(
                select(func.count()).select_from(slice_holds).where(_H.service_id == service_id)
            ).scalar_one()
            return str(service_id), int(left)

        return await self._db.run(run)

    async def holders(self, service_id: str) -> int:
        """How many slices hold a service."""
        query = select(func.count()).select_from(slice_holds).where(_H.service_id == service_id)
        return int(await self._db.run(lambda conn: conn.execute(query).scalar_one()))

    async def shared_services(self, owner: str, nsd: DescriptorRef) -> list[str]:
        """Services of ``nsd`` that slices of ``owner`` hold as shared, oldest hold first."""
        query = (
            select(_H.service_id)
            .where(_H.owner == owner, _H.nsd == str(nsd), _H.shared.is_(True))
            .distinct()
        )
        return await self._db.run(lambda conn: [str(s) for s in conn.execute(query).scalars()])
