"""Properties of the WIM on random WANs under random sequences of creates, deletes and restarts.

- Booked bandwidth never exceeds a link's capacity, and equals what the live
  services hold.
- Every route is a real path or tree of the graph: its leaves are endpoints and
  it is within the latency bound between every two endpoints.
- An E-Line is the least-latency path with enough bandwidth, and a refusal
  names the constraint an independent check finds failed.
- After deleting everything, the ledger, the VNI pool and the store are empty.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addressing import IdPool
from spfed.errors import Aborted, FailedPrecondition, ResourceExhausted
from spfed.model import IdRange, WimService
from tests.unit.wim.fakes import MemoryBookingStore, ScriptedDriver
from wim import ConnectionPoint, ConnectivityHandle, ConnectivityRequest, WanGraph, WanLink, Wim

Create = tuple[Literal["create"], tuple[WimService, tuple[int, ...], float, float]]
Delete = tuple[Literal["delete"], int]
Op = Create | Delete
Batch = tuple[list[Op], bool]

_NODES = 7


@st.composite
def _wans(draw: st.DrawFn) -> WanGraph:
    """Up to 7 nodes; mostly joined by a random spanning tree, plus extra (parallel) links."""
    count = draw(st.integers(3, _NODES))
    nodes = [f"n{i}" for i in range(count)]
    ends: list[tuple[int, int]] = []
    if draw(st.integers(0, 4)):
        ends += [(i, draw(st.integers(0, i - 1))) for i in range(1, count)]
    for _ in range(draw(st.integers(0, 8))):
        a = draw(st.integers(0, count - 1))
        ends.append((a, (a + draw(st.integers(1, count - 1))) % count))
    links = [
        WanLink(
            f"l{i}",
            nodes[a],
            nodes[b],
            draw(st.sampled_from([10, 20, 40])),
            draw(st.integers(0, 5)),
        )
        for i, (a, b) in enumerate(ends)
    ]
    return WanGraph(nodes, links)


@st.composite
def _requests(draw: st.DrawFn) -> tuple[WimService, tuple[int, ...], float, float]:
    """Endpoints as indices, mapped onto the nodes of the graph at hand."""
    kind = draw(st.sampled_from(list(WimService)))
    size = 2 if kind is WimService.E_LINE else draw(st.integers(2, 4))
    nodes = tuple(draw(st.lists(st.integers(0, _NODES - 1), min_size=size, max_size=size)))
    return kind, nodes, draw(st.sampled_from([0, 5, 10, 20])), draw(st.sampled_from([0, 2, 6, 12]))


_op: st.SearchStrategy[Op] = st.one_of(
    st.tuples(st.just("create"), _requests()),
    st.tuples(st.just("delete"), st.integers(0, 63)),
)
_batches = st.lists(
    st.tuples(
        # Alone, an operation meets a known ledger and is checked against an independent oracle.
        st.one_of(st.lists(_op, min_size=1, max_size=1), st.lists(_op, min_size=2, max_size=4)),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@dataclass
class _Model:
    graph: WanGraph
    store: MemoryBookingStore = field(default_factory=MemoryBookingStore)
    pool: IdPool = field(default_factory=lambda: IdPool("wim", IdRange(1, 10_000)))
    live: dict[str, ConnectivityHandle] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)

    def wim(self) -> Wim:
        return Wim(self.graph, ScriptedDriver(), self.pool, self.store)


def _multigraph(
    graph: WanGraph, free: Mapping[str, float], need: float | None
) -> nx.MultiGraph[str]:
    """The links with ``need`` free (all links for None), parallel ones kept."""
    multi: nx.MultiGraph[str] = nx.MultiGraph()
    multi.add_nodes_from(graph.nodes)
    for link in graph.links.values():
        if need is None or free[link.id] >= need:
            multi.add_edge(link.a, link.b, key=link.id, latency_ms=link.latency_ms)
    return multi


def _connected(multi: nx.MultiGraph[str], nodes: set[str]) -> bool:
    return nodes <= nx.node_connected_component(multi, next(iter(nodes)))


def _check_route(graph: WanGraph, request: ConnectivityRequest, handle: ConnectivityHandle) -> None:
    terminals = {ep.node for ep in request.endpoints}
    tree: nx.Graph[str] = nx.Graph()
    for segment in handle.segments:
        link = graph.links[segment.link_id]
        assert {segment.a, segment.b} == {link.a, link.b}
        assert not tree.has_edge(segment.a, segment.b)
        tree.add_edge(segment.a, segment.b, latency_ms=link.latency_ms)
    if len(terminals) == 1:
        assert handle.segments == ()
        assert handle.latency_ms == 0
        return
    assert nx.is_tree(tree)
    assert terminals <= set(tree)
    assert {n for n in tree if tree.degree(n) == 1} <= terminals
    worst = max(
        nx.dijkstra_path_length(tree, a, b, weight="latency_ms")
        for a, b in itertools.combinations(terminals, 2)
    )
    assert handle.latency_ms == worst
    assert not request.max_latency_ms or worst <= request.max_latency_ms


def _check_e_line_outcome(
    graph: WanGraph,
    free: Mapping[str, float],
    request: ConnectivityRequest,
    outcome: ConnectivityHandle | Exception,
) -> None:
    """What an independent check expects of an E-Line, from the ``free`` bandwidth before it."""
    a, b = (ep.node for ep in request.endpoints)
    if a == b:
        assert isinstance(outcome, ConnectivityHandle)
        return
    usable = _multigraph(graph, free, request.bandwidth_mbps)
    if _connected(usable, {a, b}):
        best = nx.dijkstra_path_length(usable, a, b, weight="latency_ms")
        if not request.max_latency_ms or best <= request.max_latency_ms:
            assert isinstance(outcome, ConnectivityHandle)
            assert outcome.latency_ms == best
        else:
            assert isinstance(outcome, FailedPrecondition)
            assert [v.field for v in outcome.field_violations] == ["max_latency_ms"]
    elif _connected(_multigraph(graph, free, None), {a, b}):
        assert isinstance(outcome, ResourceExhausted)
        assert all(v.subject.startswith("wan-link:") for v in outcome.quota_violations)
    else:
        assert isinstance(outcome, FailedPrecondition)
        assert [v.field for v in outcome.field_violations] == ["endpoints[1].node"]


async def _create(
    model: _Model, wim: Wim, asked: tuple[WimService, tuple[int, ...], float, float], alone: bool
) -> None:
    kind, indices, mbps, max_ms = asked
    names = sorted(model.graph.nodes)
    request = ConnectivityRequest(
        kind,
        tuple(ConnectionPoint(names[n % len(names)], f"if{i}") for i, n in enumerate(indices)),
        mbps,
        max_ms,
    )
    free = {link: wim.ledger.free(link) for link in model.graph.links}
    outcome: ConnectivityHandle | Exception
    try:
        outcome = await wim.create_connectivity_service(request)
    except (ResourceExhausted, FailedPrecondition) as refused:
        outcome = refused
    if alone and request.type is WimService.E_LINE:
        _check_e_line_outcome(model.graph, free, request, outcome)
    if isinstance(outcome, ConnectivityHandle):
        _check_route(model.graph, request, outcome)
        model.live[outcome.service_id] = outcome
        model.history.append(outcome.service_id)
    elif alone:
        _check_refusal(model.graph, free, request, outcome)


def _check_refusal(
    graph: WanGraph, free: Mapping[str, float], request: ConnectivityRequest, refused: Exception
) -> None:
    """A refusal names the constraint an independent check finds failed."""
    nodes = {ep.node for ep in request.endpoints}
    usable = _connected(_multigraph(graph, free, request.bandwidth_mbps), nodes)
    anyhow = _connected(_multigraph(graph, free, None), nodes)
    if isinstance(refused, ResourceExhausted):
        assert anyhow
        assert not usable
    elif isinstance(refused, FailedPrecondition) and refused.field_violations[0].field.startswith(
        "max_latency_ms"
    ):
        assert usable
    else:
        assert not anyhow


async def _delete(model: _Model, wim: Wim, pick: int) -> None:
    if not model.history:
        return
    service_id = model.history[pick % len(model.history)]
    try:
        await wim.delete_connectivity_service(service_id)
    except Aborted:
        return  # a concurrent delete of the same service is under way
    model.live.pop(service_id, None)


def _check_state(model: _Model, wim: Wim) -> None:
    for link_id, link in model.graph.links.items():
        held = sum(h.bandwidth_mbps for h in model.live.values() if link_id in h.links)
        assert wim.ledger.booked(link_id) == held
        assert held <= link.capacity_mbps
    vnis = [s.vni for h in model.live.values() for s in h.segments]
    assert len(vnis) == len(set(vnis))
    assert set(model.pool.allocated()) == {IdRange(v, v) for v in vnis}
    assert model.store.saved == model.live


async def _scenario(graph: WanGraph, batches: list[Batch]) -> None:
    model = _Model(graph)
    wim = model.wim()
    for ops, restart in batches:
        alone = len(ops) == 1
        await asyncio.gather(
            *(
                _create(model, wim, op[1], alone)
                if op[0] == "create"
                else _delete(model, wim, op[1])
                for op in ops
            )
        )
        if restart:
            model.pool = IdPool("wim", IdRange(1, 10_000))
            wim = model.wim()
            assert {h.service_id for h in await wim.restore()} == set(model.live)
        _check_state(model, wim)
    for service_id in list(model.live):
        await wim.delete_connectivity_service(service_id)
        del model.live[service_id]
    assert wim.ledger.bookings() == []
    assert model.pool.allocated() == {}
    assert model.store.saved == {}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_wans(), _batches)
def test_bookings_routes_and_refusals_hold_under_any_sequence(
    graph: WanGraph, batches: list[Batch]
) -> None:
    asyncio.run(_scenario(graph, batches))
