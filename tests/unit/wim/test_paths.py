"""``compute_route``: least-latency paths and trees, and errors naming the failed constraint."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from spfed.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    QuotaViolation,
    ResourceExhausted,
)
from spfed.model import WimService
from wim import ConnectionPoint, ConnectivityRequest, Hop, Route, WanGraph, WanLink, compute_route

E_LINE, E_LAN = WimService.E_LINE, WimService.E_LAN


def _graph(*links: tuple[str, str, str, float, float], nodes: str = "") -> WanGraph:
    wan_links = [WanLink(*link) for link in links]
    ends = {n for link in wan_links for n in (link.a, link.b)} | set(nodes)
    return WanGraph(sorted(ends), wan_links)


def _request(
    kind: WimService, *nodes: str, mbps: float = 10, max_ms: float = 0
) -> ConnectivityRequest:
    return ConnectivityRequest(kind, tuple(ConnectionPoint(n) for n in nodes), mbps, max_ms)


def _free(graph: WanGraph, booked: Mapping[str, float] | None = None) -> dict[str, float]:
    booked = booked or {}
    return {i: link.capacity_mbps - booked.get(i, 0) for i, link in graph.links.items()}


# a -1- b -1- c is fast; a -5- c is direct but slow; c -1- d.
DIAMOND = _graph(
    ("ab", "a", "b", 100, 1),
    ("bc", "b", "c", 100, 1),
    ("ac", "a", "c", 100, 5),
    ("cd", "c", "d", 20, 1),
)


def test_an_e_line_takes_the_least_latency_path_in_order() -> None:
    route = compute_route(DIAMOND, _request(E_LINE, "a", "d"), _free(DIAMOND).__getitem__)
    assert route == Route((Hop("ab", "a", "b"), Hop("bc", "b", "c"), Hop("cd", "c", "d")), 3)


def test_an_e_line_avoids_links_without_free_bandwidth() -> None:
    free = _free(DIAMOND, {"ab": 95})
    route = compute_route(DIAMOND, _request(E_LINE, "d", "a"), free.__getitem__)
    assert route == Route((Hop("cd", "d", "c"), Hop("ac", "c", "a")), 6)


def test_exactly_the_free_bandwidth_is_enough() -> None:
    free = _free(DIAMOND, {"cd": 10})
    route = compute_route(DIAMOND, _request(E_LINE, "c", "d", mbps=10), free.__getitem__)
    assert route.hops == (Hop("cd", "c", "d"),)


def test_missing_bandwidth_is_resource_exhausted_naming_the_blocking_links() -> None:
    free = _free(DIAMOND, {"cd": 15})
    with pytest.raises(ResourceExhausted) as caught:
        compute_route(DIAMOND, _request(E_LINE, "a", "d", mbps=10), free.__getitem__)
    assert caught.value.quota_violations == (
        QuotaViolation("wan-link:cd", "10 Mbps asked; 5 of 20 Mbps free"),
    )


def test_only_links_full_on_every_parallel_are_named() -> None:
    graph = _graph(
        ("ab1", "a", "b", 10, 1),
        ("ab2", "a", "b", 10, 2),
        ("bc1", "b", "c", 10, 1),
        ("bc2", "b", "c", 50, 9),
    )
    free = _free(graph, {"ab1": 10, "ab2": 5, "bc1": 10})
    with pytest.raises(ResourceExhausted) as caught:
        compute_route(graph, _request(E_LINE, "a", "c", mbps=10), free.__getitem__)
    assert [v.subject for v in caught.value.quota_violations] == [
        "wan-link:ab1",
        "wan-link:ab2",
    ]
    # With room on one of a-b's parallel links, the slow b-c link carries it.
    free["ab2"] = 10
    route = compute_route(graph, _request(E_LINE, "a", "c", mbps=10), free.__getitem__)
    assert route == Route((Hop("ab2", "a", "b"), Hop("bc2", "b", "c")), 11)


def test_a_latency_bound_too_tight_is_failed_precondition_with_the_best_latency() -> None:
    free = _free(DIAMOND, {"ab": 95})
    with pytest.raises(FailedPrecondition) as caught:
        compute_route(DIAMOND, _request(E_LINE, "a", "d", max_ms=4), free.__getitem__)
    assert caught.value.field_violations == (
        FieldViolation(
            "max_latency_ms",
            "4 ms asked; the best route with 10 Mbps free has 6 ms between endpoints",
        ),
    )
    route = compute_route(DIAMOND, _request(E_LINE, "a", "d", max_ms=6), free.__getitem__)
    assert route.latency_ms == 6


def test_bandwidth_is_reported_before_latency() -> None:
    free = _free(DIAMOND, {"cd": 15})
    with pytest.raises(ResourceExhausted):
        compute_route(DIAMOND, _request(E_LINE, "a", "d", max_ms=1), free.__getitem__)


def test_disconnected_endpoints_are_failed_precondition_naming_them() -> None:
    graph = _graph(("ab", "a", "b", 100, 1), nodes="xy")
    with pytest.raises(FailedPrecondition) as caught:
        compute_route(graph, _request(E_LAN, "a", "x", "b", "y"), _free(graph).__getitem__)
    assert [v.field for v in caught.value.field_violations] == [
        "endpoints[1].node",
        "endpoints[3].node",
    ]
    assert not caught.value.quota_violations


def test_endpoints_on_one_node_need_no_link() -> None:
    request = ConnectivityRequest(
        E_LINE, (ConnectionPoint("a", "eth1"), ConnectionPoint("a", "eth2")), 1_000_000
    )
    assert compute_route(DIAMOND, request, _free(DIAMOND).__getitem__) == Route((), 0)


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (_request(E_LINE, "a"), ["endpoints"]),
        (_request(E_LINE, "a", "b", "c"), ["endpoints"]),
        (_request(E_LAN, "a"), ["endpoints"]),
        (_request(E_LINE, "a", "nowhere"), ["endpoints[1].node"]),
        (_request(E_LINE, "a", "b", mbps=-1), ["bandwidth_mbps"]),
        (_request(E_LINE, "a", "b", mbps=float("nan")), ["bandwidth_mbps"]),
        (_request(E_LINE, "a", "b", max_ms=-1), ["max_latency_ms"]),
        (_request(E_LINE, "a", "b", max_ms=float("inf")), ["max_latency_ms"]),
        (
            ConnectivityRequest(E_LINE, (ConnectionPoint("a", vlan=4095), ConnectionPoint("b")), 1),
            ["endpoints[0].vlan"],
        ),
        (
            ConnectivityRequest(E_LAN, (ConnectionPoint("a", "e1", 7),) * 2, 1),
            ["endpoints[1]"],
        ),
    ],
)
def test_malformed_requests_are_invalid_argument(
    request_: ConnectivityRequest, fields: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        compute_route(DIAMOND, request_, _free(DIAMOND).__getitem__)
    assert [v.field for v in caught.value.field_violations] == fields


# Four endpoints on a ring (10 ms per side) around a hub (8 ms per spoke).
RING = _graph(
    ("ab", "a", "b", 100, 10),
    ("bc", "b", "c", 100, 10),
    ("cd", "c", "d", 100, 10),
    ("da", "d", "a", 100, 10),
    *((f"h{n}", "h", n, 100, 8) for n in "abcd"),
)


def _assert_tree(route: Route, graph: WanGraph, terminals: set[str]) -> None:
    reached = {route.hops[0].a} if route.hops else set()
    for hop in route.hops:
        link = graph.links[hop.link_id]
        assert {hop.a, hop.b} == {link.a, link.b}
        assert hop.a in reached, "breadth first: each hop starts where the tree already is"
        assert hop.b not in reached, "a tree has no cycle"
        reached.add(hop.b)
    assert terminals <= reached


def test_an_e_lan_takes_a_tree_of_least_total_latency() -> None:
    route = compute_route(RING, _request(E_LAN, "a", "b", "c", "d"), _free(RING).__getitem__)
    _assert_tree(route, RING, set("abcd"))
    assert route.hops[0].a == "a"
    assert len(route.hops) == 3
    assert route.latency_ms == 30


def test_an_e_lan_under_a_tight_bound_takes_a_tree_that_meets_it() -> None:
    # The least-total tree (three ring sides) has 30 ms between its ends; the
    # tree of least-latency paths from a (two sides and two spokes) has 26.
    request = _request(E_LAN, "a", "b", "c", "d", max_ms=27)
    route = compute_route(RING, request, _free(RING).__getitem__)
    _assert_tree(route, RING, set("abcd"))
    assert route.latency_ms == 26
    assert {h.link_id for h in route.hops} == {"ab", "da", "ha", "hc"}


def test_an_e_lan_no_tree_meets_names_the_best_and_the_floor() -> None:
    request = _request(E_LAN, "a", "b", "c", "d", max_ms=20)
    with pytest.raises(FailedPrecondition) as caught:
        compute_route(RING, request, _free(RING).__getitem__)
    assert caught.value.field_violations == (
        FieldViolation(
            "max_latency_ms",
            "20 ms asked; the best route with 10 Mbps free has 26 ms between endpoints"
            " (and no tree can have less than 16 ms)",
        ),
    )


def test_an_e_lan_short_of_bandwidth_names_the_blocking_links() -> None:
    free = _free(RING, {"cd": 95, "hd": 95, "da": 95})
    with pytest.raises(ResourceExhausted) as caught:
        compute_route(RING, _request(E_LAN, "a", "b", "d"), free.__getitem__)
    subjects = {v.subject for v in caught.value.quota_violations}
    assert subjects
    assert subjects <= {"wan-link:cd", "wan-link:hd", "wan-link:da"}


def test_an_e_lan_joins_endpoints_sharing_a_node_once() -> None:
    request = ConnectivityRequest(
        E_LAN,
        (ConnectionPoint("a", "e1"), ConnectionPoint("a", "e2"), ConnectionPoint("b")),
        1,
    )
    route = compute_route(RING, request, _free(RING).__getitem__)
    assert route == Route((Hop("ab", "a", "b"),), 10)
