"""The customer's side of a service in a netns lab: a namespace on each NAP.

A customer reaches a service through its NAPs (the ingress and egress network
access points it asked for). In a lab on one machine, the customer is a network
namespace holding the NAP's address on the /31 (/127) the plan gave the NAP's
link, plugged into that link's bridge where the service's first (last) function
is reached: the top operator's PoP when the function runs there, or the border
gateway toward the lower SP that runs it. Its default route points at the
function's address on that link, so a probe sent from the ingress namespace
enters the chain.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from spfed.model import AddressConstraint, PartKind, ServiceRecord
from spfed.netns import (
    AttachmentSpec,
    BridgeSpec,
    Fabric,
    Namespace,
    RouteSpec,
    VnfSpec,
)
from spfed.netns.layout import border_gateway, link_bridge_label, pop_gateway

__all__ = ["CustomerAccess", "attach_customer", "detach_customer"]


@dataclass(frozen=True)
class CustomerAccess:
    """A customer namespace on one NAP of a service."""

    point: str
    """The service's own connection point the NAP is on."""
    namespace: Namespace
    """The customer's namespace."""
    address: str
    """The NAP's address (bare)."""
    peer: str
    """The service's address on the NAP's link (bare): the customer's next hop."""


def _peer(constraint: AddressConstraint) -> tuple[str, str] | None:
    """(NAP address, service-side address) of an own point that holds a NAP, else None."""
    if not constraint.subnet:
        return None
    subnet = ipaddress.ip_network(constraint.subnet)
    nap = ipaddress.ip_network(constraint.prefix)
    if nap.num_addresses != 1 or subnet.num_addresses != 2:
        return None
    mine = nap.network_address
    other = next(a for a in (subnet.network_address, subnet.broadcast_address) if a != mine)
    return str(mine), str(other)


async def attach_customer(fabric: Fabric, record: ServiceRecord) -> list[CustomerAccess]:
    """A customer namespace on every NAP of a top-level service (``record`` from the
    top operator, with its tree); returns them.

    Raises:
        FailedPrecondition: a NAP's link is not where the record says (from
            ``spfed.netns``).
    """
    out = []
    for constraint in record.constraints:
        ends = _peer(constraint)
        vni = constraint.vni.first if constraint.vni is not None else 0
        if ends is None or not vni:
            continue
        address, peer = ends
        part = record.part_holding(peer)
        if part is None:
            continue
        if part.kind is PartKind.LOCAL:
            spec = pop_gateway(record.operator, part.pop)
        else:
            spec = border_gateway(record.operator, part.lower_sp)
        gateway = await fabric.add_gateway(spec)
        bridge = await fabric.add_bridge(BridgeSpec(gateway, link_bridge_label(vni)))
        label = f"customer.{record.id[:12]}.{constraint.connection_point}"
        namespace = await fabric.add_vnf(VnfSpec(label, forwarding=False))
        prefix_length = ipaddress.ip_network(constraint.subnet).prefixlen
        attachment = await fabric.attach(
            AttachmentSpec(namespace, bridge, "nap", addresses=(f"{address}/{prefix_length}",))
        )
        await fabric.add_route(RouteSpec(namespace, "default", peer, attachment.ifname))
        out.append(CustomerAccess(constraint.connection_point, namespace, address, peer))
    return out


async def detach_customer(fabric: Fabric, accesses: list[CustomerAccess]) -> None:
    """Remove the customer namespaces (idempotent)."""
    for access in accesses:
        await fabric.delete_namespace(access.namespace)
