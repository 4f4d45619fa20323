"""Addressing across random federations: a recursive simulation driven by the production code.

Each example draws a federation (depth 1-5 below the top, fan-out 1-4, at most 40 SPs, one
or two PoPs each), one or two services at the top (functions with a few points on E-Line,
E-LAN and E-Tree links, own points, customer NAPs, VNFD-internal and private networks) and a
placement of every function on a PoP or, recursively, inside a lower SP's subtree. Then it
plays what every node does for a service, without gRPC:

- ``_space``: the top draws its space from a real ``ServiceBlocks`` (on a migrated in-memory
  SQLite ``AddressStore``, IPv4 or IPv6); a lower SP takes the space its part was given.
- ``plan_addresses``: the graph (``build_graph`` of the NSD the node received, validated by
  ``check_nsd``/``check_vnfd``), the bindings (``port_bindings``), ``link_demands`` (own
  points carry the upper SP's constraint or the customer's NAP) and ``plan_addresses``.
- ``deploy_local``: ``deploy_part`` on an ``EmulatedPop``, which refuses any address outside
  the network's subnet or taken twice on it; its ``PortRecord``\\ s are the node's report.
- ``delegate_subservices``: ``build_subservice`` builds each lower SP's request (the part's
  space, a constraint per boundary point named after its link), and the lower SP runs the
  same steps on it, recursively.
- ``verify_addresses``: ``address_problems`` on the node's record and ``assignments`` for what
  it reports upward; a failure anywhere compensates (undeploy, release) on the way up, and
  terminate undeploys and calls ``ServiceBlocks.release`` at every node.

The glue that is not a public function (``_space``, ``_local_bindings``, building the
records) follows ``spfed.lifecycle.instantiate`` line by line; nothing of the planner is
re-implemented. Every node of the federation has its own ``ServiceBlocks`` and PoPs; they
share one database, as only the top draws from a pool (lower SPs are given full spaces).

The properties are checked independently of the production checkers, which run too:

1. no address, MAC or port id is held twice by the interfaces of all services in the
   federation (addresses on a function's private network, outside the plan, excepted, as
   ``tree_ports`` does), the customers' points at the top included;
2. each part's space lies inside its upper SP's, every report of a lower SP answers a
   constraint it was given and ``assignment_problems`` finds nothing wrong with it, and every
   address of a subtree lies inside what its part was given (``outside_constraints``);
3. terminate returns every pool (addresses v4/v6, VNIs, MACs: ``held()`` and the stored rows)
   and every PoP to its state before; two services allocated concurrently get disjoint
   spaces and are released independently; when anything runs out (``ResourceExhausted``,
   drawn often with tight pools and carvings) the error names what ran out and the
   compensation leaves the pools and PoPs as they were.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from addressing import (
    AddressPlan,
    PlanSettings,
    ServiceSpace,
    assignment_problems,
    outside_constraints,
    parse_mac_block,
    plan_addresses,
)
from lower_sp.local.leaves import (
    Handle,
    HandleKind,
    LocalMember,
    PortBinding,
    deploy_part,
    port_bindings,
    undeploy,
)
from lower_sp.local.vim import EmulatedPop
from lower_sp.local.vim.state import MemoryPopStateStore
from spfed.config import AddressingConfig
from spfed.descriptors import DescriptorSet, check_nsd, check_vnfd
from spfed.errors import FailedPrecondition, ResourceExhausted
from spfed.lifecycle.addresses import address_problems, assignments, link_demands, nap_points
from spfed.lifecycle.blocks import ServiceBlocks
from spfed.lifecycle.lookup import RequestLookup
from spfed.model import (
    AddressConstraints,
    ConnectionPoint,
    ConnectionPointType,
    ConnectivityType,
    DelegatedPart,
    DeploymentUnit,
    DescriptorRef,
    InstantiateRequest,
    InterfaceType,
    LocalPart,
    Nap,
    NetworkFunctionRef,
    NetworkServiceDescriptor,
    Part,
    PartKind,
    Resources,
    ServiceDescriptors,
    ServicePart,
    ServiceRecord,
    ServiceState,
    VirtualLink,
    VnfDescriptor,
    split_ref,
)
from spfed.storage import AddressStore, Database
from upper_sp.graph import ServiceGraph, build_graph
from upper_sp.placement import Placement
from upper_sp.subgraph import SubService, build_subservice

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VENDOR = "eu.prop"
TOP = "top"
MAX_NODES = 40
MAX_DEPTH = 5
ROOM = Resources(vcpus=100_000, memory_mib=100_000_000, disk_gib=100_000_000)
SERVICE_IDS = ("1a2b3c4d-0000-4000-8000-000000000001", "5e6f7a8b-0000-4000-8000-000000000002")
NAP_NETWORKS = {
    4: ("192.0.2.0/24", "198.51.100.0/24"),
    6: ("2001:db8:0:1::/64", "2001:db8:0:2::/64"),
}
"""Customers' addresses of each service, outside every pool a node is given."""


