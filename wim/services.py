"""Connectivity services: what is asked of the WIM, and the handle of what it built.

The shapes follow OSM's WIM connector (``create_connectivity_service`` taking a
service type and connection points, returning an id and ``conn_info``): a
``ConnectivityRequest`` goes in, a ``ConnectivityHandle`` comes back. The
handle holds everything needed to undo the service (the links it books, the
VNI of each segment, the driver's created items), so deletion and
compensation need no lookup.

The service types are ``spfed.model.WimService`` (E-Line, E-LAN): the same
enumeration the catalogue publishes, so what a node offers and what its WIM
builds cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from spfed.model import WimService

__all__ = [
    "ConnectionPoint",
    "ConnectivityHandle",
    "ConnectivityRequest",
    "Segment",
    "ServiceStatus",
]


@dataclass(frozen=True)
class ConnectionPoint:
    """Where a connectivity service attaches: a node of the WAN graph, and an optional hint."""

    node: str
    """A node of the WAN graph: a PoP id or a border point id."""
    interface: str = ""
    """Interface on that node the service attaches to; "" lets the driver choose."""
    vlan: int = 0
    """802.1Q VLAN id on that interface (1-4094); 0 for untagged."""


@dataclass(frozen=True)
class ConnectivityRequest:
    """A connectivity service to build between connection points of the WAN."""

    type: WimService
    """E-Line (exactly two endpoints) or E-LAN (two or more)."""
    endpoints: tuple[ConnectionPoint, ...]
    """The connection points to join, each at most once."""
    bandwidth_mbps: float
    """Bandwidth booked on every link the service crosses (Mbit/s, ≥ 0)."""
    max_latency_ms: float = 0.0
    """Largest one-way latency allowed between any two endpoints (ms); 0 for no bound."""


class ServiceStatus(StrEnum):
    """Status of a connectivity service, as OSM's WIM connector names it."""

    BUILD = "BUILD"
    """Being created."""
    ACTIVE = "ACTIVE"
    """Created; its driver reports it working."""
    DOWN = "DOWN"
    """Created, but its driver reports it not working (or gone)."""
    ERROR = "ERROR"
    """Its driver reports a failure."""


@dataclass(frozen=True)
class Segment:
    """One WAN link of a service's path or tree, carried in its own VXLAN segment."""

    link_id: str
    """The WAN link (``WanLink.id``) the segment crosses."""
    a: str
    """The node the segment starts at: the end nearer the service's first endpoint."""
    b: str
    """The node at the other end of the link."""
    vni: int
    """VXLAN network identifier of this segment, unique among the WIM's segments."""


@dataclass(frozen=True)
class ConnectivityHandle:
    """A connectivity service the WIM built: enough to query it and to undo it exactly."""

    service_id: str
    """The WIM's id of the service."""
    type: WimService
    """E-Line or E-LAN."""
    endpoints: tuple[ConnectionPoint, ...]
    """The connection points it joins, as requested."""
    segments: tuple[Segment, ...]
    """One per WAN link of the path (E-Line, in order) or tree (E-LAN, breadth first)."""
    bandwidth_mbps: float
    """Bandwidth booked on every link of ``segments``."""
    latency_ms: float
    """Worst one-way latency between two endpoints along the segments (ms)."""
    created_items: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    """What the driver created, by kind; opaque to the WIM, read-only."""

    def __post_init__(self) -> None:
        # Copy so that a driver mutating its dict cannot change a handle already issued.
        object.__setattr__(self, "created_items", MappingProxyType(dict(self.created_items)))

    @property
    def links(self) -> tuple[str, ...]:
        """Ids of the WAN links the service books, in segment order."""
        return tuple(s.link_id for s in self.segments)
