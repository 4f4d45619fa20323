"""Which port of a function faces the start of its chain, and which the end.

A forwarding path lists connection points in order: the service's ingress, then
for each function the point where traffic enters it and the point where it
leaves, then the egress. A function that a path enters and leaves through two
points of the same unit is a hop of the chain: that unit's port behind the
entry point is its *upstream* port, the one behind the exit point its
*downstream* port. A VIM that runs functions as routers (the netns
data plane) uses them to forward along the chain without knowing any address
beyond its own links.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from lower_sp.local.leaves import PortBinding
from spfed.model import split_ref
from upper_sp.graph import ServiceGraph

__all__ = ["ChainSide", "chain_sides"]


@dataclass(frozen=True)
class ChainSide:
    """A unit's two ports along a chain, as unit connection point ids."""

    upstream: str
    """Where traffic from the chain's ingress arrives."""
    downstream: str
    """Where traffic toward the chain's egress leaves."""


def chain_sides(
    graph: ServiceGraph, bindings: Sequence[PortBinding]
) -> dict[tuple[str, str], ChainSide]:
    """``(member, unit)`` → its chain ports, for every unit one forwarding path enters and
    leaves through two of its own points; units of other shapes are left out.

    ``bindings`` are the port bindings of the functions deployed here; a function
    not among them (delegated) is skipped.
    """
    link_of = {(member, cp): link.id for link in graph.links for member, cp in _refs(link.refs)}
    unit_of = {(b.member, b.link): b for b in bindings}
    out: dict[tuple[str, str], ChainSide] = {}
    for fg in graph.forwarding_graphs:
        for path in fg.network_forwarding_paths:
            ordered = sorted(path.connection_points, key=lambda h: h.position)
            hops = [h.connection_point_ref for h in ordered]
            for entry, exit_ in pairwise(hops):
                member, cp_in = split_ref(entry)
                other, cp_out = split_ref(exit_)
                if member is None or member != other or cp_in == cp_out:
                    continue
                link_in, link_out = link_of.get((member, cp_in)), link_of.get((member, cp_out))
                came = unit_of.get((member, link_in)) if link_in else None
                goes = unit_of.get((member, link_out)) if link_out else None
                if came is None or goes is None or came.unit != goes.unit:
                    continue
                out[(member, came.unit)] = ChainSide(came.cp, goes.cp)
    return out


def _refs(refs: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for ref in refs:
        member, cp = split_ref(ref)
        if member is not None:
            out.append((member, cp))
    return out
