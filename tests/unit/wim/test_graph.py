"""``WanGraph``: validation with field violations, parallel links, the simple topology."""

from __future__ import annotations

import networkx as nx
import pytest

from spfed.errors import FieldViolation, InvalidArgument
from wim import WanGraph, WanLink


def test_a_valid_graph_keeps_its_nodes_and_links() -> None:
    links = [WanLink("ab", "a", "b", 100, 2), WanLink("bc", "b", "c", 10, 0)]
    graph = WanGraph(["a", "b", "c", "lonely"], links)
    assert graph.nodes == {"a", "b", "c", "lonely"}
    assert dict(graph.links) == {"ab": links[0], "bc": links[1]}
    assert "lonely" in graph
    assert "x" not in graph
    assert graph.between("b", "a") == (links[0],)
    assert graph.between("a", "c") == ()


def test_every_problem_is_one_field_violation() -> None:
    with pytest.raises(InvalidArgument) as caught:
        WanGraph(
            ["a", "b", "", "a"],
            [
                WanLink("ab", "a", "b", 100, 1),
                WanLink("ab", "a", "b", 100, 1),
                WanLink("ax", "a", "x", 100, 1),
                WanLink("aa", "a", "a", 100, 1),
                WanLink("", "a", "b", 0, -1),
                WanLink("nan", "a", "b", float("nan"), float("inf")),
            ],
        )
    assert caught.value.field_violations == (
        FieldViolation("nodes[2]", "a node id must not be empty"),
        FieldViolation("nodes[3]", "'a' repeats nodes[0]"),
        FieldViolation("links[1].id", "'ab' repeats links[0]"),
        FieldViolation("links[2].b", "unknown node 'x'"),
        FieldViolation("links[3].b", "the link loops on 'a'"),
        FieldViolation("links[4].id", "a link id must not be empty"),
        FieldViolation("links[4].capacity_mbps", "0 is not > 0"),
        FieldViolation("links[4].latency_ms", "-1 is not ≥ 0"),
        FieldViolation("links[5].capacity_mbps", "nan is not > 0"),
        FieldViolation("links[5].latency_ms", "inf is not ≥ 0"),
    )


def test_parallel_links_collapse_to_the_fastest_accepted_one() -> None:
    slow, fast = WanLink("slow", "a", "b", 100, 5), WanLink("fast", "b", "a", 10, 1)
    graph = WanGraph(["a", "b"], [slow, fast])
    assert graph.between("a", "b") == (fast, slow)
    assert graph.topology()["a"]["b"] == {"latency_ms": 1, "link": "fast"}
    roomy = graph.topology(lambda link: link.capacity_mbps >= 50)
    assert roomy["a"]["b"] == {"latency_ms": 5, "link": "slow"}
    assert set(graph.topology(lambda link: False).nodes) == {"a", "b"}
    assert graph.topology(lambda link: False).number_of_edges() == 0


def test_equal_latency_parallel_links_pick_the_smallest_id() -> None:
    graph = WanGraph(["a", "b"], [WanLink("z", "a", "b", 1, 1), WanLink("m", "a", "b", 1, 1)])
    assert graph.topology()["a"]["b"]["link"] == "m"


def test_the_full_topology_is_shared_and_frozen() -> None:
    graph = WanGraph(["a", "b"], [WanLink("ab", "a", "b", 1, 1)])
    assert graph.topology() is graph.topology()
    with pytest.raises(nx.NetworkXError, match="Frozen"):
        graph.topology().add_edge("a", "c")
