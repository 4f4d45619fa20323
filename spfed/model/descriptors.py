"""Dialect-neutral network service and function descriptors.

Both SONATA dialects map onto these (``spfed.descriptors``), and so do the
typed API messages (``spfed.wire``). Field names follow the 5GTANGO YAML, so a
validation path reads the same in a file and in an API request.

Connection points are always stored in the bare form: a unit's point is
``eth0`` and is referenced from a link as ``vdu01:eth0``; the descriptor's own
points are referenced bare (``input``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from spfed.model.resources import Resources

__all__ = [
    "ConnectionPoint",
    "ConnectionPointType",
    "ConnectivityType",
    "DeploymentUnit",
    "DescriptorRef",
    "Dialect",
    "ForwardingGraph",
    "ForwardingPath",
    "ForwardingPathHop",
    "InterfaceType",
    "NestedServiceRef",
    "NetworkFunctionRef",
    "NetworkServiceDescriptor",
    "QosRequirements",
    "UnitKind",
    "VirtualLink",
    "VnfDescriptor",
    "split_ref",
]


class Dialect(StrEnum):
    """The schema family a descriptor was written in."""

    SONATA = "sonata"
    """The original SONATA schema (``descriptor_version``)."""
    TANGO = "tango"
    """The 5GTANGO schema (``descriptor_schema``)."""


class ConnectionPointType(StrEnum):
    """Visibility of a connection point."""

    UNSPECIFIED = "unspecified"
    INTERNAL = "internal"
    EXTERNAL = "external"
    MANAGEMENT = "management"
    SERVICE_ENDPOINT = "serviceendpoint"


class InterfaceType(StrEnum):
    """Interface kind behind a connection point."""

    UNSPECIFIED = "unspecified"
    ETHERNET = "ethernet"
    IPV4 = "ipv4"
    IPV6 = "ipv6"


class ConnectivityType(StrEnum):
    """Topology of a virtual link."""

    E_LINE = "E-Line"
    E_TREE = "E-Tree"
    E_LAN = "E-LAN"


class UnitKind(StrEnum):
    """How a deployment unit runs."""

    VIRTUAL_MACHINE = "vm"
    CONTAINER = "container"
    PHYSICAL = "physical"


@dataclass(frozen=True, order=True)
class DescriptorRef:
    """Vendor, name and version: the identity of a descriptor or an offer."""

    vendor: str
    """Vendor id, e.g. ``eu.sonata-nfv``."""
    name: str
    """Descriptor name."""
    version: str
    """Descriptor version."""

    def __str__(self) -> str:
        return f"{self.vendor}/{self.name}/{self.version}"


@dataclass(frozen=True)
class ConnectionPoint:
    """A connection point of a service, function or unit."""

    id: str
    """Bare id, unique within its descriptor or unit."""
    interface: InterfaceType = InterfaceType.UNSPECIFIED
    """Interface kind."""
    type: ConnectionPointType = ConnectionPointType.UNSPECIFIED
    """Visibility."""
    mac: str = ""
    """Fixed MAC requested by the descriptor."""
    ip: str = ""
    """Fixed IP requested by the descriptor."""
    port: int = 0
    """Container port, for container units."""


@dataclass(frozen=True)
class QosRequirements:
    """QoS asked of a link or a point."""

    policy: str = ""
    """Name of a pre-defined QoS policy."""
    bandwidth_limit_mbps: float = 0.0
    """Upper bandwidth limit, Mbit/s."""
    minimum_bandwidth_mbps: float = 0.0
    """Guaranteed bandwidth, Mbit/s."""


@dataclass(frozen=True)
class VirtualLink:
    """A link between connection points."""

    id: str
    """Id, unique within the descriptor."""
    connectivity_type: ConnectivityType
    """E-Line, E-Tree or E-LAN."""
    connection_points_reference: tuple[str, ...]
    """``member:cp`` references, or bare ids of the descriptor's own points."""
    dhcp: bool = False
    """Whether addresses come from DHCP."""
    cidr: str = ""
    """CIDR requested by the descriptor."""
    qos: QosRequirements = field(default_factory=QosRequirements)
    """QoS requirements."""


