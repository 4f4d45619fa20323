"""The WAN side of a slice link: the WAN nodes behind its two ports, and their connectivity.

A slice link joins a point of one service to a point of another. Each point's
port sits in one top-level part of its service: on an own PoP (the WAN node
is that PoP) or delegated to a lower SP (the WAN node is the border point
whose ``peer`` is that lower SP). The part is found by the address the
service reported for the point. When the two WAN nodes differ, the node's
WIM joins them with an E-Line whose endpoints name the link's layer-2 domain
(the bridge labelled by its VNI), with id ``slice:<slice id>/<link id>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from spfed.config import BorderConfig
from spfed.lifecycle.wan import book_link, border_to_lower, release_links
from spfed.model import PartKind, ServiceRecord
from wim import Wim

__all__ = [
    "book_slice_link",
    "release_slice_links",
    "slice_connectivity_id",
    "slice_connectivity_prefix",
    "wan_node_of",
]


def slice_connectivity_prefix(slice_id: str) -> str:
    """What every WIM connectivity id of a slice starts with."""
    return f"slice:{slice_id}/"


def slice_connectivity_id(slice_id: str, link_id: str) -> str:
    """The WIM's id of the connectivity service carrying a slice link."""
    return f"{slice_connectivity_prefix(slice_id)}{link_id}"


def wan_node_of(record: ServiceRecord, point: str, borders: Sequence[BorderConfig]) -> str:
    """The WAN node behind a service's own point ("" when the service reported no port
    on it, e.g. no address was planned there).

    ``record`` is the service with its tree (delegated parts' remote views).

    Raises:
        FailedPrecondition: the port is delegated to a lower SP that no border leads to.
    """
    assigned = next((a for a in record.assignments if a.connection_point == point), None)
    if assigned is None or not assigned.address:
        return ""
    part = record.part_holding(assigned.address)
    if part is None:
        return ""
    if part.kind is PartKind.LOCAL:
        return part.pop
    return border_to_lower(part.lower_sp, borders, f"point {point} of service {record.id}")


async def book_slice_link(
    wim: Wim, slice_id: str, link_id: str, nodes: tuple[str, str], vni: int, bandwidth: float
) -> str:
    """Join two WAN nodes for a slice link; its connectivity id ("" when both ports sit
    at one WAN node and there is nothing to join). Repeating it is harmless.

    Raises:
        ResourceExhausted: a WAN link lacks the bandwidth, or the VNIs ran out.
        FailedPrecondition: no path within the latency bound, or none at all.
    """
    if not nodes[0] or not nodes[1] or nodes[0] == nodes[1]:
        return ""
    cid = slice_connectivity_id(slice_id, link_id)
    await book_link(wim, cid, nodes, vni, bandwidth)
    return cid


async def release_slice_links(wim: Wim | None, slice_id: str) -> None:
    """Delete every connectivity service of a slice (idempotent; nothing without a WIM)."""
    await release_links(wim, slice_connectivity_prefix(slice_id))
