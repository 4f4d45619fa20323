"""The operator graph: cycles, levels, start waves, subtrees."""

from __future__ import annotations

import itertools

import pytest

from spfed.topology import _graph

DIAMOND = {"r1": [], "r2": [], "w": ["r1", "r2"], "e": ["w"], "x": ["r2"]}
"""Two top nodes sharing one wholesale SP (a DAG, not a tree)."""


def test_levels_take_the_deepest_parent() -> None:
    parents = {"top": [], "mid": ["top"], "low": ["mid", "top"]}
    assert _graph.levels(parents) == {"top": 1, "mid": 2, "low": 3}


def test_levels_of_a_dag_with_two_top_nodes() -> None:
    assert _graph.levels(DIAMOND) == {"r1": 1, "r2": 1, "w": 2, "e": 3, "x": 2}


def test_children_and_subtree() -> None:
    assert _graph.children_of(DIAMOND, "r2") == ["w", "x"]
    assert _graph.children_of(DIAMOND, "e") == []
    assert _graph.subtree(DIAMOND, "r1") == ["e", "r1", "w"]


def test_start_waves_put_every_lower_sp_before_its_parents() -> None:
    assert _graph.start_waves(DIAMOND) == [["e", "x"], ["w"], ["r1", "r2"]]


def test_top_down_puts_parents_first() -> None:
    assert _graph.top_down(DIAMOND) == ["r1", "r2", "w", "x", "e"]


def test_no_cycle_in_a_dag() -> None:
    assert _graph.find_cycle(DIAMOND) == []


@pytest.mark.parametrize(
    ("parents", "cycle"),
    [
        ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
        ({"a": ["c"], "b": ["a"], "c": ["b"], "d": []}, ["a", "b", "c", "a"]),
        ({"a": ["a"]}, ["a", "a"]),
    ],
)
def test_a_cycle_is_reported_parent_before_child(
    parents: dict[str, list[str]], cycle: list[str]
) -> None:
    found = _graph.find_cycle(parents)
    assert found == cycle
    for upper, lower in itertools.pairwise(found):
        assert upper in parents[lower]


def test_unknown_parents_are_ignored_by_the_cycle_search() -> None:
    assert _graph.find_cycle({"a": ["nobody"]}) == []
    assert _graph.unknown_parents({"a": ["nobody", "a"]}) == [("a", 0, "nobody")]


def test_start_waves_refuse_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        _graph.start_waves({"a": ["b"], "b": ["a"]})
