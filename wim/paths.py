"""Routes for connectivity services under bandwidth and latency constraints.

Only links with enough *free* bandwidth (capacity minus what is booked) may
carry a service. On those:

- an **E-Line** takes the least-latency path between its two endpoints
  (Dijkstra);
- an **E-LAN** takes a tree joining its endpoints: the Steiner tree of least
  total latency (Mehlhorn's 2-approximation). That tree minimises the sum, not
  the worst pair, so when it breaks the latency bound the least-latency tree
  rooted at each endpoint is tried before giving up.

The latency bound holds between every two endpoints along the route. When no
route fits, the error says which constraint failed:

- ``ResourceExhausted``: a route exists ignoring bandwidth, but not with it.
  One ``QuotaViolation`` (subject ``wan-link:<id>``) per link that blocks the
  route of least latency ignoring bandwidth.
- ``FailedPrecondition`` with a field violation on ``max_latency_ms``: routes
  with enough bandwidth exist, but none within the bound; it gives the best
  latency found.
- ``FailedPrecondition`` with a field violation per unreachable endpoint: the
  endpoints are not connected at all.
- ``InvalidArgument``: the request is malformed, e.g. an endpoint is not a node
  of the graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import cast

import networkx as nx
from networkx.algorithms.approximation import steiner_tree

from spfed.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    QuotaViolation,
    ResourceExhausted,
)
from spfed.model import WimService
from wim.graph import WanGraph, WanLink
from wim.services import ConnectivityRequest

__all__ = ["FreeBandwidth", "Hop", "Route", "compute_route"]

FreeBandwidth = Callable[[str], float]
"""Free bandwidth of a link (Mbit/s), by link id."""

_WEIGHT = "latency_ms"
_MAX_VLAN = 4094


@dataclass(frozen=True)
class Hop:
    """One link of a route, oriented away from the first endpoint."""

    link_id: str
    """The WAN link."""
    a: str
    """The end nearer the first endpoint."""
    b: str
    """The other end."""


@dataclass(frozen=True)
class Route:
    """The links a service would take."""

    hops: tuple[Hop, ...]
    """E-Line: the path in order. E-LAN: the tree, breadth first from the first endpoint."""
    latency_ms: float
    """Worst one-way latency between two endpoints along the hops."""


def compute_route(graph: WanGraph, request: ConnectivityRequest, free: FreeBandwidth) -> Route:
    """The route ``request`` takes on ``graph`` when links have ``free`` bandwidth.

    Endpoints on the same node need no link: all on one node is an empty route.

    Raises:
        InvalidArgument: the request is malformed (endpoint count, unknown node,
            VLAN id, negative or non-finite figures).
        ResourceExhausted: only bandwidth is missing; names the blocking links.
        FailedPrecondition: no route is within ``max_latency_ms`` (field
            violation on it), or the endpoints are not connected.
    """
    _check(graph, request)
    terminals = list(dict.fromkeys(ep.node for ep in request.endpoints))
    if len(terminals) == 1:
        return Route((), 0.0)
    need = request.bandwidth_mbps
    usable = graph.topology(lambda link: free(link.id) >= need)
    component = nx.node_connected_component(usable, terminals[0])
    if not all(t in component for t in terminals):
        raise _blocked(graph, request, terminals, free)
    # ``usable`` is ours: pruning it in place keeps the searches off a slower subgraph view.
    usable.remove_nodes_from([n for n in graph.nodes if n not in component])
    if request.type is WimService.E_LINE:
        return _path(usable, terminals, request)
    return _tree(usable, terminals, request)


def _check(graph: WanGraph, request: ConnectivityRequest) -> None:
    violations = []
    count = len(request.endpoints)
    if request.type is WimService.E_LINE and count != 2:
        violations.append(
            FieldViolation("endpoints", f"an E-Line joins exactly 2 endpoints, not {count}")
        )
    elif count < 2:
        violations.append(
            FieldViolation("endpoints", f"an E-LAN joins at least 2 endpoints, not {count}")
        )
    seen: dict[tuple[str, str, int], int] = {}
    for i, ep in enumerate(request.endpoints):
        if ep.node not in graph:
            violations.append(FieldViolation(f"endpoints[{i}].node", f"unknown node '{ep.node}'"))
        if not 0 <= ep.vlan <= _MAX_VLAN:
            violations.append(FieldViolation(f"endpoints[{i}].vlan", f"{ep.vlan} is not 0-4094"))
        key = (ep.node, ep.interface, ep.vlan)
        if key in seen:
            violations.append(FieldViolation(f"endpoints[{i}]", f"repeats endpoints[{seen[key]}]"))
        seen.setdefault(key, i)
    for name, value in (
        ("bandwidth_mbps", request.bandwidth_mbps),
        ("max_latency_ms", request.max_latency_ms),
    ):
        if not (math.isfinite(value) and value >= 0):
            violations.append(FieldViolation(name, f"{value} is not ≥ 0"))
    if violations:
        raise InvalidArgument("invalid connectivity request", field_violations=violations)


def _route(tree: nx.Graph[str], terminals: Sequence[str]) -> Route:
    """The route along ``tree``, a tree joining ``terminals`` (a path for two)."""
    hops = tuple(Hop(tree[a][b]["link"], a, b) for a, b in nx.bfs_edges(tree, terminals[0]))
    worst = 0.0
    for t in terminals[:-1]:
        lengths = nx.single_source_dijkstra_path_length(tree, t, weight=_WEIGHT)
        worst = max(worst, *(lengths[u] for u in terminals))
    return Route(hops, worst)


def _path(region: nx.Graph[str], terminals: list[str], request: ConnectivityRequest) -> Route:
    latency, nodes = nx.bidirectional_dijkstra(region, terminals[0], terminals[1], weight=_WEIGHT)
    bound = request.max_latency_ms
    if bound and latency > bound:
        raise _too_slow(request, latency)
    return _route(region.edge_subgraph(pairwise(nodes)), terminals)


def _tree(region: nx.Graph[str], terminals: list[str], request: ConnectivityRequest) -> Route:
    steiner = steiner_tree(region, terminals, weight=_WEIGHT, method="mehlhorn")
    route = _route(steiner, terminals)
    bound = request.max_latency_ms
    if not bound or route.latency_ms <= bound:
        return route
    # Fallback candidates: for each endpoint, the tree of least-latency paths from it.
    candidates = [(steiner.size(weight=_WEIGHT), route)]
    floor = 0.0
    for root in terminals:
        # Without a target it returns (lengths, paths); the stubs do not overload on that.
        lengths, paths = cast(
            "tuple[dict[str, float], dict[str, list[str]]]",
            nx.single_source_dijkstra(region, root, weight=_WEIGHT),
        )
        floor = max(floor, *(lengths[t] for t in terminals))
        tree = region.edge_subgraph(e for t in terminals for e in pairwise(paths[t]))
        candidates.append((tree.size(weight=_WEIGHT), _route(tree, terminals)))
    fitting = [c for c in candidates if c[1].latency_ms <= bound]
    if fitting:
        return min(fitting, key=lambda c: (c[0], len(c[1].hops)))[1]
    best = min(c[1].latency_ms for c in candidates)
    raise _too_slow(request, best, floor)


def _too_slow(
    request: ConnectivityRequest, best: float, floor: float | None = None
) -> FailedPrecondition:
    need, bound = request.bandwidth_mbps, request.max_latency_ms
    description = (
        f"{bound:g} ms asked; the best route with {need:g} Mbps free has {best:g} ms"
        " between endpoints"
    )
    if floor is not None:
        description += f" (and no tree can have less than {floor:g} ms)"
    return FailedPrecondition(
        f"no route with {need:g} Mbps free is within {bound:g} ms (best: {best:g} ms)",
        field_violations=[FieldViolation("max_latency_ms", description)],
    )


def _blocked(
    graph: WanGraph, request: ConnectivityRequest, terminals: list[str], free: FreeBandwidth
) -> FailedPrecondition | ResourceExhausted:
    """Why ``terminals`` are not connected by links with enough free bandwidth."""
    everything = graph.topology()
    component = nx.node_connected_component(everything, terminals[0])
    apart = {t for t in terminals if t not in component}
    if apart:
        return FailedPrecondition(
            f"endpoints on {sorted(apart)} are not connected to '{terminals[0]}' by any WAN link",
            field_violations=[
                FieldViolation(f"endpoints[{i}].node", f"not connected to '{terminals[0]}'")
                for i, ep in enumerate(request.endpoints)
                if ep.node in apart
            ],
        )
    region = everything.subgraph(component)
    if request.type is WimService.E_LINE:
        nodes = nx.dijkstra_path(region, terminals[0], terminals[1], weight=_WEIGHT)
        pairs = list(pairwise(nodes))
    else:
        pairs = list(steiner_tree(region, terminals, weight=_WEIGHT, method="mehlhorn").edges)
    need = request.bandwidth_mbps
    full: list[WanLink] = []
    for a, b in pairs:
        parallel = graph.between(a, b)
        if all(free(link.id) < need for link in parallel):
            full += parallel
    return ResourceExhausted(
        f"no route has {need:g} Mbps free on every link; the least-latency route ignoring "
        f"bandwidth is full on {', '.join(link.id for link in full)}",
        quota_violations=[
            QuotaViolation(
                f"wan-link:{link.id}",
                f"{need:g} Mbps asked; {free(link.id):g} of {link.capacity_mbps:g} Mbps free",
            )
            for link in full
        ],
    )
