"""The emulated PoP with netns on: servers are namespaces on their networks' bridges.

Every test builds the same chain in a PoP, on three /31 networks A, B and C::

    ingress ── A ── vnf1 ── B ── vnf2 ── C ── egress
    .0          .1       .2   .3      .4       .5     (10.88.0.x)

The ingress and egress are test namespaces plugged into the bridges of A and C;
vnf1 and vnf2 are the PoP's servers, routers of the chain by their metadata.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from lower_sp.local.vim import (
    CHAIN_DOWNSTREAM_KEY,
    CHAIN_UPSTREAM_KEY,
    EmulatedPop,
    MemoryPopStateStore,
    NetworkHandle,
    NetworkRequest,
    PortHandle,
    PortRequest,
    ServerHandle,
    ServerRequest,
)
from spfed.config import CapacityConfig, PopConfig
from spfed.errors import InvalidArgument, SpfedError
from spfed.model import Resources
from spfed.netns import (
    AttachmentSpec,
    BridgeSpec,
    Fabric,
    IpRoute,
    Namespace,
    RouteSpec,
    UdpReceiver,
    VnfSpec,
    inventory,
    ping,
    trace,
    udp_probe,
)
from spfed.netns.layout import link_bridge_label, pop_gateway
from tests.netns._support import netns_unusable

if reason := netns_unusable():
    pytest.skip(reason, allow_module_level=True)

POP = "pop1"
VNIS = {"A": 501, "B": 502, "C": 503}
CIDRS = {"A": "10.88.0.0/31", "B": "10.88.0.2/31", "C": "10.88.0.4/31"}
MTU = 1450
VM = Resources(vcpus=1, memory_mib=512, disk_gib=1)
INGRESS, EGRESS = "10.88.0.0", "10.88.0.5"
VNF_UPSTREAM = ("10.88.0.1", "10.88.0.3")
"""Where vnf1 and vnf2 answer the ingress from: their upstream ports."""

PopMaker = Callable[[str, MemoryPopStateStore], EmulatedPop]


@pytest.fixture
async def make_pop(prefix: str) -> AsyncIterator[PopMaker]:
    """``make(node, store)``: PoP ``pop1`` of operator ``node`` with netns on (not started)."""
    made: list[EmulatedPop] = []

    def make(node: str, store: MemoryPopStateStore) -> EmulatedPop:
        options = {"netns": "on", "netns_prefix": prefix, "netns_node": node}
        config = PopConfig(
            name=POP,
            region="eu",
            capacity=CapacityConfig(vcpus=8, memory_mib=8192, disk_gib=80),
            options=options,
        )
        pop = EmulatedPop.from_config(config, store)
        made.append(pop)
        return pop

    yield make
    for pop in made:
        await pop.close()


@dataclass(frozen=True)
class Chain:
    """What one PoP created for the chain, in creation order."""

    networks: dict[str, NetworkHandle]
    """By letter."""
    ports: tuple[PortHandle, ...]
    """vnf1's two ports, then vnf2's."""
    servers: tuple[ServerHandle, ...]
    """vnf1, vnf2."""


async def build_chain(pop: EmulatedPop) -> Chain:
    """Networks A, B, C (VNIs 501..503), then vnf1 (A→B) and vnf2 (B→C) with chain metadata."""
    networks = {
        letter: await pop.create_network(
            NetworkRequest(
                f"net-{letter}",
                CIDRS[letter],
                point_to_point=True,
                segmentation_id=VNIS[letter],
                mtu=MTU,
            )
        )
        for letter in "ABC"
    }
    ports: list[PortHandle] = []
    servers: list[ServerHandle] = []
    for index, (up, down) in enumerate((("A", "B"), ("B", "C")), start=1):
        name = f"vnf{index}"
        upstream = await pop.create_port(
            PortRequest(f"{name}-in", networks[up], address=f"10.88.0.{2 * index - 1}")
        )
        downstream = await pop.create_port(
            PortRequest(f"{name}-out", networks[down], address=f"10.88.0.{2 * index}")
        )
        ports += [upstream, downstream]
        metadata = {CHAIN_UPSTREAM_KEY: f"{name}-in", CHAIN_DOWNSTREAM_KEY: f"{name}-out"}
        servers.append(
            await pop.create_server(
                ServerRequest(name, "img", VM, (upstream, downstream), metadata=metadata)
            )
        )
    return Chain(networks, tuple(ports), tuple(servers))


async def delete_chain(pop: EmulatedPop, chain: Chain) -> None:
    """Servers, then ports, then networks: the order of ``lower_sp.local.leaves.undeploy``."""
    for server in chain.servers:
        await pop.delete_server(server)
    for port in chain.ports:
        await pop.delete_port(port)
    for network in chain.networks.values():
        await pop.delete_network(network)


async def plug(
    fabric: Fabric, node: str, label: str, vni: int, address: str, via: str = ""
) -> Namespace:
    """A test namespace on the bridge of ``vni`` in ``node``'s PoP, default route ``via``."""
    gateway = await fabric.add_gateway(pop_gateway(node, POP))  # takes over the PoP's own
    bridge = await fabric.add_bridge(BridgeSpec(gateway, link_bridge_label(vni), MTU))
    namespace = await fabric.add_vnf(VnfSpec(f"{node}.{label}", forwarding=False))
    await fabric.attach(
        AttachmentSpec(namespace, bridge, "eth0", (address,), mtu=MTU, ifname="eth0")
    )
    if via:
        await fabric.add_route(RouteSpec(namespace, "default", via, "eth0"))
    return namespace


