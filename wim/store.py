"""Where the WIM keeps its connectivity services, so that they survive a restart.

``Wim`` saves a service's handle once it is realised, deletes it once it is
removed, and loads every one at start-up to book its bandwidth and VNIs
again. The node injects the SQL store of its storage layer
(``spfed.storage.WimConnectivityStore``); tests use one in memory.

The storage layer sits below the WIM and cannot import it, so what ``load``
returns is described by protocols (``ConnectivityRecord`` and the records it
holds) rather than by the WIM's own classes: any value of that shape will do,
and a ``ConnectivityHandle`` is one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from spfed.errors import InvalidArgument
from spfed.model import WimService
from wim.services import ConnectionPoint, ConnectivityHandle, Segment

__all__ = [
    "BookingStore",
    "ConnectivityRecord",
    "EndpointRecord",
    "SegmentRecord",
    "handle_from_record",
]


class EndpointRecord(Protocol):
    """A stored ``ConnectionPoint``."""

    @property
    def node(self) -> str: ...
    @property
    def interface(self) -> str: ...
    @property
    def vlan(self) -> int: ...


class SegmentRecord(Protocol):
    """A stored ``Segment``."""

    @property
    def link_id(self) -> str: ...
    @property
    def a(self) -> str: ...
    @property
    def b(self) -> str: ...
    @property
    def vni(self) -> int: ...


class ConnectivityRecord(Protocol):
    """A stored ``ConnectivityHandle``; ``type`` is the ``WimService`` value."""

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


class BookingStore(Protocol):
    """Durable storage of the WIM's connectivity services, keyed by service id.

    Contract: a call that returns has made its change durable; a call that
    raises has made none.
    """

    async def load(self) -> Sequence[ConnectivityRecord]:
        """Every service saved and not deleted, in any order."""
        ...

    async def save(self, handle: ConnectivityHandle) -> None:
        """Insert the service, or replace the one saved with that id.

        Raises:
            AlreadyExists: another service holds one of its VNIs.
        """
        ...

    async def delete(self, service_id: str) -> None:
        """Remove the service with that id; succeeds if absent."""
        ...


def handle_from_record(record: ConnectivityRecord) -> ConnectivityHandle:
    """The handle a record stores.

    Raises:
        InvalidArgument: its type is not a ``WimService`` value.
    """
    try:
        kind = WimService(record.type)
    except ValueError:
        raise InvalidArgument(
            f"stored connectivity service {record.service_id} has unknown type '{record.type}'"
        ) from None
    return ConnectivityHandle(
        service_id=record.service_id,
        type=kind,
        endpoints=tuple(ConnectionPoint(e.node, e.interface, e.vlan) for e in record.endpoints),
        segments=tuple(Segment(s.link_id, s.a, s.b, s.vni) for s in record.segments),
        bandwidth_mbps=record.bandwidth_mbps,
        latency_ms=record.latency_ms,
        created_items={name: tuple(items) for name, items in record.created_items.items()},
    )
