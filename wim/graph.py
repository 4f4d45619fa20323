"""The WAN of one node: its PoPs and border points, and the links between them.

Nodes are ids (a PoP name or a border point id); links are undirected and carry
a capacity, a latency and an id. Two nodes may be joined by parallel links.
The graph is validated once, when it is built, and never changes afterwards;
what is booked on the links lives in the admission ledger, not here.

The links are held in a ``networkx.MultiGraph`` keyed by link id. Path search
works on ``topology()``, a simple graph with one edge per joined pair of
nodes, because the networkx algorithms used (Dijkstra, Steiner trees) weigh
one edge per pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import networkx as nx

from spfed.errors import FieldViolation, InvalidArgument

__all__ = ["WanGraph", "WanLink"]


@dataclass(frozen=True)
class WanLink:
    """One undirected WAN link between two nodes."""

    id: str
    """Link id, unique in the graph; errors name the link ``wan-link:<id>``."""
    a: str
    """One end: a node of the graph."""
    b: str
    """The other end: another node of the graph."""
    capacity_mbps: float
    """Bandwidth services can book on it (Mbit/s, > 0), the same in both directions."""
    latency_ms: float
    """One-way latency across it (ms, ≥ 0)."""


def _node_violations(nodes: tuple[str, ...]) -> list[FieldViolation]:
    violations = []
    first: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if not node:
            violations.append(FieldViolation(f"nodes[{i}]", "a node id must not be empty"))
        elif node in first:
            violations.append(
                FieldViolation(f"nodes[{i}]", f"'{node}' repeats nodes[{first[node]}]")
            )
        else:
            first[node] = i
    return violations


def _link_violations(nodes: frozenset[str], links: tuple[WanLink, ...]) -> list[FieldViolation]:
    violations = []
    first: dict[str, int] = {}
    for i, link in enumerate(links):
        where = f"links[{i}]"
        if not link.id:
            violations.append(FieldViolation(f"{where}.id", "a link id must not be empty"))
        elif link.id in first:
            violations.append(
                FieldViolation(f"{where}.id", f"'{link.id}' repeats links[{first[link.id]}]")
            )
        else:
            first[link.id] = i
        for end in ("a", "b"):
            node = getattr(link, end)
            if node not in nodes:
                violations.append(FieldViolation(f"{where}.{end}", f"unknown node '{node}'"))
        if link.a == link.b:
            violations.append(FieldViolation(f"{where}.b", f"the link loops on '{link.a}'"))
        if not (math.isfinite(link.capacity_mbps) and link.capacity_mbps > 0):
            violations.append(
                FieldViolation(f"{where}.capacity_mbps", f"{link.capacity_mbps} is not > 0")
            )
        if not (math.isfinite(link.latency_ms) and link.latency_ms >= 0):
            violations.append(
                FieldViolation(f"{where}.latency_ms", f"{link.latency_ms} is not ≥ 0")
            )
    return violations


class WanGraph:
    """A validated, immutable WAN graph.

    Raises:
        InvalidArgument: from the constructor, with one field violation per
            problem: an empty or repeated node id, an empty or repeated link
            id, a link end that is not a node, a link from a node to itself,
            a capacity that is not > 0 or a latency that is not ≥ 0.
    """

    def __init__(self, nodes: Iterable[str], links: Iterable[WanLink]) -> None:
        node_ids = tuple(nodes)
        wan_links = tuple(links)
        violations = _node_violations(node_ids) + _link_violations(frozenset(node_ids), wan_links)
        if violations:
            raise InvalidArgument("invalid WAN graph", field_violations=violations)
        graph: nx.MultiGraph[str] = nx.MultiGraph()
        graph.add_nodes_from(node_ids)
        for link in wan_links:
            graph.add_edge(link.a, link.b, key=link.id)
        self._graph = nx.freeze(graph)
        self._links = MappingProxyType({link.id: link for link in wan_links})
        # Fastest first, so the first accepted link of a pair is its edge in ``topology``.
        self._by_latency = tuple(
            (frozenset((link.a, link.b)), link)
            for link in sorted(wan_links, key=lambda link: (link.latency_ms, link.id))
        )
        self._full = nx.freeze(self._simple(lambda _link: True))

    @property
    def nodes(self) -> frozenset[str]:
        """Every node id."""
        return frozenset(self._graph)

    @property
    def links(self) -> Mapping[str, WanLink]:
        """Every link, by id (read-only)."""
        return self._links

    def __contains__(self, node: object) -> bool:
        return node in self._graph

    def between(self, a: str, b: str) -> tuple[WanLink, ...]:
        """The links joining ``a`` and ``b`` (parallel links), least latency first."""
        if not self._graph.has_edge(a, b):
            return ()
        return tuple(
            sorted(
                (self._links[key] for key in self._graph[a][b]),
                key=lambda link: (link.latency_ms, link.id),
            )
        )

    def topology(self, keep: Callable[[WanLink], bool] | None = None) -> nx.Graph[str]:
        """A simple graph of the links ``keep`` accepts (all links without it).

        Every node is in it. Of parallel links, the edge is the accepted one with
        the least latency (then the smallest id). Edge data: ``latency_ms`` and
        ``link`` (the link id). The graph without ``keep`` is shared and frozen;
        one built for ``keep`` is new.
        """
        return self._full if keep is None else self._simple(keep)

    def _simple(self, keep: Callable[[WanLink], bool]) -> nx.Graph[str]:
        chosen: dict[frozenset[str], WanLink] = {}
        for pair, link in self._by_latency:
            if pair not in chosen and keep(link):
                chosen[pair] = link
        simple: nx.Graph[str] = nx.Graph()
        simple.add_nodes_from(self._graph)
        simple.add_edges_from(
            (link.a, link.b, {"latency_ms": link.latency_ms, "link": link.id})
            for link in chosen.values()
        )
        return simple
