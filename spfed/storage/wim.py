"""The WIM's connectivity services, so that their bookings survive a restart.

``WimConnectivityStore`` is the SQL adapter of the WIM's own port,
``wim.BookingStore``: it stores and returns the WIM's ``ConnectivityHandle``.

One row per service in ``wim_connectivity`` (endpoints and created items as
JSON), and one row per segment in ``wim_segments``, where a unique VNI column
makes it impossible to store one VNI twice. The two tables are declared here
on the node's ``metadata``; migration 0007 creates them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
)

from spfed.errors import FailedPrecondition
from spfed.model import WimService
from spfed.storage import _codecs as codec
from spfed.storage.database import Database
from spfed.storage.schema import metadata
from wim import ConnectionPoint, ConnectivityHandle, Segment

__all__ = [
    "WimConnectivityStore",
    "wim_connectivity",
    "wim_segments",
]

_SERVICE_ID = String(255)
"""Connectivity service ids are wider than the node's own ids: ``<service id>/<link id>``."""

wim_connectivity = Table(
    "wim_connectivity",
    metadata,
    Column("service_id", _SERVICE_ID, primary_key=True),
    Column("type", String(16), nullable=False),
    Column("bandwidth_mbps", Float, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("endpoints", Text, nullable=False),
    Column("created_items", Text, nullable=False),
)

wim_segments = Table(
    "wim_segments",
    metadata,
    Column(
        "service_id",
        _SERVICE_ID,
        ForeignKey("wim_connectivity.service_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("link_id", String(128), nullable=False),
    Column("a", String(128), nullable=False),
    Column("b", String(128), nullable=False),
    Column("vni", BigInteger, nullable=False, unique=True),
)
Index("ix_wim_segments_link", wim_segments.c.link_id)


@dataclass(frozen=True)
class _Endpoint:
    """A connection point as its JSON column holds it."""

    node: str
    interface: str
    vlan: int


_ENDPOINTS: TypeAdapter[tuple[_Endpoint, ...]] = TypeAdapter(tuple[_Endpoint, ...])
_ITEMS: TypeAdapter[dict[str, tuple[str, ...]]] = TypeAdapter(dict[str, tuple[str, ...]])
_C = wim_connectivity.c
_S = wim_segments.c


class WimConnectivityStore:
    """Connectivity services of the node's WIM, by service id (a ``wim.BookingStore``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> list[ConnectivityHandle]:
        """Every stored service, by service id.

        Raises:
            FailedPrecondition: a stored service has a type that is no ``WimService``.
        """

        def run(conn: Connection) -> list[ConnectivityHandle]:
            segments: dict[str, list[Segment]] = {}
            for s in conn.execute(select(wim_segments).order_by(_S.service_id, _S.position)):
                segments.setdefault(s.service_id, []).append(Segment(s.link_id, s.a, s.b, s.vni))
            return [
                ConnectivityHandle(
                    service_id=r.service_id,
                    type=_service_type(r.service_id, r.type),
                    endpoints=tuple(
                        ConnectionPoint(e.node, e.interface, e.vlan)
                        for e in codec.load(_ENDPOINTS, r.endpoints)
                    ),
                    segments=tuple(segments.get(r.service_id, ())),
                    bandwidth_mbps=r.bandwidth_mbps,
                    latency_ms=r.latency_ms,
                    created_items=_items(r.created_items),
                )
                for r in conn.execute(select(wim_connectivity).order_by(_C.service_id))
            ]

        return await self._db.run(run)

    async def save(self, handle: ConnectivityHandle) -> None:
        """Insert the service, or replace the one stored with that id, in one transaction.

        Raises:
            AlreadyExists: another service holds one of its VNIs.
        """
        sid = handle.service_id
        row = {
            "service_id": sid,
            "type": str(handle.type),
            "bandwidth_mbps": handle.bandwidth_mbps,
            "latency_ms": handle.latency_ms,
            "endpoints": codec.dump(
                _ENDPOINTS,
                tuple(_Endpoint(e.node, e.interface, e.vlan) for e in handle.endpoints),
            ),
            "created_items": codec.dump(
                _ITEMS, {kind: tuple(items) for kind, items in handle.created_items.items()}
            ),
        }
        segments = [
            {
                "service_id": sid,
                "position": i,
                "link_id": s.link_id,
                "a": s.a,
                "b": s.b,
                "vni": s.vni,
            }
            for i, s in enumerate(handle.segments)
        ]

        def run(conn: Connection) -> None:
            _delete(conn, sid)
            conn.execute(insert(wim_connectivity), row)
            if segments:
                conn.execute(insert(wim_segments), segments)

        await self._db.run(run)

    async def delete(self, service_id: str) -> None:
        """Remove the service with that id; succeeds if absent."""
        await self._db.run(lambda conn: _delete(conn, service_id))


def _delete(conn: Connection, service_id: str) -> None:
    conn.execute(delete(wim_segments).where(_S.service_id == service_id))
    conn.execute(delete(wim_connectivity).where(_C.service_id == service_id))


def _service_type(service_id: str, text: str) -> WimService:
    try:
        return WimService(text)
    except ValueError:
        raise FailedPrecondition(
            f"stored connectivity service {service_id} has unknown type '{text}'"
        ) from None


def _items(text: str) -> dict[str, tuple[str, ...]]:
    return codec.load(_ITEMS, text)
