"""What the emulated PoP plans to build for a server with netns on: names, peers, chain ports."""

from __future__ import annotations

import ipaddress

import pytest

from lower_sp.local.vim import CHAIN_DOWNSTREAM_KEY, CHAIN_UPSTREAM_KEY
from lower_sp.local.vim._subnet import SubnetPlan
from lower_sp.local.vim.emulated._netns_plan import plan_vnf
from lower_sp.local.vim.emulated._pop_state import NetworkRecord, PortRecord
from spfed.errors import InvalidArgument

CHAIN = {CHAIN_UPSTREAM_KEY: "in", CHAIN_DOWNSTREAM_KEY: "out"}


def _network(cidr: str, vni: int, *, mtu: int = 0) -> NetworkRecord:
    point_to_point = ipaddress.ip_network(cidr).num_addresses == 2
    subnet = SubnetPlan.parse(cidr, point_to_point=point_to_point)
    return NetworkRecord(f"net{vni}", f"sub{vni}", f"n{vni}", subnet, vni, mtu=mtu)


def _port(name: str, network: NetworkRecord, address: str) -> tuple[PortRecord, NetworkRecord]:
    port = PortRecord(f"port-{name}", network.id, name, int(ipaddress.ip_address(address)), "")
    return port, network


def test_interfaces_follow_the_port_order_with_their_peers() -> None:
    p2p, p2p6, lan = (
        _network("10.0.0.0/31", 7, mtu=1400),
        _network("fd00::/127", 8),
        _network("10.1.0.0/24", 9),
    )
    plan = plan_vnf(
        "abc",
        [_port("a", p2p, "10.0.0.1"), _port("b", p2p6, "fd00::"), _port("c", lan, "10.1.0.9")],
        {},
    )

    assert plan.label == "srv.abc"
    assert plan.chain is None
    assert [(i.ifname, i.bridge_label, i.address, i.peer, i.mtu) for i in plan.interfaces] == [
        ("eth0", "vni7", "10.0.0.1/31", "10.0.0.0", 1400),
        ("eth1", "vni8", "fd00::/127", "fd00::1", 0),
        ("eth2", "vni9", "10.1.0.9/24", "10.1.0.1", 0),  # the subnet's gateway
    ]


def test_chain_ports_are_found_by_name() -> None:
    left, right = _network("10.0.0.0/31", 1), _network("10.0.0.2/31", 2)
    ports = [_port("out", right, "10.0.0.2"), _port("in", left, "10.0.0.1")]

    chain = plan_vnf("abc", ports, CHAIN).chain

    assert chain is not None
    assert (chain.upstream.ifname, chain.upstream.peer) == ("eth1", "10.0.0.0")
    assert (chain.downstream.ifname, chain.downstream.peer) == ("eth0", "10.0.0.3")


@pytest.mark.parametrize(
    ("names", "metadata", "fields"),
    [
        (("in", "out"), {CHAIN_UPSTREAM_KEY: "in"}, {CHAIN_DOWNSTREAM_KEY}),
        (("in", "out"), {**CHAIN, CHAIN_UPSTREAM_KEY: "eth0"}, {CHAIN_UPSTREAM_KEY}),
        (("in", "in"), CHAIN, {CHAIN_UPSTREAM_KEY, CHAIN_DOWNSTREAM_KEY}),  # "in" twice, no "out"
        (("in", "out"), {**CHAIN, CHAIN_DOWNSTREAM_KEY: "in"}, {CHAIN_DOWNSTREAM_KEY}),
    ],
)
def test_bad_chain_ports_are_refused(
    names: tuple[str, str], metadata: dict[str, str], fields: set[str]
) -> None:
    left, right = _network("10.0.0.0/31", 1), _network("10.0.0.2/31", 2)
    ports = [_port(names[0], left, "10.0.0.1"), _port(names[1], right, "10.0.0.2")]

    with pytest.raises(InvalidArgument) as raised:
        plan_vnf("abc", ports, metadata)

    assert {v.field for v in raised.value.field_violations} == {f"metadata.{f}" for f in fields}
