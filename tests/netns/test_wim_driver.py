"""The netns WIM driver: a service joins one service link's bridge across VXLAN hops.

Test "VNFs" are namespaces attached, as the VIM would, to the ``vni<plan VNI>`` bridge
of their PoP's gateway. The most important test is the last: two operators' services
meet in the border gateway they share and form one L2 domain.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import replace

import pytest

from addressing import IdPool
from spfed.config import parse_config
from spfed.errors import FailedPrecondition, Internal, InvalidArgument
from spfed.model import IdRange, WimService
from spfed.netns import (
    Attachment,
    AttachmentSpec,
    BridgeSpec,
    Fabric,
    GatewaySpec,
    IpRoute,
    UdpReceiver,
    VnfSpec,
    VxlanSpec,
    check_prefix,
    inventory,
    ping,
    udp_send,
)
from spfed.netns.layout import border_gateway, pop_gateway
from spfed.wan_assembly import start_wim
from tests.netns._support import netns_unusable
from tests.unit.wim.fakes import MemoryBookingStore
from wim import (
    ConnectionPoint,
    ConnectivityHandle,
    ConnectivityRequest,
    Segment,
    ServiceStatus,
    WanGraph,
    WanLink,
    Wim,
)
from wim.drivers import NetnsWimDriver, default_prefix, wan_gateways
from wim.drivers.netns import UNDERLAY, VXLAN_PORT_SPAN, underlay_addresses, vxlan_port

needs_netns = pytest.mark.skipif(bool(netns_unusable()), reason=netns_unusable() or "usable")

NODE = "op-x"
LABEL = "vni4242"
PORT = 40002


def line() -> WanGraph:
    """PoPs a—b—c in a line, and a customer edge border ``x`` off c."""
    links = [WanLink("ab", "a", "b", 1000, 1), WanLink("bc", "b", "c", 1000, 1)]
    return WanGraph(["a", "b", "c", "x"], [*links, WanLink("cx", "c", "x", 1000, 1)])


def driver_of(
    prefix: str,
    graph: WanGraph,
    *,
    node: str = NODE,
    borders: dict[str, str] | None = None,
    ip: IpRoute | None = None,
) -> NetnsWimDriver:
    """The node's driver; border ``x`` is a customer edge unless ``borders`` says otherwise."""
    borders = {"x": ""} if borders is None else borders
    pops = sorted(graph.nodes - borders.keys())
    gateways = wan_gateways(node, pops, borders)
    return NetnsWimDriver(node, graph, gateways, Fabric(prefix, ip=ip))


def wim_of(driver: NetnsWimDriver, graph: WanGraph, first_vni: int = 5000) -> Wim:
    return Wim(
        graph, driver, IdPool("vnis", IdRange(first_vni, first_vni + 99)), MemoryBookingStore()
    )


def request(kind: WimService, nodes: Sequence[str], label: str = LABEL) -> ConnectivityRequest:
    return ConnectivityRequest(kind, tuple(ConnectionPoint(n, label) for n in nodes), 10.0)


async def host(
    fabric: Fabric, gateway: GatewaySpec, name: str, address: str, label: str = LABEL
) -> Attachment:
    """A namespace on ``label``'s bridge in ``gateway``, as the VIM attaches a VNF."""
    bridge = await fabric.add_bridge(BridgeSpec(await fabric.add_gateway(gateway), label))
    vnf = await fabric.add_vnf(VnfSpec(name, forwarding=False))
    return await fabric.attach(AttachmentSpec(vnf, bridge, "eth0", (address,)))


def bare(attachment: Attachment) -> str:
    return str(ipaddress.ip_interface(attachment.addresses[0]).ip)


async def reaches(source: Attachment, target: Attachment, count: int = 3) -> int:
    return (await ping(source.vnf.name, bare(target), count=count, timeout_s=0.5)).received


async def kinds(prefix: str) -> dict[str, set[str]]:
    """Interface names of the prefix by kind, over all its namespaces."""
    found: dict[str, set[str]] = {}
    for namespace in (await inventory(prefix)).namespaces:
        for link in namespace.links:
            found.setdefault(link.kind, set()).add(link.name)
    return found


async def remove_hosts(fabric: Fabric, *hosts: Attachment) -> None:
    for each in hosts:
        await fabric.detach(each)
        await fabric.delete_namespace(each.vnf)


def names(items: Sequence[str]) -> set[str]:
    return {item.rpartition("/")[2] for item in items}


# -- without privileges ----------------------------------------------------------------


