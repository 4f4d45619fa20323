"""The WIM's connectivity services, so that their bookings survive a restart.

``WimConnectivityStore`` is the node's ``wim.BookingStore``. The WIM sits above
the storage layer, so this module does not import it. Instead it matches the
protocol structurally: ``save`` takes any value shaped like a connectivity
handle (``ConnectivityRecord``), and ``load`` returns ``StoredConnectivity``
values of that same shape.

One row per service in ``wim_connectivity`` (endpoints and created items as
JSON), and one row per segment in ``wim_segments``, where a unique VNI column
makes it impossible to store one VNI twice. The two tables are declared here
on the node's ``metadata``; migration 0007 creates them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

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

from spfed.storage import _codecs as codec
from spfed.storage.database import Database
from spfed.storage.schema import metadata

__all__ = [
    "ConnectivityRecord",
    "EndpointRecord",
    "SegmentRecord",
    "StoredConnectivity",
    "StoredEndpoint",
    "StoredSegment",
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


class EndpointRecord(Protocol):
    """A connection point of a service (``wim.ConnectionPoint``)."""

    @property
    def node(self) -> str: ...
    @property
    def interface(self) -> str: ...
    @property
    def vlan(self) -> int: ...


class SegmentRecord(Protocol):
    """A segment of a service (``wim.Segment``)."""

    @property
    def link_id(self) -> str: ...
    @property
    def a(self) -> str: ...
    @property
    def b(self) -> str: ...
    @property
    def vni(self) -> int: ...


class ConnectivityRecord(Protocol):
    """A connectivity service to store (``wim.ConnectivityHandle``)."""

    @property
    def service_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def endpoints(self) -> Sequence[EndpointRecord]: ...
    @property
    def segments(self) -> Sequence[SegmentRecord]: ...
    @property
    def bandwidth_mbps(self) -> float: ...
    @property
    def latency_ms(self) -> float: ...
    @property
    def created_items(self) -> Mapping[str, Sequence[str]]: ...


@dataclass(frozen=True)
class StoredEndpoint:
    """A stored connection point."""

    node: str
    """WAN node."""
    interface: str
    """Interface hint ("" for none)."""
    vlan: int
    """VLAN id (0 for untagged)."""


@dataclass(frozen=True)
class StoredSegment:
    """A stored segment."""

    link_id: str
    """WAN link."""
    a: str
    """Node it starts at."""
    b: str
    """Node it ends at."""
    vni: int
    """Its VNI."""


@dataclass(frozen=True)
class StoredConnectivity:
    """A stored connectivity service."""

    service_id: str
    """The WIM's id of it."""
    type: str
    """``E-Line`` or ``E-LAN``."""
    endpoints: tuple[StoredEndpoint, ...]
    """Connection points, in request order."""
    segments: tuple[StoredSegment, ...]
    """Segments, in route order."""
    bandwidth_mbps: float
    """Bandwidth booked on each segment's link."""
    latency_ms: float
    """Worst latency between two endpoints."""
    created_items: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    """What the driver created, by kind (read-only)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_items", MappingProxyType(dict(self.created_items)))


_ENDPOINTS: TypeAdapter[tuple[StoredEndpoint, ...]] = TypeAdapter(tuple[StoredEndpoint, ...])
_ITEMS: TypeAdapter[dict[str, tuple[str, ...]]] = TypeAdapter(dict[str, tuple[str, ...]])
_C = wim_connectivity.c
_S = wim_segments.c


class WimConnectivityStore:
    """Connectivity services of the node's WIM, by service id (a ``wim.BookingStore``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> list[StoredConnectivity]:
        """Every stored service, by service id."""

        def run(conn: Connection) -> list[StoredConnectivity]:
            segments: dict[str, list[StoredSegment]] = {}
            for s in conn.execute(select(wim_segments).order_by(_S.service_id, _S.position)):
                segments.setdefault(s.service_id, []).append(
                    StoredSegment(s.link_id, s.a, s.b, s.vni)
                )
            return [
                StoredConnectivity(
                    service_id=r.service_id,
                    type=r.type,
                    endpoints=codec.load(_ENDPOINTS, r.endpoints),
                    segments=tuple(segments.get(r.service_id, ())),
                    bandwidth_mbps=r.bandwidth_mbps,
                    latency_ms=r.latency_ms,
                    created_items=_items(r.created_items),
                )
                for r in conn.execute(select(wim_connectivity).order_by(_C.service_id))
            ]

        return await self._db.run(run)

    async def save(self, handle: ConnectivityRecord) -> None:
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
                tuple(StoredEndpoint(e.node, e.interface, e.vlan) for e in handle.endpoints),
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


def _items(text: str) -> dict[str, tuple[str, ...]]:
    return codec.load(_ITEMS, text)