# --- the federation ------------------------------------------------------------------


@dataclass(frozen=True)
class SpNode:
    """One service platform of the drawn federation."""

    id: str
    pops: tuple[str, ...]
    children: tuple[SpNode, ...] = ()

    def walk(self) -> Iterator[SpNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def depth(self) -> int:
        return 1 + max((c.depth for c in self.children), default=-1)

    @property
    def fan_out(self) -> int:
        return max(len(n.children) for n in self.walk())


@st.composite
def hierarchies(draw: st.DrawFn) -> SpNode:
    """Depth 1-5 below the top (one chain reaches it), fan-out 1-4, at most 40 SPs."""
    depth = draw(st.integers(1, MAX_DEPTH))
    left = [MAX_NODES - 1]

    def node(node_id: str, below: int, chain: bool) -> SpNode:
        pops = tuple(f"{node_id}.p{i}" for i in range(draw(st.integers(1, 2))))
        children: list[SpNode] = []
        if below > 0:
            for i in range(draw(st.integers(1, 4))):
                on_chain = chain and i == 0
                if left[0] == 0 and not on_chain:
                    break
                reach = below - 1 if i == 0 else draw(st.integers(0, below - 1))
                left[0] -= 1
                children.append(node(f"{node_id}-{i}", reach, on_chain))
        return SpNode(node_id, pops, tuple(children))

    # The chain to the full depth is built first, so the node budget never cuts it.
    return node(TOP, depth, True)


# --- pools and carvings --------------------------------------------------------------


@dataclass(frozen=True)
class Carving:
    """How one node carves the spaces it plans in (``PlanSettings`` of its configuration)."""

    link: int
    crossing: int
    part_bits: int


def carvings(roomy: bool) -> st.SearchStrategy[Carving]:
    if roomy:
        return st.builds(
            Carving,
            st.sampled_from([26, 27, 28]),
            st.sampled_from([20, 22]),
            st.sampled_from([2, 3]),
        )
    return st.builds(
        Carving,
        st.sampled_from([27, 28, 29, 30]),
        st.sampled_from([23, 24, 26, 28]),
        st.sampled_from([1, 2, 3]),
    )


def _spare(room: int) -> int:
    """Bits a pool has above one block to hold ``room`` of them (0: plenty)."""
    return 8 if room == 0 else (room - 1).bit_length()


def _pool(address: str, length: int, room: int) -> str:
    """A pool around ``address`` that holds ``room`` blocks of ``length`` (0: plenty)."""
    return str(ipaddress.ip_network(f"{address}/{max(1, length - _spare(room))}", strict=False))


@st.composite
def top_configs(draw: st.DrawFn, roomy: bool) -> AddressingConfig:
    """The top node's pools: roomy ones hold any service; tight ones run dry somewhere."""
    carving = draw(carvings(roomy))
    if roomy:
        v4, v6 = draw(st.sampled_from([8, 10, 12])), draw(st.sampled_from([24, 32]))
        vnis, mac_length = 1 << 20, draw(st.sampled_from([16, 20]))
        room = {"v4": 0, "v6": 0, "vnis": 0, "macs": 0}
    else:
        v4, v6 = draw(st.sampled_from([16, 20, 24, 26, 28])), draw(st.sampled_from([48, 56, 60]))
        vnis, mac_length = draw(st.sampled_from([4, 16, 64, 4096])), draw(st.sampled_from([36, 40]))
        tight = draw(st.sampled_from(["v4", "v6", "vnis", "macs", "none"]))
        room = {
            k: draw(st.integers(1, 2)) if k == tight else 0 for k in ("v4", "v6", "vnis", "macs")
        }
    vni_first = 100_000
    vni_count = vnis * room["vnis"] if room["vnis"] else 1 << 23
    return AddressingConfig(
        service_pool=_pool("10.0.0.0", v4, room["v4"]),
        service_prefix_length=v4,
        service_pool_v6=_pool("fd5f::", v6, room["v6"]),
        service_prefix_length_v6=v6,
        vni_pool=f"{vni_first}-{vni_first + vni_count - 1}",
        service_vnis=vnis,
        mac_pool=f"02:00:00:00:00:00/{mac_length - _spare(room['macs'])}",
        service_mac_prefix_length=mac_length,
        mtu=draw(st.sampled_from([1400, 1450, 9000])),
        link_prefix_length=carving.link,
        crossing_link_prefix_length=carving.crossing,
        part_block_bits=carving.part_bits,
    )


# --- services ------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawnService:
    """A service as the customer sends it, and where each function ends up."""

    service_id: str
    request: InstantiateRequest
    where: Mapping[str, tuple[tuple[str, ...], str]]
    """Per function: the SPs from the top down to the one that hosts it, and its PoP there."""

    @property
    def deepest(self) -> int:
        return max(len(path) - 1 for path, _ in self.where.values())


def _ref(name: str) -> DescriptorRef:
    return DescriptorRef(VENDOR, name, "1.0")


@st.composite
def vnfds(draw: st.DrawFn, name: str) -> VnfDescriptor:
    """1-3 external points, each on one or two units' interfaces; maybe a VNFD-internal link,
    planned in the service's block or on a private subnet of its own."""
    units = [f"u{k}" for k in range(draw(st.integers(1, 2)))]
    unit_points: dict[str, list[str]] = {u: [] for u in units}
    links = []
    for j in range(draw(st.integers(1, 3))):
        on = draw(st.sampled_from([["u0"], units[-1:], units])) if len(units) > 1 else units
        refs = [f"cp{j}"]
        for unit in on:
            unit_points[unit].append(f"eth{j}")
            refs.append(f"{unit}:eth{j}")
        kind = ConnectivityType.E_LINE if len(refs) == 2 else ConnectivityType.E_LAN
        links.append(VirtualLink(f"vl{j}", kind, tuple(refs)))
    internal = draw(st.sampled_from(["none", "planned", "private"]))
    if internal != "none":
        ends = [(units[0], "int0"), (units[-1], "int1")]
        for unit, point in ends:
            unit_points[unit].append(point)
        cidr = f"192.168.{draw(st.integers(0, 3))}.0/24" if internal == "private" else ""
        links.append(
            VirtualLink(
                "vl-int",
                ConnectivityType.E_LINE,
                tuple(f"{u}:{p}" for u, p in ends),
                dhcp=draw(st.booleans()),
                cidr=cidr,
            )
        )
    return VnfDescriptor(
        ref=_ref(name),
        deployment_units=tuple(
            DeploymentUnit(
                u,
                resource_requirements=Resources(1, 256, 1),
                connection_points=tuple(ConnectionPoint(p, InterfaceType.IPV4) for p in points),
            )
            for u, points in unit_points.items()
        ),
        connection_points=tuple(
            ConnectionPoint(f"cp{j}", InterfaceType.IPV4, ConnectionPointType.EXTERNAL)
            for j in range(len([lk for lk in links if lk.id != "vl-int"]))
        ),
        virtual_links=tuple(links),
    )


def _single_interface(vnfd: VnfDescriptor, point: str) -> bool:
    return any(
        point in vl.connection_points_reference and len(vl.connection_points_reference) == 2
        for vl in vnfd.virtual_links
    )


@st.composite
def services(draw: st.DrawFn, top: SpNode, index: int, ip_version: int) -> DrawnService:
    """1-6 functions of 1-3 VNFD types, 0-2 own points, random links among their points,
    NAPs on some own points, and a placement of every function down the federation."""
    types = [draw(vnfds(f"type{index}{k}")) for k in range(draw(st.integers(1, 3)))]
    functions = {f"f{i}": draw(st.sampled_from(types)) for i in range(draw(st.integers(1, 6)))}
    own = [f"ext{k}" for k in range(draw(st.integers(0, 2)))]
    refs = [f"{f}:{cp.id}" for f, v in functions.items() for cp in v.connection_points] + own
    order = draw(st.permutations(refs))
    links: list[VirtualLink] = []
    at = 0
    while at < len(order):
        size = draw(st.integers(1, 4))  # 1: the point stays on no service link
        chunk = tuple(order[at : at + size])
        at += size
        if len(chunk) < 2 or all(r in own for r in chunk):
            continue
        if len(chunk) == 2 and draw(st.booleans()):
            kind = ConnectivityType.E_LINE
        else:
            kind = draw(st.sampled_from([ConnectivityType.E_LAN, ConnectivityType.E_TREE]))
        links.append(VirtualLink(f"l{len(links)}", kind, chunk, dhcp=draw(st.booleans())))
    naps: list[Nap] = []
    base = ipaddress.ip_network(NAP_NETWORKS[ip_version][index])
    for lk in links:
        points = [r for r in lk.connection_points_reference if r in own]
        others = [split_ref(r) for r in lk.connection_points_reference if r not in own]
        if len(points) != 1 or len(others) != 1 or not draw(st.booleans()):
            continue
        member, cp = others[0]
        if member is None or not _single_interface(functions[member], cp):
            continue  # a NAP faces exactly one interface
        # One /31 (/127) per NAP: the interface facing it takes the other address.
        customer = base.network_address + 2 * (len(naps) + 1) + draw(st.integers(0, 1))
        naps.append(Nap(location="", nap=str(customer), connection_point=points[0]))
    where: dict[str, tuple[tuple[str, ...], str]] = {}
    for f in functions:
        node, path = top, [top.id]
        target = draw(st.integers(0, MAX_DEPTH))
        while len(path) <= target and node.children:
            node = draw(st.sampled_from(node.children))
            path.append(node.id)
        where[f] = (tuple(path), draw(st.sampled_from(node.pops)))
    nsd = NetworkServiceDescriptor(
        ref=_ref(f"service{index}"),
        network_functions=tuple(NetworkFunctionRef(f, v.ref) for f, v in functions.items()),
        connection_points=tuple(
            ConnectionPoint(p, InterfaceType.IPV4, ConnectionPointType.EXTERNAL) for p in own
        ),
        virtual_links=tuple(links),
    )
    split = draw(st.integers(0, len(naps)))
    request = InstantiateRequest(
        request_id=f"customer/{index}",
        name=f"service{index}",
        descriptors=ServiceDescriptors(nsd, tuple({v.ref: v for v in types}.values())),
        addressing=AddressConstraints(
            ingresses=tuple(naps[:split]), egresses=tuple(naps[split:]), ip_version=ip_version
        ),
    )
    return DrawnService(SERVICE_IDS[index], request, where)


@dataclass(frozen=True)
class Scenario:
    hierarchy: SpNode
    configs: Mapping[str, AddressingConfig]
    services: tuple[DrawnService, ...]


@st.composite
def scenarios(draw: st.DrawFn, *, roomy: bool, count: int) -> Scenario:
    top = draw(hierarchies())
    config = draw(top_configs(roomy))
    configs = {top.id: config}
    for node in list(top.walk())[1:]:
        carving = draw(carvings(roomy))
        configs[node.id] = replace(
            config,
            link_prefix_length=carving.link,
            crossing_link_prefix_length=carving.crossing,
            part_block_bits=carving.part_bits,
        )
    drawn = tuple(draw(services(top, i, draw(st.sampled_from([4, 4, 6])))) for i in range(count))
    return Scenario(top, configs, drawn)


# --- the simulated nodes -------------------------------------------------------------


@dataclass
class Sp:
    """One node of the federation at run time: its pools, its PoPs and its lower SPs."""

    spec: SpNode
    config: AddressingConfig
    blocks: ServiceBlocks
    pops: dict[str, EmulatedPop]
    lowers: dict[str, Sp] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def settings(self) -> PlanSettings:
        cfg = self.config
        return PlanSettings(
            cfg.link_prefix_length, cfg.crossing_link_prefix_length, cfg.part_block_bits
        )


@dataclass
class Deployed:
    """What one node did for one service: enough to report it, check it and undo it."""

    sp: Sp
    service_id: str
    request: InstantiateRequest
    space: ServiceSpace | None = None
    from_pool: bool = False
    graph: ServiceGraph | None = None
    plan: AddressPlan | None = None
    handles: dict[LocalPart, list[tuple[HandleKind, Handle]]] = field(default_factory=dict)
    local: dict[LocalPart, ServicePart] = field(default_factory=dict)
    subs: dict[DelegatedPart, SubService] = field(default_factory=dict)
    lowers: dict[DelegatedPart, Deployed] = field(default_factory=dict)
    record: ServiceRecord | None = None
    problems: list[str] = field(default_factory=list)

    def walk(self) -> Iterator[Deployed]:
        yield self
        for lower in self.lowers.values():
            yield from lower.walk()


def _part_at(sp: Sp, where: tuple[tuple[str, ...], str]) -> Part:
    path, pop = where
    i = path.index(sp.id)
    return LocalPart(pop) if i == len(path) - 1 else DelegatedPart(path[i + 1])


async def _space(sp: Sp, request: InstantiateRequest, service_id: str) -> tuple[ServiceSpace, bool]:
    """``instantiate._space``: the upper SP's space, or one drawn from the node's pools."""
    addressing = request.addressing
    default_prefix = f"{sp.id}/{service_id[:8]}/"
    mtu = addressing.mtu or sp.config.mtu
    if not addressing.address_space:
        drawn = await sp.blocks.allocate(service_id, ip_version=addressing.ip_version or 4)
        return replace(drawn, port_id_prefix=default_prefix, mtu=mtu), True
    vnis, macs, from_pool = addressing.vni_space, addressing.mac_prefix, False
    if vnis is None or not macs:
        ids = await sp.blocks.allocate_ids(service_id)
        vnis, macs, from_pool = vnis or ids.vnis, macs or ids.macs, True
    space = ServiceSpace(
        addressing.address_space, vnis, macs, addressing.port_id_prefix or default_prefix, mtu
    )
    return space, from_pool


def _local_bindings(
    graph: ServiceGraph, placement: Placement
) -> dict[LocalPart, list[PortBinding]]:
    """``instantiate._local_bindings``: port bindings of every local function, by part."""
    out: dict[LocalPart, list[PortBinding]] = {}
    for member in graph.members:
        part = placement.parts[member.id]
        if not isinstance(part, LocalPart) or member.vnfd is None:
            continue
        external = {}
        for link in graph.links:
            for ref in link.refs:
                owner, cp = split_ref(ref)
                if owner == member.id:
                    external[cp] = link.id
        out.setdefault(part, []).extend(port_bindings(member.id, member.vnfd, external))
    return out


def _graph(request: InstantiateRequest) -> ServiceGraph:
    """``validate``: the descriptors the node received must be valid, then the graph."""
    descriptors = request.descriptors
    assert descriptors is not None
    lookup = RequestLookup(DescriptorSet(descriptors.vnfds), DescriptorSet(), ())
    problems = [*check_nsd(descriptors.nsd, lookup)]
    for vnfd in descriptors.vnfds:
        problems += check_vnfd(vnfd, paths="api")
    assert not problems, f"the drawn descriptors are invalid: {problems}"
    return build_graph(descriptors.nsd, lookup)


def _recorder(into: list[tuple[HandleKind, Handle]]) -> Callable[[HandleKind, str, Handle], None]:
    """The ``record`` callback of ``deploy_part``: keep every handle, to undo it."""

    def record(kind: HandleKind, _resource_id: str, handle: Handle) -> None:
        into.append((kind, handle))

    return record


async def instantiate(
    sp: Sp, request: InstantiateRequest, service_id: str, where: DrawnService
) -> Deployed:
    """The instantiate workflow at ``sp``; on failure, what was done is undone, then it raises."""
    done = Deployed(sp, service_id, request)
    try:
        await _instantiate(done, where)
    except BaseException:
        await terminate(done)
        raise
    return done


async def _instantiate(done: Deployed, drawn: DrawnService) -> None:
    sp, request, service_id = done.sp, done.request, done.service_id
    graph = done.graph = _graph(request)
    naps = nap_points(graph, request.addressing)
    for point, nap in naps.items():
        held = sp.blocks.holder_of(nap.nap)
        if held:
            raise FailedPrecondition(f"the NAP {nap.nap} on '{point}' lies in pool {held}")
    done.space, done.from_pool = await _space(sp, request, service_id)
    placement = Placement({m.id: _part_at(sp, drawn.where[m.id]) for m in graph.members})
    bindings = _local_bindings(graph, placement)
    delegated = placement.delegated_parts()
    plan = done.plan = plan_addresses(
        done.space,
        link_demands(
            graph, placement, [b for bs in bindings.values() for b in bs], request.addressing, naps
        ),
        [str(p) for p in delegated],
        sp.settings,
        owner=service_id,
    )
    # deploy_local
    for part in placement.local_parts():
        pop = part.pop
        handles = done.handles.setdefault(part, [])
        members = [
            LocalMember(m.id, m.vnfd)
            for m in graph.members
            if placement.parts[m.id] == part and m.vnfd
        ]

        vnfs = await deploy_part(
            sp.pops[pop], service_id[:8], members, bindings.get(part, []), plan, _recorder(handles)
        )
        done.local[part] = ServicePart(
            str(part), PartKind.LOCAL, tuple(m.member for m in members), pop=pop, vnfs=vnfs
        )
    # delegate_subservices
    for part in delegated:
        lower = part.lower
        sub = done.subs[part] = build_subservice(
            graph,
            placement,
            plan,
            request.placement,
            part,
            request_id=f"{sp.id}/{service_id}/{part}",
            name=request.name,
        )
        done.lowers[part] = await instantiate(
            sp.lowers[lower], sub.request, f"{lower}~{service_id}", drawn
        )
    # verify_addresses
    parts = []
    for part in placement.used_parts():
        if isinstance(part, LocalPart):
            parts.append(done.local[part])
            continue
        sub, lower_done = done.subs[part], done.lowers[part]
        parts.append(
            ServicePart(
                str(part),
                PartKind.DELEGATED,
                tuple(placement.members_of(part)),
                lower_sp=sub.lower,
                remote_service_id=lower_done.service_id,
                remote=lower_done.record,
                constraints=sub.request.addressing.constraints,
                address_space=sub.request.addressing.address_space,
            )
        )
    record = ServiceRecord(
        id=service_id,
        name=request.name,
        descriptor=graph.nsd.ref,
        state=ServiceState.INSTANTIATING,
        operator=sp.id,
        owner="customer",
        request_id=request.request_id,
        create_time=T0,
        update_time=T0,
        parts=tuple(parts),
        address_space=done.space.block,
    )
    done.problems = address_problems(record, sp.id)
    chosen = assignments(graph, request.addressing, plan, record.parts, sp.id)
    done.record = replace(record, state=ServiceState.ACTIVE, assignments=chosen)


async def terminate(done: Deployed) -> None:
    """The terminate workflow (also the compensation): lower SPs, local parts, addresses."""
    for lower in done.lowers.values():
        await terminate(lower)
    for part, handles in done.handles.items():

        async def forget(kind: str, resource_id: str) -> None:
            pass

        await undeploy(done.sp.pops[part.pop], list(handles), forget)
    await done.sp.blocks.release(done.service_id)


@dataclass
class Federation:
    """Every node of a drawn hierarchy, with the database their pools are stored in."""

    db: Database
    store: AddressStore
    nodes: dict[str, Sp]

    @property
    def top(self) -> Sp:
        return self.nodes[TOP]

    async def snapshot(self) -> tuple[object, ...]:
        """Every pool of every node (held and stored), and every PoP's resources."""
        held = tuple((n, tuple(sorted(sp.blocks.held().items()))) for n, sp in self.nodes.items())
        stored = tuple(
            sorted((a.pool, a.prefix, a.owner, a.purpose) for a in await self.store.all())
        )
        vims = tuple(
            (name, len(pop.networks()), len(pop.ports()), len(pop.servers()))
            for sp in self.nodes.values()
            for name, pop in sorted(sp.pops.items())
        )
        return held, stored, vims

    async def close(self) -> None:
        for sp in self.nodes.values():
            for pop in sp.pops.values():
                await pop.close()
        await self.db.close()


async def federation(scenario: Scenario) -> Federation:
    db = Database.connect("sqlite://")
    await db.migrate()
    store = AddressStore(db)
    vims = MemoryPopStateStore()
    nodes: dict[str, Sp] = {}
    for spec in scenario.hierarchy.walk():
        config = scenario.configs[spec.id]
        blocks = ServiceBlocks(config, store)
        await blocks.start()
        pops = {name: EmulatedPop(name, "eu", ROOM, vims) for name in spec.pops}
        for pop in pops.values():
            await pop.start()
        nodes[spec.id] = Sp(spec, config, blocks, pops)
    for sp in nodes.values():
        sp.lowers = {c.id: nodes[c.id] for c in sp.spec.children}
    return Federation(db, store, nodes)


# --- the properties ------------------------------------------------------------------


@dataclass(frozen=True)
class Interface:
    holder: str
    address: str
    mac: str
    port_id: str


def interfaces(top: Deployed) -> list[Interface]:
    """Every port of the service tree (its address is "" on a private network), and the
    customers' own points at the top."""
    out = []
    for done in top.walk():
        for part in done.local.values():
            for vnf in part.vnfs:
                for unit in vnf.units:
                    out += [
                        Interface(
                            f"{done.sp.id}/{done.service_id}/{vnf.vnf_id}/{unit.unit_id}:"
                            f"{p.connection_point}",
                            "" if p.private else p.address,
                            p.mac,
                            p.port_id,
                        )
                        for p in unit.ports
                    ]
    assert top.graph is not None
    assert top.plan is not None
    own = {cp.id for cp in top.graph.own_points}
    for lp in top.plan.links.values():
        out += [
            Interface(f"{top.service_id}/{point}", address, "", "")
            for point, address in lp.addresses.items()
            if point in own
        ]
    return out


def held_twice(values: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    holders: dict[str, list[str]] = defaultdict(list)
    for holder, value in values:
        if value:
            holders[value].append(holder)
    return {value: who for value, who in holders.items() if len(who) > 1}


def assert_unique(ifaces: Sequence[Interface]) -> None:
    """Property 1: no address, MAC or port id twice."""
    ips = held_twice(
        (i.holder, str(ipaddress.ip_interface(i.address).ip)) for i in ifaces if i.address
    )
    assert not ips, f"addresses held twice: {ips}"
    macs = held_twice((i.holder, i.mac.lower()) for i in ifaces)
    assert not macs, f"MACs held twice: {macs}"
    port_ids = held_twice((i.holder, i.port_id) for i in ifaces)
    assert not port_ids, f"port ids held twice: {port_ids}"
    assert all(i.port_id and i.mac for i in ifaces if i.port_id or i.mac)


def _inside(inner: ServiceSpace, outer: ServiceSpace) -> list[str]:
    out = []
    if not ipaddress.ip_network(inner.block).subnet_of(ipaddress.ip_network(outer.block)):  # type: ignore[arg-type]
        out.append(f"block {inner.block} outside {outer.block}")
    if not (outer.vnis.first <= inner.vnis.first and inner.vnis.last <= outer.vnis.last):
        out.append(f"VNIs {inner.vnis} outside {outer.vnis}")
    mine, theirs = parse_mac_block(inner.macs), parse_mac_block(outer.macs)
    if not (theirs.start <= mine.start and mine.start + mine.size <= theirs.start + theirs.size):
        out.append(f"MACs {inner.macs} outside {outer.macs}")
    if not inner.port_id_prefix.startswith(outer.port_id_prefix):
        out.append(f"port ids '{inner.port_id_prefix}' not under '{outer.port_id_prefix}'")
    if inner.mtu > outer.mtu:
        out.append(f"MTU {inner.mtu} above {outer.mtu}")
    return out


def assert_inside_constraints(top: Deployed, customer: InstantiateRequest) -> None:
    """Property 2, at every node: each lower SP's space is inside its upper's, its reports
    answer exactly the constraints it was given and honour them, and every address of its
    subtree lies inside what its part was given. At the top: inside the block or a NAP's /31."""
    for done in top.walk():
        assert done.record is not None
        assert done.space is not None
        assert done.problems == [], f"{done.sp.id}: {done.problems}"
        for part, lower in done.lowers.items():
            given = lower.request.addressing.constraints
            by_point = {c.connection_point: c for c in given}
            assert lower.space is not None
            assert lower.record is not None
            assert not _inside(lower.space, done.space), (part, _inside(lower.space, done.space))
            reports = lower.record.assignments
            assert {a.connection_point for a in reports} == set(by_point), (part, reports, given)
            subtree = {d.sp.id for d in lower.walk()}
            for a in reports:
                assert a.chosen_by in subtree, (part, a)
                problems = assignment_problems(by_point[a.connection_point], a, lower.sp.id)
                assert problems == [], problems
            allowed = [lower.request.addressing.address_space, *(c.prefix for c in given)]
            addresses = [i.address for i in interfaces(lower) if i.address]
            assert outside_constraints(allowed, addresses) == [], (part, allowed)
    assert top.space is not None
    naps = (*customer.addressing.ingresses, *customer.addressing.egresses)
    v4 = top.space.block.count(":") == 0
    allowed = [top.space.block]
    allowed += [str(ipaddress.ip_interface(f"{n.nap}/{31 if v4 else 127}").network) for n in naps]
    outside = outside_constraints(allowed, [i.address for i in interfaces(top) if i.address])
    assert outside == [], (allowed, outside)


def assert_names_what_ran_out(error: ResourceExhausted) -> None:
    assert error.quota_violations, f"{error.describe()} names nothing that ran out"
    assert all(v.subject and v.description for v in error.quota_violations), error.describe()


def _spaces_overlap(a: ServiceSpace, b: ServiceSpace) -> list[str]:
    out = []
    if ipaddress.ip_network(a.block).overlaps(ipaddress.ip_network(b.block)):
        out.append(f"blocks {a.block} and {b.block}")
    if a.vnis.first <= b.vnis.last and b.vnis.first <= a.vnis.last:
        out.append(f"VNIs {a.vnis} and {b.vnis}")
    ma, mb = parse_mac_block(a.macs), parse_mac_block(b.macs)
    if ma.start < mb.start + mb.size and mb.start < ma.start + ma.size:
        out.append(f"MACs {a.macs} and {b.macs}")
    return out


def _stats(scenario: Scenario, outcome: str, tops: Sequence[Deployed]) -> None:
    h = scenario.hierarchy
    event(f"hierarchy depth {h.depth}")
    event(f"hierarchy fan-out {h.fan_out}")
    event(f"hierarchy nodes {'<=10' if len(list(h.walk())) <= 10 else '>10'}")
    event(outcome)
    for top in tops:
        reached = max(len(d.sp.id.split("-")) - 1 for d in top.walk())
        event(f"service reached depth {reached}")
        event(f"service IPv{6 if ':' in (top.space.block if top.space else '') else 4}")
        event(f"service nodes {'<=5' if len(list(top.walk())) <= 5 else '>5'}")


async def _run(scenario: Scenario) -> None:
    fed = await federation(scenario)
    try:
        start = await fed.snapshot()
        runs = await asyncio.gather(
            *(instantiate(fed.top, s.request, s.service_id, s) for s in scenario.services),
            return_exceptions=True,
        )
        tops: list[Deployed] = []
        outcome = "ok"
        for drawn, run in zip(scenario.services, runs, strict=True):
            if isinstance(run, ResourceExhausted):
                note(f"{drawn.service_id}: {run.describe()}")
                assert_names_what_ran_out(run)
                outcome = f"exhausted: {run.quota_violations[0].subject.split(':')[0]}"
            elif isinstance(run, BaseException):
                raise run
            else:
                assert_inside_constraints(run, drawn.request)
                tops.append(run)
        _stats(scenario, outcome, tops)
        assert_unique([i for top in tops for i in interfaces(top)])
        if len(tops) == 2:
            assert tops[0].space is not None
            assert tops[1].space is not None
            assert _spaces_overlap(tops[0].space, tops[1].space) == []
        # Terminate one service after the other: each releases exactly what it holds.
        with_all = fed.top.blocks.held()
        for i, top in enumerate(tops):
            await terminate(top)
            gone = {t.service_id for t in tops[: i + 1]}
            assert fed.top.blocks.held() == {k: v for k, v in with_all.items() if v not in gone}
        assert await fed.snapshot() == start
    finally:
        await fed.close()


# --- tests ---------------------------------------------------------------------------

_SETTINGS = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
@given(scenarios(roomy=True, count=1))
def test_one_service_on_roomy_pools_keeps_every_promise_and_terminate_restores_the_pools(
    scenario: Scenario,
) -> None:
    asyncio.run(_run(scenario))


@_SETTINGS
@given(scenarios(roomy=True, count=2))
def test_two_services_at_once_never_overlap_and_are_released_independently(
    scenario: Scenario,
) -> None:
    asyncio.run(_run(scenario))


@_SETTINGS
@given(scenarios(roomy=False, count=2))
def test_whatever_runs_dry_is_named_and_compensation_restores_the_pools(
    scenario: Scenario,
) -> None:
    asyncio.run(_run(scenario))