async def test_two_operators_chain_on_the_same_vnis_each_in_its_own_pop(
    fabric: Fabric, make_pop: PopMaker
) -> None:
    pops = {node: make_pop(node, MemoryPopStateStore()) for node in ("opa", "opb")}
    for pop in pops.values():
        await pop.start()
    ends: dict[str, tuple[str, str]] = {}
    for node, pop in pops.items():
        await build_chain(pop)
        ingress = await plug(fabric, node, "ingress", VNIS["A"], f"{INGRESS}/31", "10.88.0.1")
        egress = await plug(fabric, node, "egress", VNIS["C"], f"{EGRESS}/31", "10.88.0.4")
        ends[node] = (ingress.name, egress.name)

    for source, _ in ends.values():
        pinged = await ping(source, EGRESS, count=3)
        assert pinged.received == 3, pinged
        traced = await trace(source, EGRESS, max_hops=4)
        assert traced.reached, traced
        assert traced.routers == VNF_UPSTREAM, traced

    (a_ingress, a_egress), (_, b_egress) = ends["opa"], ends["opb"]
    async with UdpReceiver(b_egress, EGRESS, 40001, timeout_s=5) as other:
        probed = await udp_probe(a_ingress, a_egress, EGRESS, 40001, count=5)
        assert await other.collect(expected=1, timeout_s=0.3) == ()
    assert probed.delivered == 5, probed
    assert {datagram.source for datagram in probed.received} == {INGRESS}


async def test_deleting_leaves_the_gateway_alone_and_keeps_a_shared_bridge(
    prefix: str, fabric: Fabric, make_pop: PopMaker
) -> None:
    pop = make_pop("opa", MemoryPopStateStore())
    await pop.start()
    gateway = await fabric.add_gateway(pop_gateway("opa", POP))  # the PoP's, taken over
    chain = await build_chain(pop)
    vnfs = [ns.name for ns in (await inventory(prefix)).namespaces if ns.name != gateway.name]
    assert len(vnfs) == 2
    assert {(p.mac, p.address, MTU) for p in chain.ports} == {
        (entry["address"], f"{a['local']}/{a['prefixlen']}", entry["mtu"])
        for vnf in vnfs
        for entry in await IpRoute().ip_json("address", "show", "type", "veth", netns=vnf)
        for a in entry["addr_info"]
    }

    await delete_chain(pop, chain)
    await delete_chain(pop, chain)  # all gone already: still fine

    left = await inventory(prefix)
    assert [ns.name for ns in left.namespaces] == [gateway.name]
    assert {link.name for link in left.links(gateway.name)} == {"lo"}

    shared = await pop.create_network(
        NetworkRequest("net-B", CIDRS["B"], point_to_point=True, segmentation_id=502, mtu=MTU)
    )
    foreign = await plug(fabric, "opa", "wim", VNIS["B"], "10.88.0.2/31")
    bridge = fabric.bridge(BridgeSpec(gateway, link_bridge_label(VNIS["B"])))
    await pop.delete_network(shared)

    assert pop.networks() == ()
    assert len(await fabric.bridge_ports(bridge)) == 1  # kept for the foreign member
    await fabric.delete_namespace(foreign)


async def test_a_restarted_pop_deletes_what_the_first_one_built(
    prefix: str, make_pop: PopMaker
) -> None:
    store = MemoryPopStateStore()
    first = make_pop("opa", store)
    await first.start()
    chain = await build_chain(first)
    await first.close()

    again = make_pop("opa", store)  # the node restarted: same store, handles from before
    await again.start()
    await delete_chain(again, chain)

    left = await inventory(prefix)
    assert len(left.namespaces) == 1
    assert {link.name for link in left.namespaces[0].links} == {"lo"}
    assert (again.servers(), again.ports(), again.networks()) == ((), (), ())


async def test_refused_and_failed_calls_leave_nothing(
    prefix: str, fabric: Fabric, make_pop: PopMaker
) -> None:
    pop = make_pop("opa", MemoryPopStateStore())
    await pop.start()
    with pytest.raises(InvalidArgument) as refused:
        await pop.create_network(NetworkRequest("n", CIDRS["A"], point_to_point=True))
    assert [v.field for v in refused.value.field_violations] == ["segmentation_id"]

    net = await pop.create_network(
        NetworkRequest("n", "10.88.1.0/24", segmentation_id=601, mtu=MTU)
    )
    port = await pop.create_port(PortRequest("p", net))
    with pytest.raises(InvalidArgument) as refused:
        await pop.create_server(
            ServerRequest("s", "img", VM, (port,), metadata={CHAIN_UPSTREAM_KEY: "nope"})
        )
    assert {v.field for v in refused.value.field_violations} == {
        f"metadata.{CHAIN_UPSTREAM_KEY}",
        f"metadata.{CHAIN_DOWNSTREAM_KEY}",
    }

    gateway = await fabric.add_gateway(pop_gateway("opa", POP))
    await fabric.delete_namespace(gateway)  # the data plane breaks under the PoP
    with pytest.raises(SpfedError):
        await pop.create_server(ServerRequest("s", "img", VM, (port,)))
    with pytest.raises(SpfedError):
        await pop.create_network(
            NetworkRequest("m", CIDRS["B"], point_to_point=True, segmentation_id=602)
        )

    assert pop.servers() == ()
    assert [n.network_id for n in pop.networks()] == [net.network_id]
    assert (await pop.capacity()).used == Resources()
    assert (await inventory(prefix)).empty