def test_derived_values_are_stable_and_in_range() -> None:
    assert default_prefix(NODE) == default_prefix(NODE) != default_prefix("op-y")
    assert check_prefix(default_prefix(NODE))
    addresses = underlay_addresses(NODE, [f"l{i}" for i in range(200)])
    assert addresses == underlay_addresses(NODE, reversed(list(addresses)))
    networks = {ipaddress.IPv4Interface(a).network for a, _ in addresses.values()}
    assert len(networks) == 200
    assert all(n.prefixlen == 31 and n.subnet_of(UNDERLAY) for n in networks)
    assert all(
        ipaddress.ip_interface(b).network == ipaddress.ip_interface(a).network
        for a, b in addresses.values()
    )
    assert 4789 <= vxlan_port(NODE, "l0") < 4789 + VXLAN_PORT_SPAN
    assert vxlan_port(NODE, "up") != vxlan_port("op-y", "up")


def test_gateways_follow_the_shared_layout() -> None:
    gateways = wan_gateways(NODE, ["a"], {"to-y": "op-y", "cust": ""})
    assert gateways == {
        "a": pop_gateway(NODE, "a"),
        "to-y": border_gateway("op-y", NODE),
        "cust": GatewaySpec(f"edge.{NODE}.cust"),
    }


async def test_bad_gateways_and_handles_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="gateway"):
        NetnsWimDriver(NODE, line(), {"a": pop_gateway(NODE, "a")}, Fabric("sfzz"))
    driver = driver_of("sfzz", line())
    unlabelled = ConnectivityHandle(
        "s1", WimService.E_LINE, (ConnectionPoint("a"), ConnectionPoint("b")), (), 0, 0
    )
    with pytest.raises(InvalidArgument, match="bridge"):
        await driver.realise(unlabelled)
    labelled = replace(unlabelled, endpoints=(ConnectionPoint("a", LABEL),) * 2)
    with pytest.raises(FailedPrecondition, match="not started"):
        await driver.realise(labelled)


# -- on the host's kernel ----------------------------------------------------------------


@needs_netns
async def test_an_e_line_crosses_two_hops_and_leaves_the_vims_bridges(prefix: str) -> None:
    graph = line()
    driver = driver_of(prefix, graph)
    await driver.start()
    await driver.start()  # idempotent: takes over what the first start built
    wim = wim_of(driver, graph)
    handle = await wim.create_connectivity_service(
        request(WimService.E_LINE, ["a", "c"]), service_id="svc/l1"
    )
    assert [(s.a, s.b) for s in handle.segments] == [("a", "b"), ("b", "c")]
    fabric = Fabric(prefix)
    one = await host(fabric, pop_gateway(NODE, "a"), "h1", "10.77.0.0/31")
    two = await host(fabric, pop_gateway(NODE, "c"), "h2", "10.77.0.1/31")
    # The WIM came first here, so it created the bridges the VNFs were attached to.
    assert {one.bridge.ifname, two.bridge.ifname} < names(handle.created_items["bridge"])
    assert len(handle.created_items["vxlan"]) == 4
    assert handle.created_items["shaping"] == handle.created_items["vxlan"]
    netns, _, vxlan = handle.created_items["vxlan"][0].rpartition("/")
    qdisc = json.loads(await IpRoute().tc("-j", "qdisc", "show", "dev", vxlan, netns=netns))
    assert qdisc[0]["kind"] == "tbf"
    assert await wim.get_connectivity_service_status("svc/l1") == ServiceStatus.ACTIVE
    assert await reaches(one, two) == 3

    await wim.delete_connectivity_service("svc/l1")
    assert await reaches(one, two, count=1) == 0
    left = await kinds(prefix)
    assert "vxlan" not in left
    assert left["bridge"] == {one.bridge.ifname, two.bridge.ifname}  # b's went: no port was left
    assert await driver.status(handle) == ServiceStatus.DOWN

    await remove_hosts(fabric, one, two)
    await driver.teardown()
    assert (await inventory(prefix)).empty


@needs_netns
async def test_an_e_lan_joins_three_pops_and_keeps_a_bridge_it_found(prefix: str) -> None:
    graph = line()
    driver = driver_of(prefix, graph)
    await driver.start()
    fabric = Fabric(prefix)
    # The VIM came first at a: that bridge is not the WIM's.
    first = await host(fabric, pop_gateway(NODE, "a"), "h1", "10.78.0.1/24")
    items = await driver.realise(
        ConnectivityHandle(
            "lan",
            WimService.E_LAN,
            tuple(ConnectionPoint(n, LABEL) for n in "abc"),
            (Segment("ab", "a", "b", 5001), Segment("bc", "b", "c", 5002)),
            0,
            2,
        )
    )
    assert first.bridge.ifname not in names(items["bridge"])
    assert len(items["bridge"]) == 2
    assert items["shaping"] == ()
    others = [
        await host(fabric, pop_gateway(NODE, pop), f"h{i}", f"10.78.0.{i}/24")
        for i, pop in ((2, "b"), (3, "c"))
    ]
    hosts = [first, *others]
    for source in hosts:
        for target in hosts:
            if source is not target:
                assert await reaches(source, target, count=1) == 1, (source.vnf, target.vnf)


