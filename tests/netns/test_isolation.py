"""Two slices with identical customer address plans on different VNIs never see each other."""

from __future__ import annotations

import pytest

from spfed.netns import Fabric, IpRoute, UdpReceiver, counters, ping, udp_send
from tests.netns._support import Chain, build_chain, build_underlay, netns_unusable

if reason := netns_unusable():
    pytest.skip(reason, allow_module_level=True)

PORT = 40001


async def _packets(chain: Chain) -> dict[tuple[str, str], int]:
    """Packets received plus sent, per interface of the slice (VNF side and gateway side)."""
    interfaces = chain.vnf_interfaces() + chain.gateway_interfaces()
    found = {}
    for netns, ifname in interfaces:
        seen = await counters(netns, ifname)
        found[netns, ifname] = seen.rx_packets + seen.tx_packets
    return found


async def test_a_probe_reaches_only_its_own_slice(fabric: Fabric) -> None:
    underlay = await build_underlay(fabric)
    one = await build_chain(fabric, underlay, 1)
    two = await build_chain(fabric, underlay, 2)
    egress = one.address("egress")
    assert egress == two.address("egress")  # the same plan, on other VNIs
    ingress_one = one.namespaces["ingress"].name
    assert (await ping(ingress_one, egress, count=1)).received == 1

    # Both egresses listen on the same address and port; only slice 1's gets slice 1's probe.
    async with (
        UdpReceiver(one.namespaces["egress"].name, egress, PORT) as rx_one,
        UdpReceiver(two.namespaces["egress"].name, egress, PORT) as rx_two,
    ):
        await udp_send(ingress_one, egress, PORT, payload="one", count=5)
        assert len(await rx_one.collect(expected=5, timeout_s=2.0)) == 5
        assert await rx_two.collect(expected=1, timeout_s=0.3) == ()

    # Slice 1's egress goes away: nobody answers slice 1, in particular not slice 2's twin.
    egress_one = one.attachments["egress", "L3"]
    await IpRoute().ip("link", "set", "dev", egress_one.ifname, "down", netns=egress_one.vnf.name)
    async with UdpReceiver(two.namespaces["egress"].name, egress, PORT) as rx_two:
        await udp_send(ingress_one, egress, PORT, payload="one", count=3)
        pinged = await ping(ingress_one, egress, count=3, timeout_s=0.5)
        assert await rx_two.collect(expected=1, timeout_s=0.3) == ()
    assert pinged.received == 0, pinged
    assert all(answer.source != egress for answer in pinged.answers), pinged

    # Not one packet of all that crossed any interface of slice 2...
    untouched = await _packets(two)
    assert set(untouched.values()) == {0}, untouched
    # ...whose counters do count, and whose own traffic flows.
    assert (await ping(two.namespaces["ingress"].name, egress, count=1)).received == 1
    used = await _packets(two)
    assert all(used[interface] > 0 for interface in two.vnf_interfaces()), used