@dataclass(frozen=True)
class ForwardingPathHop:
    """One hop of a forwarding path."""

    connection_point_ref: str
    """Reference, as in a virtual link."""
    position: int
    """1-based position."""


@dataclass(frozen=True)
class ForwardingPath:
    """An ordered path."""

    fp_id: str
    """Id within its graph."""
    policy: str = ""
    """Forwarding policy."""
    connection_points: tuple[ForwardingPathHop, ...] = ()
    """Hops."""


@dataclass(frozen=True)
class ForwardingGraph:
    """A forwarding graph."""

    fg_id: str
    """Id within the descriptor."""
    constituent_virtual_links: tuple[str, ...] = ()
    """Links used."""
    constituent_vnfs: tuple[str, ...] = ()
    """Functions used."""
    constituent_services: tuple[str, ...] = ()
    """Nested services used."""
    network_forwarding_paths: tuple[ForwardingPath, ...] = ()
    """Paths."""


@dataclass(frozen=True)
class NetworkFunctionRef:
    """A function used by a service."""

    vnf_id: str
    """Member id within the service."""
    descriptor: DescriptorRef
    """The VNFD."""


@dataclass(frozen=True)
class NestedServiceRef:
    """A nested service: the recursion hook."""

    ns_id: str
    """Member id within the service."""
    descriptor: DescriptorRef
    """The nested NSD (or offer)."""


@dataclass(frozen=True)
class NetworkServiceDescriptor:
    """A network service descriptor."""

    ref: DescriptorRef
    """Identity."""
    dialect: Dialect = Dialect.TANGO
    """Source dialect."""
    author: str = ""
    """Author."""
    description: str = ""
    """Description."""
    network_functions: tuple[NetworkFunctionRef, ...] = ()
    """Functions."""
    network_services: tuple[NestedServiceRef, ...] = ()
    """Nested services."""
    connection_points: tuple[ConnectionPoint, ...] = ()
    """Own external connection points."""
    virtual_links: tuple[VirtualLink, ...] = ()
    """Links."""
    forwarding_graphs: tuple[ForwardingGraph, ...] = ()
    """Forwarding graphs."""


@dataclass(frozen=True)
class DeploymentUnit:
    """A VDU, CDU or PDU of a function."""

    id: str
    """Id within the function."""
    kind: UnitKind = UnitKind.VIRTUAL_MACHINE
    """VM, container or physical."""
    vm_image: str = ""
    """Image reference."""
    vm_image_format: str = ""
    """Image format."""
    vm_image_md5: str = ""
    """Image MD5, used to find the image in a VIM."""
    vm_flavor: str = ""
    """Predefined flavour name."""
    resource_requirements: Resources = field(default_factory=Resources)
    """Resources needed; physical units need none from a PoP."""
    connection_points: tuple[ConnectionPoint, ...] = ()
    """Bare-id connection points."""


@dataclass(frozen=True)
class VnfDescriptor:
    """A virtual network function descriptor."""

    ref: DescriptorRef
    """Identity."""
    dialect: Dialect = Dialect.TANGO
    """Source dialect."""
    author: str = ""
    """Author."""
    description: str = ""
    """Description."""
    deployment_units: tuple[DeploymentUnit, ...] = ()
    """Units."""
    connection_points: tuple[ConnectionPoint, ...] = ()
    """External connection points."""
    virtual_links: tuple[VirtualLink, ...] = ()
    """Internal links."""

    def resources(self) -> Resources:
        """What one instance takes from a PoP (physical units take nothing)."""
        total = Resources()
        for unit in self.deployment_units:
            if unit.kind is not UnitKind.PHYSICAL:
                total = total + unit.resource_requirements
        return total


def split_ref(reference: str) -> tuple[str | None, str]:
    """Split a connection point reference into ``(member, cp)``.

    ``"vnf_fw:input"`` gives ``("vnf_fw", "input")``; a bare ``"input"``
    gives ``(None, "input")``.
    """
    member, sep, cp = reference.partition(":")
    if not sep:
        return None, reference
    return member, cp