@needs_netns
async def test_services_on_different_bridges_never_meet(prefix: str) -> None:
    graph = line()
    driver = driver_of(prefix, graph)
    await driver.start()
    wim = wim_of(driver, graph)
    fabric = Fabric(prefix)
    slices = []
    for index, label in enumerate(("vni4242", "vni4343")):
        await wim.create_connectivity_service(request(WimService.E_LINE, ["a", "c"], label))
        slices.append(
            [
                await host(fabric, pop_gateway(NODE, pop), f"s{index}{pop}", address, label)
                for pop, address in (("a", "10.77.0.0/31"), ("c", "10.77.0.1/31"))
            ]
        )
    (left_one, right_one), (left_two, right_two) = slices
    assert await reaches(left_one, right_one, count=1) == 1
    assert await reaches(left_two, right_two, count=1) == 1
    # The first slice's host at c goes, and its neighbour entry with it: a leak would now
    # let the twin, on the same address, answer the first slice's ARP and get its packets.
    await fabric.detach(right_one)
    await IpRoute().ip("neigh", "flush", "all", netns=left_one.vnf.name)
    async with UdpReceiver(right_two.vnf.name, bare(right_two), PORT) as twin:
        await udp_send(left_one.vnf.name, bare(right_two), PORT, payload="one", count=3)
        assert await reaches(left_one, right_two, count=2) == 0
        assert await twin.collect(expected=1, timeout_s=0.3) == ()


class Tripwire(IpRoute):
    """An ``ip`` whose ``trip``-th command holding every word of ``words`` fails, or hangs."""

    def __init__(self, words: tuple[str, ...], trip: int, *, hang: bool = False) -> None:
        super().__init__()
        self.words = words
        self.trip = trip
        self.hang = hang
        self.seen = 0
        self.hanging = asyncio.Event()

    async def run(self, argv: Sequence[str], *, timeout_s: float | None = None) -> str:
        if all(word in argv for word in self.words):
            self.seen += 1
            if self.seen == self.trip:
                if self.hang:
                    self.hanging.set()
                    await asyncio.Event().wait()
                raise Internal("injected failure")
        return await super().run(argv, timeout_s=timeout_s)


