"""The WAN side of a service: which of its links cross the node's WAN, and how they are booked.

A link of a service crosses the WAN when its ends sit at different *WAN nodes*
of this node: two own PoPs, or an own PoP and a lower SP (reached through the
border point whose ``peer`` is that lower SP), or two lower SPs (the upper SP's
WIM joins the lower SPs' border points), or the service's own points (reached
through the border toward whoever asked for the service). Each such link
becomes one connectivity service of the node's WIM, with the link's id as its
last path element so that terminate finds them all by the service id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import assert_never

from spfed.config import BorderConfig
from spfed.errors import AlreadyExists, FailedPrecondition, FieldViolation
from spfed.model import DelegatedPart, LocalPart, Part, WimService, split_ref
from spfed.netns.layout import link_bridge_label
from upper_sp.graph import GraphLink
from wim import ConnectionPoint, ConnectivityRequest, Wim

__all__ = [
    "WanDemand",
    "book_link",
    "book_wan",
    "border_to_lower",
    "connectivity_id",
    "connectivity_prefix",
    "release_links",
    "release_wan",
    "wan_demands",
]


@dataclass(frozen=True)
class WanDemand:
    """One link of a service that the node's WIM has to carry."""

    link: str
    """The service's link id."""
    nodes: tuple[str, ...]
    """WAN nodes it joins (PoP names, border point ids), in order of first appearance."""
    type: WimService
    """E-Line for two nodes, E-LAN for more."""
    bandwidth_mbps: float
    """Guaranteed bandwidth asked by the descriptor (its limit when no minimum is given)."""
    vni: int = 0
    """The link's VNI in the address plan: the name of its layer-2 domain in every
    gateway the data plane builds (0 when the link has no plan here)."""


def connectivity_prefix(service_id: str) -> str:
    """What every WIM connectivity id of a service starts with."""
    return f"{service_id}/"


def connectivity_id(service_id: str, link: str) -> str:
    """The WIM's id of the connectivity service carrying ``link`` of a service."""
    return f"{connectivity_prefix(service_id)}{link}"


def _border_toward(peer: str, borders: Sequence[BorderConfig]) -> str:
    return next((b.id for b in borders if b.peer == peer), "")


def border_to_lower(lower: str, borders: Sequence[BorderConfig], what: str) -> str:
    """The border point of the node's WAN toward lower SP ``lower``.

    Raises:
        FailedPrecondition: none leads there (``what`` says what needed it).
    """
    border = _border_toward(lower, borders)
    if not border:
        raise FailedPrecondition(
            f"{what} reaches lower SP {lower}, but no border point of this node's WAN leads there",
            field_violations=[FieldViolation("catalogue.borders", f"a border with peer '{lower}'")],
        )
    return border


def wan_demands(
    links: Sequence[GraphLink],
    parts: Mapping[str, Part],
    owner: str,
    borders: Sequence[BorderConfig],
    vnis: Mapping[str, int] | None = None,
) -> list[WanDemand]:
    """The links of a service that cross the node's WAN.

    ``parts`` is the placement: the part of every member, by member id;
    ``vnis`` the plan's VNI of each link.

    The service's own points attach through the border whose ``peer`` is
    ``owner`` (an upper SP); when there is none (a customer's service), they
    are left to the customer's access and do not make a link cross.

    Raises:
        FailedPrecondition: a link reaches a lower SP that no border point
            leads to.
    """
    demands = []
    for link in links:
        nodes: list[str] = []
        for ref in link.refs:
            member, _ = split_ref(ref)
            if member is None:
                node = _border_toward(owner, borders)
            else:
                match parts[member]:
                    # A PoP is a node of the WAN graph under its own name.
                    case LocalPart(pop):
                        node = pop
                    case DelegatedPart(lower):
                        node = border_to_lower(lower, borders, f"link {link.id}")
                    case other:  # a bare string here would otherwise pass unnoticed
                        assert_never(other)
            if node and node not in nodes:
                nodes.append(node)
        if len(nodes) < 2:
            continue
        demands.append(
            WanDemand(
                link.id,
                tuple(nodes),
                WimService.E_LINE if len(nodes) == 2 else WimService.E_LAN,
                link.qos.minimum_bandwidth_mbps or link.qos.bandwidth_limit_mbps,
                (vnis or {}).get(link.id, 0),
            )
        )
    return demands


async def book_link(
    wim: Wim, cid: str, nodes: Sequence[str], vni: int, bandwidth_mbps: float
) -> bool:
    """Join ``nodes`` on the WIM as connectivity service ``cid`` (E-Line for two, E-LAN
    for more); whether it is new (a service of that id exists already after a restart).

    Each endpoint names the link's layer-2 domain (the bridge labelled by its plan
    VNI) as its interface, so that a data-plane driver joins what the VIM and the
    neighbouring operators attach to.

    Raises:
        ResourceExhausted: a WAN link lacks the bandwidth, or the VNIs ran out.
        FailedPrecondition: no path within the latency bound, or none at all.
    """
    label = link_bridge_label(vni) if vni else ""
    request = ConnectivityRequest(
        WimService.E_LINE if len(nodes) == 2 else WimService.E_LAN,
        tuple(ConnectionPoint(node, label) for node in nodes),
        bandwidth_mbps,
    )
    try:
        await wim.create_connectivity_service(request, service_id=cid)
    except AlreadyExists:
        return False
    return True


async def release_links(wim: Wim | None, prefix: str) -> None:
    """Delete every connectivity service whose id starts with ``prefix`` (idempotent;
    nothing to do without a WIM)."""
    if wim is None:
        return
    for cid in wim.connectivity_ids(prefix):
        await wim.delete_connectivity_service(cid)


async def book_wan(wim: Wim, service_id: str, demands: Sequence[WanDemand]) -> int:
    """Book every demand of a service, one after another; how many are new.

    Raises:
        ResourceExhausted: a WAN link lacks the bandwidth, or the VNIs ran out.
        FailedPrecondition: no path within the latency bound, or none at all.
    """
    created = 0
    for d in demands:
        cid = connectivity_id(service_id, d.link)
        created += await book_link(wim, cid, d.nodes, d.vni, d.bandwidth_mbps)
    return created


async def release_wan(wim: Wim | None, service_id: str) -> None:
    """Delete every connectivity service of a service; nothing to do without a WIM."""
    await release_links(wim, connectivity_prefix(service_id))
