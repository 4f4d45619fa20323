"""A service chain over three PoPs of three operators: traffic takes the WIM's path, in order."""

from __future__ import annotations

import pytest

from spfed.netns import Fabric, ping, trace, udp_probe
from tests.netns._support import HOPS, build_chain, build_underlay, netns_unusable

if reason := netns_unusable():
    pytest.skip(reason, allow_module_level=True)


async def test_the_chain_carries_icmp_and_udp_through_every_vnf_in_order(fabric: Fabric) -> None:
    underlay = await build_underlay(fabric)
    chain = await build_chain(fabric, underlay, 1, ipv6=True)
    ingress, egress = chain.namespaces["ingress"].name, chain.namespaces["egress"].name

    for family in (4, 6):
        target = chain.address("egress", family)
        pinged = await ping(ingress, target, count=3)
        assert pinged.received == 3, pinged

        traced = await trace(ingress, target, max_hops=6)
        assert traced.reached, traced
        assert traced.routers == tuple(chain.address(hop, family) for hop in HOPS[1:4]), traced

    probed = await udp_probe(ingress, egress, chain.address("egress"), 40000, count=5)
    assert probed.delivered == 5, probed
    assert {datagram.source for datagram in probed.received} == {"10.0.65.0"}
