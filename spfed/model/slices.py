"""Network slice templates (5GTANGO NST): services joined into one slice.

A slice template names the network services it is made of (its *subnets*),
where traffic enters and leaves each of them, and the links that join their
connection points. ``spfed.descriptors`` parses the NST YAML into these.
"""

from __future__ import annotations

from dataclasses import dataclass

from spfed.model.descriptors import ConnectivityType, DescriptorRef

__all__ = [
    "SliceAccessPoint",
    "SliceLink",
    "SliceLinkPoint",
    "SliceSubnet",
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
