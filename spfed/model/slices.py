"""Network slice templates (5GTANGO NST): services joined into one slice.

A slice template names the network services it is made of (its *subnets*),
where traffic enters and leaves each of them, and the links that join their
connection points. ``spfed.descriptors`` parses the NST YAML into these.

A slice instance (``SliceRecord``) is what a node made of a template: one
service per subnet, and per slice link a /31 (/127) and a VNI on which the
joined points of two services meet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from spfed.model.descriptors import (
    ConnectivityType,
    DescriptorRef,
    NetworkServiceDescriptor,
    VnfDescriptor,
)
from spfed.model.services import ErrorStatus, PlacementConstraints

__all__ = [
    "CreateSliceRequest",
    "SliceAccessPoint",
    "SliceLink",
    "SliceLinkPoint",
    "SliceLinkRecord",
    "SliceRecord",
    "SliceState",
    "SliceSubnet",
    "SliceSubnetRecord",
    "SliceTemplate",
]


@dataclass(frozen=True)
class SliceAccessPoint:
    """Where traffic enters (ingress) or leaves (egress) a subnet."""

    location: str
    """Location id, e.g. a VIM or PoP uuid."""
    nap: str
    """Network access point: an IP address or prefix, e.g. ``10.10.10.1/32``."""


@dataclass(frozen=True)
class SliceSubnet:
    """One network service of a slice."""

    id: str
    """Id within the template."""
    nsd: DescriptorRef
    """The service's NSD, by vendor, name and version."""
    nsd_ref: str = ""
    """Catalogue id of the NSD (a uuid in 5GTANGO catalogues)."""
    is_shared: bool = False
    """Whether one instance of the service may serve several slices."""
    sla_name: str = ""
    """Name of the SLA attached to the service."""
    sla_ref: str = ""
    """Catalogue id of that SLA."""
    ingresses: tuple[SliceAccessPoint, ...] = ()
    """Where traffic enters the service."""
    egresses: tuple[SliceAccessPoint, ...] = ()
    """Where traffic leaves the service."""


@dataclass(frozen=True)
class SliceLinkPoint:
    """A connection point of one subnet, joined by a slice link."""

    subnet_ref: str
    """Id of the subnet."""
    nsd_cp_ref: str
    """Connection point of the subnet's NSD."""
    ip_address: str = ""
    """Fixed address asked for the point, if any."""


@dataclass(frozen=True)
class SliceLink:
    """A virtual link between subnets of a slice."""

    id: str
    """Id within the template."""
    connectivity_type: ConnectivityType
    """E-Line, E-Tree or E-LAN."""
    name: str = ""
    """Name."""
    mgmt_network: bool = False
    """Whether the link is a management network."""
    access_net: bool = False
    """Whether the link is reachable from outside the slice."""
    connection_points: tuple[SliceLinkPoint, ...] = ()
    """Points joined."""
    bandwidth_mbps: float = 0.0
    """Bandwidth the link must carry (the NST's ``root-bandwidth``), Mbit/s; 0 for best effort."""


@dataclass(frozen=True)
class SliceTemplate:
    """A network slice template (NST)."""

    ref: DescriptorRef
    """Identity."""
    author: str = ""
    """Author."""
    description: str = ""
    """Description."""
    slice_service_type: str = ""
    """S-NSSAI service type: ``eMBB``, ``URLLC`` or ``mMTC`` ("" when not given)."""
    slice_differentiator: str = ""
    """S-NSSAI slice differentiator."""
    subnets: tuple[SliceSubnet, ...] = ()
    """Services of the slice."""
    links: tuple[SliceLink, ...] = ()
    """Links between the services."""


@dataclass(frozen=True)
class CreateSliceRequest:
    """A request to create a slice from a template."""

    request_id: str
    """Client request id (idempotency key)."""
    template: SliceTemplate
    """The slice template."""
    name: str = ""
    """Label ("" for the template's name)."""
    nsds: tuple[NetworkServiceDescriptor, ...] = ()
    """NSDs of the subnets (those not onboarded at the node)."""
    vnfds: tuple[VnfDescriptor, ...] = ()
    """VNFDs of their functions (those not onboarded at the node)."""
    placement: dict[str, PlacementConstraints] = field(default_factory=dict)
    """Placement constraints of each subnet's service, by subnet id."""


class SliceState(StrEnum):
    """Lifecycle state of a slice."""

    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    DELETING = "DELETING"
    DELETED = "DELETED"


@dataclass(frozen=True)
class SliceSubnetRecord:
    """The service a subnet of a slice became."""

    subnet_id: str
    """Subnet id of the template."""
    nsd: DescriptorRef
    """The NSD asked for."""
    service_id: str = ""
    """The service at this node ("" until it is requested)."""
    shared: bool = False
    """Whether the service may serve other slices of the owner (``is-shared``)."""


@dataclass(frozen=True)
class SliceLinkRecord:
    """A slice link: the points of two services on one /31 (/127) with one VNI."""

    id: str
    """Link id of the template."""
    subnet: str = ""
    """The transit subnet drawn from the slice pool, e.g. ``172.16.0.0/31``."""
    vni: int = 0
    """Its VNI."""
    points: tuple[SliceLinkPoint, ...] = ()
    """The joined points; ``ip_address`` is the address each was given."""
    connectivity_ids: tuple[str, ...] = ()
    """WIM connectivity services that carry it (none without a WIM)."""


@dataclass(frozen=True)
class SliceRecord:
    """A slice instance, as seen by the node that owns it."""

    id: str
    """Slice id."""
    name: str
    """Label."""
    template: DescriptorRef
    """The template's vendor, name and version."""
    state: SliceState
    """State."""
    owner: str
    """Requesting account."""
    request_id: str
    """Client request id."""
    create_time: datetime
    """Requested at."""
    update_time: datetime
    """Last change."""
    subnets: tuple[SliceSubnetRecord, ...] = ()
    """One service per subnet."""
    links: tuple[SliceLinkRecord, ...] = ()
    """Slice links."""
    error: ErrorStatus | None = None
    """Why it failed."""
