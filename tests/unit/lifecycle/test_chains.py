"""``spfed.lifecycle.chains``: each unit's upstream and downstream port along a chain."""

from __future__ import annotations

from dataclasses import replace

from lower_sp.local.leaves import PortBinding, port_bindings
from spfed.lifecycle.chains import ChainSide, chain_sides
from spfed.model import ForwardingGraph, split_ref
from tests.unit.upper_sp.builders import link, lookup, nsd, path, ref, vnfd
from upper_sp.graph import ServiceGraph, build_graph

FW, NAT = vnfd("fw"), vnfd("nat", points=("wan", "lan", "mgmt"))


def chain(*hops: str) -> ServiceGraph:
    """in → fw → nat → out, with the path given by ``hops``."""
    service = nsd(
        "chain",
        functions={"fw": ref("fw"), "nat": ref("nat")},
        points=("in", "out", "mgmt"),
        links=[
            link("in-2-fw", "in", "fw:in"),
            link("fw-2-nat", "fw:out", "nat:lan"),
            link("nat-2-out", "nat:wan", "out"),
            link("mgmt", "mgmt", "nat:mgmt"),
        ],
        fgs=[ForwardingGraph("fg", network_forwarding_paths=(path("p", *hops),))],
    )
    return build_graph(service, lookup([FW, NAT]))


def bindings(graph: ServiceGraph, *members: str) -> list[PortBinding]:
    out = []
    for member in graph.members:
        if member.id not in members or member.vnfd is None:
            continue
        external = {}
        for lk in graph.links:
            for r in lk.refs:
                owner, cp = split_ref(r)
                if owner == member.id:
                    external[cp] = lk.id
        out += port_bindings(member.id, member.vnfd, external)
    return out


def test_each_hop_of_the_path_gets_its_entry_upstream_and_its_exit_downstream() -> None:
    graph = chain("in", "fw:in", "fw:out", "nat:lan", "nat:wan", "out")
    assert chain_sides(graph, bindings(graph, "fw", "nat")) == {
        ("fw", "vdu"): ChainSide(upstream="eth0", downstream="eth1"),
        ("nat", "vdu"): ChainSide(upstream="eth1", downstream="eth0"),
    }


def test_a_path_walked_backwards_swaps_the_sides() -> None:
    backwards = chain("out", "nat:wan", "nat:lan", "fw:out", "fw:in", "in")
    assert chain_sides(backwards, bindings(backwards, "fw", "nat")) == {
        ("fw", "vdu"): ChainSide(upstream="eth1", downstream="eth0"),
        ("nat", "vdu"): ChainSide(upstream="eth0", downstream="eth1"),
    }


def test_hops_are_ordered_by_position_not_by_listing() -> None:
    graph = chain("in", "fw:in", "fw:out", "nat:lan", "nat:wan", "out")
    [fg] = graph.forwarding_graphs
    [fp] = fg.network_forwarding_paths
    scrambled = replace(fp, connection_points=tuple(reversed(fp.connection_points)))
    graph = replace(
        graph,
        forwarding_graphs=(replace(fg, network_forwarding_paths=(scrambled,)),),
    )
    assert chain_sides(graph, bindings(graph, "fw"))[("fw", "vdu")] == ChainSide("eth0", "eth1")


def test_functions_not_deployed_here_or_not_crossed_are_left_out() -> None:
    graph = chain("in", "fw:in", "fw:out", "nat:lan", "nat:wan", "out")
    assert chain_sides(graph, bindings(graph, "nat")) == {
        ("nat", "vdu"): ChainSide(upstream="eth1", downstream="eth0")
    }
    only_fw_crossed = chain("in", "fw:in", "fw:out", "nat:lan")
    assert set(chain_sides(only_fw_crossed, bindings(only_fw_crossed, "fw", "nat"))) == {
        ("fw", "vdu")
    }
