"""``spfed.topology.dataplane``: what ``dataplane: netns`` sets on every operator."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from addressing import parse_id_range
from spfed.netns.names import check_prefix
from spfed.topology import OperatorPaths, node_config_data, parse_topology
from spfed.topology.dataplane import (
    VNIS_PER_OPERATOR,
    dataplane_sections,
    netns_prefix,
    pop_options,
)
from spfed.topology.model import Topology
from tests.unit.topology.builders import BASE, operator, topology

WIM = {"wim": {"enabled": True}}


def lab(dataplane: str = "netns", **operators: object) -> Topology:
    data = (
        topology("lab", **operators)
        if operators
        else topology("lab", top=operator(settings=WIM), a=operator("top"), b=operator("top"))
    )
    data["dataplane"] = dataplane
    return parse_topology(data, base=BASE, source="lab.yaml")


def test_without_a_data_plane_nothing_is_added() -> None:
    plain = lab("none")
    assert plain.dataplane == "none"
    assert dataplane_sections(plain, "a") == {}
    assert pop_options(plain, "a") == {}
    assert parse_topology(topology("t", a=operator()), base=BASE, source="t").dataplane == "none"


def test_every_operator_shares_one_prefix_and_gets_disjoint_vnis() -> None:
    t = lab()
    prefix = netns_prefix("lab")
    assert check_prefix(prefix) == prefix
    assert netns_prefix("lab") != netns_prefix("lab2")
    ranges = []
    for op in ("a", "b", "top"):
        sections = dataplane_sections(t, op)
        assert sections["wim"]["driver"] == "netns"
        assert sections["wim"]["netns_prefix"] == prefix
        ranges += [
            parse_id_range(sections["addressing"]["vni_pool"]),
            parse_id_range(sections["wim"]["vni_pool"]),
        ]
        assert pop_options(t, op) == {"netns": "on", "netns_prefix": prefix, "netns_node": op}
    spans = sorted((r.first, r.last) for r in ranges)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    assert sum(last - first + 1 for first, last in spans) == 3 * VNIS_PER_OPERATOR


def test_the_node_config_carries_it_and_settings_still_win(tmp_path: Path) -> None:
    t = lab()
    lowers = {"a": "127.0.0.1:9", "b": "127.0.0.1:10"}
    data = node_config_data(t, "top", OperatorPaths.under(tmp_path, "top"), lowers, None)
    assert data["wim"]["enabled"] is True  # from the operator's settings
    assert data["wim"]["driver"] == "netns"
    assert data["pops"][0]["options"]["netns"] == "on"
    own = lab(top=operator(settings={"addressing": {"vni_pool": "5-9"}}))
    data = node_config_data(own, "top", OperatorPaths.under(tmp_path, "top"), {}, None)
    assert data["addressing"]["vni_pool"] == "5-9"


def test_too_many_operators_for_the_vni_space_are_refused() -> None:
    many = {f"op{i:02d}": operator() for i in range(17)}
    t = lab(**many)
    with pytest.raises(ValueError, match="at most 15 operators"):
        dataplane_sections(t, "op16")
