"""Creating is idempotent, deleting is exact and idempotent, cleanup recovers from a crash."""

from __future__ import annotations

import dataclasses
import json

import pytest

from spfed.errors import AlreadyExists, FailedPrecondition, SpfedError
from spfed.netns import (
    AttachmentSpec,
    BridgeSpec,
    Fabric,
    GatewaySpec,
    IpRoute,
    ShapingSpec,
    VnfSpec,
    VxlanSpec,
    cleanup,
    interface_name,
    inventory,
    ping,
    vxlan_conflicts,
)
from tests.netns._support import build_chain, build_underlay, netns_unusable

if reason := netns_unusable():
    pytest.skip(reason, allow_module_level=True)


async def _qdisc(netns: str, ifname: str) -> str:
    output = await IpRoute().tc("-j", "qdisc", "show", "dev", ifname, "root", netns=netns)
    return str(json.loads(output)[0]["kind"])


async def test_deleting_every_handle_leaves_nothing_and_may_be_repeated(fabric: Fabric) -> None:
    underlay = await build_underlay(fabric)
    chain = await build_chain(fabric, underlay, 1)
    attachment = chain.attachments["ingress", "L0"]
    vxlan = chain.vxlans[0]
    shapings = (
        await fabric.shape(ShapingSpec(attachment.vnf, attachment.ifname, 10_000_000)),
        await fabric.shape(
            ShapingSpec(vxlan.bridge.gateway, vxlan.ifname, 50_000_000, discipline="htb")
        ),
    )
    assert await _qdisc(attachment.vnf.name, attachment.ifname) == "tbf"
    assert await _qdisc(vxlan.bridge.gateway.name, vxlan.ifname) == "htb"
    assert (await ping(attachment.vnf.name, chain.address("egress"), count=1)).received == 1

    async def delete_all_but_namespaces() -> None:
        for shaping in shapings:
            await fabric.unshape(shaping)
        for route in chain.routes:
            await fabric.delete_route(route)
        for each in chain.attachments.values():
            await fabric.detach(each)
        for segment in chain.vxlans:
            await fabric.delete_vxlan(segment)
        for bridge in chain.bridges:
            await fabric.delete_bridge(bridge)
        for link in {link.label: link for link in underlay.links.values()}.values():
            await fabric.delete_wan_link(link)

    async def delete_namespaces() -> None:
        for namespace in [*chain.namespaces.values(), *underlay.gateways.values()]:
            await fabric.delete_namespace(namespace)

    await delete_all_but_namespaces()
    await delete_all_but_namespaces()  # all gone already: still fine
    left = await fabric.inventory()  # only the namespaces, each with its loopback alone
    assert len(left.namespaces) == len(chain.namespaces) + len(underlay.gateways)
    assert {link.name for ns in left.namespaces for link in ns.links} == {"lo"}

    await delete_namespaces()
    assert (await fabric.inventory()).empty
    await delete_namespaces()
    await delete_all_but_namespaces()  # even without their namespaces
    assert (await fabric.inventory()).empty


async def test_cleanup_alone_removes_what_a_crashed_run_built(prefix: str) -> None:
    crashed = Fabric(prefix)
    await build_chain(crashed, await build_underlay(crashed), 1, ipv6=True)
    assert len((await inventory(prefix)).namespaces) == 8

    await cleanup(prefix)  # no handle: the prefix is all it needs
    assert (await inventory(prefix)).empty
    await cleanup(prefix)
    assert (await inventory(prefix)).empty


async def test_creating_twice_takes_over_the_same_objects(fabric: Fabric) -> None:
    underlay = await build_underlay(fabric)
    first = await build_chain(fabric, underlay, 1)
    before = await fabric.inventory()

    again = await build_underlay(fabric)
    second = await build_chain(fabric, again, 1)

    assert again == underlay
    assert second == first
    assert await fabric.inventory() == before
    assert (await ping(first.namespaces["ingress"].name, first.address("egress"))).received == 3


async def test_a_vni_is_used_once_per_gateway_and_port(fabric: Fabric) -> None:
    underlay = await build_underlay(fabric)
    gateway, link = underlay.gateways["B"], underlay.links["A", "B"]
    red = await fabric.add_bridge(BridgeSpec(gateway, "red"))
    blue = await fabric.add_bridge(BridgeSpec(gateway, "blue"))
    first = VxlanSpec.across(link, red, label="red.ab", vni=7)
    clash = VxlanSpec.across(link, blue, label="blue.ab", vni=7)
    assert vxlan_conflicts([first, clash]) == [(first, clash)]
    held = await fabric.add_vxlan(first)

    with pytest.raises(AlreadyExists) as refused:
        await fabric.add_vxlan(clash)
    assert "VNI 7" in refused.value.message
    assert held.ifname in refused.value.message
    assert await fabric.used_vxlan_keys(gateway) == {(7, 4789)}

    # Another port makes the same VNI another key.
    await fabric.add_vxlan(VxlanSpec.across(link, blue, label="blue.ab", vni=7, dstport=4790))
    assert await fabric.used_vxlan_keys(gateway) == {(7, 4789), (7, 4790)}


async def test_a_foreign_device_on_a_derived_name_is_refused(fabric: Fabric, prefix: str) -> None:
    gateway = await fabric.add_gateway(GatewaySpec("pop"))
    squatter = interface_name(prefix, "br", gateway.label, "vl1")
    await IpRoute().ip(
        *("link", "add", squatter, "type", "veth", "peer", "name", "other"), netns=gateway.name
    )

    with pytest.raises(FailedPrecondition, match="is a veth"):
        await fabric.add_bridge(BridgeSpec(gateway, "vl1"))


async def test_a_create_that_fails_midway_leaves_nothing_it_made(fabric: Fabric) -> None:
    gateway = await fabric.add_gateway(GatewaySpec("pop"))
    vnf = await fabric.add_vnf(VnfSpec("fw"))
    real = await fabric.add_bridge(BridgeSpec(gateway, "vl1"))
    gone = dataclasses.replace(real, ifname=interface_name(fabric.prefix, "never-made"))

    with pytest.raises(SpfedError):  # the veth pair is made, enslaving its end fails
        await fabric.attach(AttachmentSpec(vnf, gone, "eth1", ("10.0.65.1/31",)))

    found = await fabric.inventory()
    assert {link.name for link in found.links(vnf.name)} == {"lo"}
    assert {link.name for link in found.links(gateway.name)} == {"lo", real.ifname}