@needs_netns
async def test_a_failed_realise_leaves_nothing_and_a_restarted_node_takes_over(
    prefix: str,
) -> None:
    graph = line()
    handle = ConnectivityHandle(
        "svc/l1",
        WimService.E_LINE,
        (ConnectionPoint("a", LABEL), ConnectionPoint("c", LABEL)),
        (Segment("ab", "a", "b", 5001), Segment("bc", "b", "c", 5002)),
        5,
        2,
    )
    # Shaping the second segment device fails: every bridge and segment exists by then.
    failing = driver_of(prefix, graph, ip=Tripwire(("qdisc", "replace"), 2))
    await failing.start()
    built = await kinds(prefix)
    wim = wim_of(failing, graph)
    with pytest.raises(Internal, match="injected"):
        await wim.create_connectivity_service(request(WimService.E_LINE, ["a", "c"]))
    assert await kinds(prefix) == built
    assert wim.connectivity_ids() == []

    # A segment device's creation hangs, and the caller gives up.
    tripwire = Tripwire(("vxlan", "add"), 3, hang=True)
    hanging = driver_of(prefix, graph, ip=tripwire)
    await hanging.start()
    task = asyncio.create_task(hanging.realise(handle))
    await asyncio.wait_for(tripwire.hanging.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await kinds(prefix) == built

    node = driver_of(prefix, graph)
    await node.start()
    gateway_c = await Fabric(prefix).add_gateway(pop_gateway(NODE, "c"))
    await IpRoute().ip("netns", "delete", gateway_c.name)  # behind the node's back
    with pytest.raises(FailedPrecondition, match="cannot carry"):
        await node.realise(handle)
    assert "vxlan" not in await kinds(prefix)
    await node.start()  # builds c again

    # Another device holds the first segment's (VNI, port) in a: refused, nothing left.
    fabric = Fabric(prefix)
    other = await fabric.add_bridge(
        BridgeSpec(await fabric.add_gateway(pop_gateway(NODE, "a")), "other")
    )
    squatter = VxlanSpec(other, "squatter", 5001, "192.0.2.1", "192.0.2.2", vxlan_port(NODE, "ab"))
    held = await fabric.add_vxlan(squatter)
    with pytest.raises(FailedPrecondition, match="already used"):
        await node.realise(handle)
    await fabric.delete_vxlan(held)
    await fabric.delete_bridge(other)
    assert await kinds(prefix) == built

    realised = replace(handle, created_items=await node.realise(handle))

    restarted = driver_of(prefix, graph)
    await restarted.start()
    await restarted.adopt(realised)
    assert await restarted.status(realised) == ServiceStatus.ACTIVE
    await restarted.remove(realised)
    await restarted.remove(realised)
    assert await restarted.status(realised) == ServiceStatus.DOWN
    assert await kinds(prefix) == built


@needs_netns
async def test_two_operators_services_meet_in_their_border_gateway(prefix: str) -> None:
    """X's service from its PoP to its border toward Y, and Y's from its border toward X
    to its PoP, on the same bridge label: one L2 domain across the two operators."""
    x_graph = WanGraph(["pop", "to-y"], [WanLink("up", "pop", "to-y", 100, 1)])
    y_graph = WanGraph(["to-x", "pop"], [WanLink("up", "to-x", "pop", 100, 1)])
    x = driver_of(prefix, x_graph, node="op-x", borders={"to-y": "op-y"})
    y = driver_of(prefix, y_graph, node="op-y", borders={"to-x": "op-x"})
    await asyncio.gather(x.start(), y.start())
    # The same VNIs on both sides: the link's port keeps the segments apart in the border.
    x_wim, y_wim = wim_of(x, x_graph), wim_of(y, y_graph)
    x_service = await x_wim.create_connectivity_service(
        request(WimService.E_LINE, ["pop", "to-y"]), service_id="svc/l1"
    )
    y_service = await y_wim.create_connectivity_service(
        request(WimService.E_LINE, ["to-x", "pop"]), service_id="svc/l1"
    )
    assert x_service.segments[0].vni == y_service.segments[0].vni
    fabric = Fabric(prefix)
    at_x = await host(fabric, pop_gateway("op-x", "pop"), "hx", "10.77.0.0/31")
    at_y = await host(fabric, pop_gateway("op-y", "pop"), "hy", "10.77.0.1/31")
    assert await reaches(at_x, at_y) == 3
    assert await reaches(at_y, at_x, count=1) == 1

    border = (await fabric.add_gateway(border_gateway("op-x", "op-y"))).name
    assert {item.rpartition("/")[0] for item in x_service.created_items["bridge"]} >= {border}
    assert border not in {i.rpartition("/")[0] for i in y_service.created_items["bridge"]}
    await x_wim.delete_connectivity_service("svc/l1")
    assert await reaches(at_x, at_y, count=1) == 0
    assert await y_wim.get_connectivity_service_status("svc/l1") == ServiceStatus.ACTIVE
    await y_wim.delete_connectivity_service("svc/l1")

    await remove_hosts(fabric, at_x, at_y)
    await x.teardown()
    assert border in {n.name for n in (await inventory(prefix)).namespaces}  # Y links to it
    await y.teardown()
    assert (await inventory(prefix)).empty


@needs_netns
async def test_a_node_configured_with_the_netns_driver_keeps_its_services(prefix: str) -> None:
    config = parse_config(
        {
            "id": NODE,
            "tls": {"insecure": True},
            "catalogue": {
                "signing_key_file": "id.key",
                "borders": [{"id": "to-y", "region": "r", "peer": "op-y"}],
            },
            "pops": [{"name": "a", "region": "r"}],
            "wim": {
                "enabled": True,
                "driver": "netns",
                "netns_prefix": prefix,
                "links": [{"id": "up", "a": "a", "b": "to-y", "capacity_mbps": 100}],
            },
        }
    )
    store = MemoryBookingStore()
    wim = await start_wim(config, store)
    assert wim is not None
    await wim.create_connectivity_service(request(WimService.E_LINE, ["a", "to-y"]), service_id="s")
    restarted = await start_wim(config, store)
    assert restarted is not None
    assert await restarted.get_connectivity_service_status("s") == ServiceStatus.ACTIVE
    await restarted.delete_connectivity_service("s")
    assert "vxlan" not in await kinds(prefix)
