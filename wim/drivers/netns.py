"""The netns WIM driver: connectivity services as VXLAN segments between gateway namespaces.

It builds the data plane of ``spfed.netns`` along the names of ``spfed.netns.layout``:

- every node of the WAN graph is a *gateway* namespace (``wan_gateways``): a PoP ``p``
  is ``pop_gateway(node, p)``; a border point toward peer ``q`` is
  ``border_gateway(node, q)``, the **one** namespace both operators see; a border
  point without a peer (a customer edge) is ``edge.<node>.<border id>``;
- every WAN link is a veth pair between the gateways of its two ends (``start``);
- a connectivity service joins the L2 domain of one service link. In every gateway
  it touches (endpoints and transit nodes) that domain is the bridge labelled by the
  link's plan VNI (``layout.link_bridge_label``), which the lifecycle puts in every
  endpoint's ``interface`` hint. Each segment of the service is one VXLAN device at
  both ends of its WAN link, with the segment's own VNI, enslaved to that bridge. So
  the VIM (VNF ports), this WIM and the neighbouring operator's WIM all meet on the
  same bridge, without talking to each other.

**One prefix per topology.** Border gateways are found by name, so every node of a
topology, and the VIMs of their PoPs, must give their ``Fabric`` the same prefix
(``wim.netns_prefix``). ``default_prefix`` derives one from the node id for a node
that runs alone.

Derived values are deterministic, so that a restarted node finds its objects again
(every create of ``Fabric`` takes over what exists):

- underlay: each WAN link gets a /31 of ``100.64.0.0/10`` picked by a hash of
  (node id, link id); links of one node never share one (a collision is rehashed,
  links taken in id order). Two nodes' links may collide (2^21 slots), which matters
  only if both end in one shared border gateway;
- VXLAN UDP port: ``4789 + hash(node id, link id) mod 16384`` per WAN link. Linux
  demultiplexes VXLAN by (dstport, VNI) in a namespace, so two operators' segments in
  a shared border gateway clash only if both the port and the VNI match (and VNI
  pools are disjoint across a topology);
- labels (hence Linux names) of WAN links and segments carry the node id, so two
  nodes' objects in a shared gateway never share a name.

Created items, each ``"<netns>/<ifname>"``: ``vxlan``, every segment device (a device
of this service's segment that already existed, left by an interrupted attempt, is
counted as created: it can only be this service's); ``bridge``, the bridges this
service created (not those it found, e.g. the VIM's); ``shaping``, the devices shaped
to the service's bandwidth (the shaping goes with its device). ``remove`` deletes
the segment devices, then each of its bridges that no port is enslaved to any more.
A bridge it found is left alone, even when empty: its creator removes it.

Lifetime: ``start`` builds the gateways and WAN links; ``stop`` leaves the data
plane as it is (services survive a restart: the next ``start`` takes it over and
``adopt`` needs nothing); ``teardown`` removes what the node built.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from spfed.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from spfed.gathering import gather_all
from spfed.netns import (
    BridgeSpec,
    Fabric,
    GatewaySpec,
    IpRoute,
    Namespace,
    ShapingSpec,
    VxlanSpec,
    WanLinkSpec,
    check_prefix,
    interface_name,
    owned_by,
)
from spfed.netns import WanLink as VethLink
from spfed.netns.inventory import link_info
from spfed.netns.layout import border_gateway, pop_gateway
from wim.graph import WanGraph
from wim.services import ConnectivityHandle, ServiceStatus

__all__ = [
    "UNDERLAY",
    "VXLAN_PORT_BASE",
    "VXLAN_PORT_SPAN",
    "NetnsWimDriver",
    "bridge_ports",
    "default_prefix",
    "underlay_addresses",
    "vxlan_port",
    "wan_gateways",
]

_log = logging.getLogger(__name__)

UNDERLAY = ipaddress.IPv4Network("100.64.0.0/10")
"""Where the underlay /31 of every WAN link is taken from (shared address space)."""
VXLAN_PORT_BASE = 4789
"""The lowest VXLAN UDP port (the IANA one)."""
VXLAN_PORT_SPAN = 16384
"""How many ports from ``VXLAN_PORT_BASE`` a WAN link's port is hashed into."""

_VXLAN = "vxlan"
_BRIDGE = "bridge"
_SHAPING = "shaping"
_LABEL_MAX = 64
_MIN_RATE_BPS = 8_000


def _hash(*parts: str) -> int:
    """A stable 64-bit hash of ``parts`` (ids hold no ``/``, so joining by it is injective)."""
    digest = hashlib.blake2s("/".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _label(*parts: str) -> str:
    """``parts`` joined by ``.``; past 64 characters, cut and ended by a hash of the whole."""
    label = ".".join(parts)
    if len(label) <= _LABEL_MAX:
        return label
    return f"{label[: _LABEL_MAX - 13]}~{_hash(label) % 16**12:012x}"


def default_prefix(node_id: str) -> str:
    """A data plane prefix derived from the node id: ``n`` and 7 characters of its hash.

    The same at every start. For a node alone: nodes of one topology must share one
    prefix (``wim.netns_prefix``), or they do not meet in their border gateways.
    """
    digest = hashlib.blake2s(node_id.encode(), digest_size=5).digest()
    return check_prefix("n" + base64.b32encode(digest).decode().lower()[:7])


def wan_gateways(
    node_id: str, pops: Iterable[str], borders: Mapping[str, str]
) -> dict[str, GatewaySpec]:
    """The gateway of every WAN node: PoPs by name, border points by id.

    ``borders`` maps a border point id to its peer ("" for a customer edge). A border
    toward a peer is the gateway that peer shares (``layout.border_gateway``); a
    customer edge is this node's own ``edge.<node>.<border id>``.

    Raises:
        InvalidArgument: a gateway label would be malformed (longer than 64 characters).
    """
    gateways = {pop: pop_gateway(node_id, pop) for pop in pops}
    for border, peer in borders.items():
        gateways[border] = (
            border_gateway(node_id, peer) if peer else GatewaySpec(f"edge.{node_id}.{border}")
        )
    return gateways


def underlay_addresses(node_id: str, link_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The underlay addresses (``a`` end, ``b`` end, each with ``/31``) of each WAN link.

    A hash of (node id, link id) picks the /31 in ``UNDERLAY``; a /31 already given to
    another link of the node is rehashed (links in id order), so the same links always
    get the same addresses.
    """
    slots = UNDERLAY.num_addresses // 2
    taken: set[int] = set()
    found: dict[str, tuple[str, str]] = {}
    for link_id in sorted(link_ids):
        attempt = 0
        while (slot := _hash(node_id, link_id, str(attempt)) % slots) in taken:
            attempt += 1
        taken.add(slot)
        first = UNDERLAY.network_address + 2 * slot
        found[link_id] = (f"{first}/31", f"{first + 1}/31")
    return found


def vxlan_port(node_id: str, link_id: str) -> int:
    """The UDP port of every VXLAN segment over one WAN link of one node."""
    return VXLAN_PORT_BASE + _hash(node_id, link_id) % VXLAN_PORT_SPAN


async def bridge_ports(netns: str, bridge: str, *, ip: IpRoute | None = None) -> tuple[str, ...]:
    """The interfaces enslaved to ``bridge`` in namespace ``netns`` right now.

    Raises:
        NotFound: the bridge or the namespace is gone.
    """
    entries = await (ip or IpRoute()).ip_json("link", "show", "master", bridge, netns=netns)
    return tuple(str(entry.get("ifname", "")) for entry in entries)


def _item(netns: str, ifname: str) -> str:
    return f"{netns}/{ifname}"


@dataclass(frozen=True)
class _Hop:
    """One segment of a service, resolved to the data plane."""

    link: VethLink
    """The WAN link's veth pair."""
    label: str
    """The segment's label (its devices' names derive from it)."""
    vni: int
    """The segment's VNI."""
    dstport: int
    """The WAN link's VXLAN port."""
    ends: tuple[Namespace, Namespace]
    """The gateways at its two ends."""


@dataclass(frozen=True)
class _Plan:
    """What ``realise`` builds for one service."""

    bridge_label: str
    """The service link's bridge label, the same in every gateway."""
    gateways: tuple[Namespace, ...]
    """Every gateway the service touches, once each."""
    hops: tuple[_Hop, ...]
    """Its segments."""


class NetnsWimDriver:
    """A ``WimDriver`` that builds services in network namespaces; see the module docstring."""

    def __init__(
        self,
        node_id: str,
        graph: WanGraph,
        gateways: Mapping[str, GatewaySpec],
        fabric: Fabric,
        *,
        ip: IpRoute | None = None,
    ) -> None:
        """Bind to a node's WAN; nothing is built before ``start``.

        ``gateways`` gives the gateway of every node of ``graph`` (see ``wan_gateways``).
        ``ip`` runs the driver's own queries and deletions (the fabric has its own).

        Raises:
            InvalidArgument: a node has no gateway, or a link joins two nodes of one
                gateway (a veth pair needs two namespaces).
        """
        violations = [
            FieldViolation("gateways", f"no gateway for WAN node '{node}'")
            for node in sorted(graph.nodes - gateways.keys())
        ]
        violations += [
            FieldViolation("gateways", f"link '{link.id}' joins two nodes of one gateway")
            for link in graph.links.values()
            if link.a in gateways and link.b in gateways and gateways[link.a] == gateways[link.b]
        ]
        if violations:
            raise InvalidArgument("invalid netns WIM gateways", field_violations=violations)
        self._node_id = node_id
        self._graph = graph
        self._gateways = dict(gateways)
        self._fabric = fabric
        self._ip = ip or IpRoute()
        self._underlay = underlay_addresses(node_id, graph.links)
        self._namespaces: dict[str, Namespace] = {}
        self._links: dict[str, VethLink] = {}
        self._started = False

    @property
    def prefix(self) -> str:
        """The prefix of everything the driver creates."""
        return self._fabric.prefix

    # -- lifetime --------------------------------------------------------------------------

    async def start(self) -> None:
        """Create (or take over) every gateway and every WAN link of the graph; idempotent.

        Raises:
            FailedPrecondition: not permitted (needs root), or a name is taken by
                something else. What was built stays (a retry takes it over).
        """
        specs = {spec.label: spec for spec in self._gateways.values()}
        made = await gather_all(*(self._fabric.add_gateway(spec) for spec in specs.values()))
        namespaces = {namespace.label: namespace for namespace in made}
        links = await gather_all(
            *(
                self._fabric.add_wan_link(
                    WanLinkSpec(
                        _label(self._node_id, link.id),
                        namespaces[self._gateways[link.a].label],
                        self._underlay[link.id][0],
                        namespaces[self._gateways[link.b].label],
                        self._underlay[link.id][1],
                    )
                )
                for link in self._graph.links.values()
            )
        )
        self._namespaces = namespaces
        self._links = dict(zip(self._graph.links, links, strict=True))
        self._started = True
        _log.info(
            "wim.netns.started node=%s prefix=%s gateways=%d links=%d",
            self._node_id,
            self.prefix,
            len(namespaces),
            len(links),
        )

    async def stop(self) -> None:
        """Let go of the data plane, leaving it as it is; ``start`` takes it over again."""
        self._namespaces = {}
        self._links = {}
        self._started = False

    async def teardown(self) -> None:
        """Remove what this node built: its segment devices, its WAN links, unused gateways.

        Segment devices are found by their local address (this node's underlay). A
        gateway is deleted when only ``lo`` and bridges without ports are left in it: a
        border gateway another operator still links to, or a PoP gateway where the VIM
        still attaches VNFs, stays. Bridges left in a gateway that stays are their
        creators' to remove. The driver is stopped afterwards.

        Raises:
            FailedPrecondition: the driver is not started.
        """
        links = list(self._started_links().values())
        local = {
            (namespace.name, str(ipaddress.ip_interface(address).ip))
            for link in links
            for namespace, address in ((link.a, link.a_address), (link.b, link.b_address))
        }
        gateways = list(self._namespaces.values())
        await gather_all(*(self._delete_segments(namespace, local) for namespace in gateways))
        await gather_all(*(self._fabric.delete_wan_link(link) for link in links))
        await gather_all(*(self._delete_gateway_if_unused(namespace) for namespace in gateways))
        await self.stop()
        _log.info("wim.netns.torn_down node=%s prefix=%s", self._node_id, self.prefix)

    # -- WimDriver -------------------------------------------------------------------------

    async def realise(self, handle: ConnectivityHandle) -> Mapping[str, tuple[str, ...]]:
        """Join the service's bridge in every gateway it touches, and build its segments.

        Raises:
            InvalidArgument: the endpoints carry no bridge label (``interface``), or
                different ones, or a VLAN; or a node or link is not of the graph.
            FailedPrecondition: the driver is not started; part of the data plane is
                missing (a gateway or WAN link deleted behind the node's back); another
                device holds a segment's (VNI, port) in a gateway; or not permitted.
            Internal: building failed otherwise. On any error (or cancellation)
                nothing this call created is left behind.
        """
        plan = self._plan(handle)
        existed = await gather_all(
            *(self._exists(gw.name, self._bridge_name(gw, plan)) for gw in plan.gateways)
        )
        fresh = {gw.name for gw, found in zip(plan.gateways, existed, strict=True) if not found}
        try:
            items = await self._build(handle, plan, fresh)
        except BaseException as exc:
            await self._undo(handle.service_id, plan, fresh)
            # Neither is the service's own state: a NotFound is not "no such service", and an
            # AlreadyExists must not read as "this service exists" (``book_wan`` skips those).
            if isinstance(exc, NotFound | AlreadyExists):
                raise FailedPrecondition(
                    f"the data plane of node {self._node_id} cannot carry connectivity service "
                    f"{handle.service_id}: {exc.message} (a missing gateway or WAN link is built "
                    "again when the node starts)",
                    metadata=exc.metadata,
                ) from exc
            raise
        _log.info(
            "wim.netns.realised service=%s bridge=%s vxlans=%d bridges_created=%d shaped=%d",
            handle.service_id,
            plan.bridge_label,
            len(items[_VXLAN]),
            len(items[_BRIDGE]),
            len(items[_SHAPING]),
        )
        return items

    async def adopt(self, handle: ConnectivityHandle) -> None:
        """Nothing to do: the created items name everything; ``status`` checks them."""

    async def remove(self, handle: ConnectivityHandle) -> None:
        """Delete the service's segment devices, then its bridges no port uses any more.

        Idempotent: what is gone (devices, namespaces) is skipped.

        Raises:
            FailedPrecondition: an item is not of this driver's prefix (the prefix was
                changed since the service was built); nothing is removed.
        """
        bridges = self._items(handle, _BRIDGE) + self._touched_bridges(handle)
        await self._delete(self._items(handle, _VXLAN), list(dict.fromkeys(bridges)))
        _log.info("wim.netns.removed service=%s", handle.service_id)

    def _touched_bridges(self, handle: ConnectivityHandle) -> list[tuple[str, str]]:
        """The link's bridge in every gateway the service touches, whoever created it.

        In a gateway shared with a neighbour (a border), the side that removes the
        last port must remove the bridge, or an empty one is left behind; the VIM's
        bridges with VNF ports still on them are kept, as any bridge with a port.
        """
        try:
            plan = self._plan(handle)
        except (InvalidArgument, FailedPrecondition):
            return []  # the WAN changed since: what the service created is all we know
        return [(g.name, self._bridge_name(g, plan)) for g in plan.gateways]

    async def status(self, handle: ConnectivityHandle) -> ServiceStatus:
        """``ACTIVE`` when every segment device exists, is up and enslaved to a bridge.

        Raises:
            FailedPrecondition: an item is not of this driver's prefix.
        """
        by_netns: dict[str, set[str]] = {}
        for netns, ifname in self._items(handle, _VXLAN):
            by_netns.setdefault(netns, set()).add(ifname)
        healthy = await gather_all(
            *(self._segments_healthy(netns, names) for netns, names in by_netns.items())
        )
        return ServiceStatus.ACTIVE if all(healthy) else ServiceStatus.DOWN

    # -- helpers ---------------------------------------------------------------------------

    def _started_links(self) -> Mapping[str, VethLink]:
        if not self._started:
            raise FailedPrecondition(f"the netns WIM driver of node {self._node_id} is not started")
        return self._links

    def _plan(self, handle: ConnectivityHandle) -> _Plan:
        labels = {endpoint.interface for endpoint in handle.endpoints}
        if len(labels) != 1 or not next(iter(labels)):
            raise InvalidArgument(
                f"connectivity service {handle.service_id} names no single bridge",
                field_violations=[
                    FieldViolation(
                        "endpoints.interface",
                        "every endpoint carries the service link's bridge label, e.g. 'vni4242'",
                    )
                ],
            )
        if any(endpoint.vlan for endpoint in handle.endpoints):
            raise InvalidArgument(
                "the netns WIM driver attaches untagged only",
                field_violations=[FieldViolation("endpoints.vlan", "0 (untagged)")],
            )
        links = self._started_links()
        nodes = [endpoint.node for endpoint in handle.endpoints]
        nodes += [node for segment in handle.segments for node in (segment.a, segment.b)]
        unknown = sorted({node for node in nodes if node not in self._gateways})
        unknown += sorted({s.link_id for s in handle.segments if s.link_id not in links})
        if unknown:
            raise InvalidArgument(
                f"connectivity service {handle.service_id} uses what the WAN does not have: "
                f"{', '.join(unknown)}"
            )
        gateways = {self._namespace(node).name: self._namespace(node) for node in nodes}
        hops = tuple(
            _Hop(
                link=links[segment.link_id],
                label=_label(self._node_id, segment.link_id, str(segment.vni)),
                vni=segment.vni,
                dstport=vxlan_port(self._node_id, segment.link_id),
                ends=(self._namespace(segment.a), self._namespace(segment.b)),
            )
            for segment in handle.segments
        )
        return _Plan(next(iter(labels)), tuple(gateways.values()), hops)

    def _namespace(self, node: str) -> Namespace:
        return self._namespaces[self._gateways[node].label]

    def _bridge_name(self, gateway: Namespace, plan: _Plan) -> str:
        # Known before creating, it tells a bridge this call creates from one it takes over.
        return self._fabric.bridge(BridgeSpec(gateway, plan.bridge_label)).ifname

    async def _build(
        self, handle: ConnectivityHandle, plan: _Plan, fresh: set[str]
    ) -> dict[str, tuple[str, ...]]:
        """Bridges, then segments, then shaping; returns the created items."""
        made = await gather_all(
            *(self._fabric.add_bridge(BridgeSpec(gw, plan.bridge_label)) for gw in plan.gateways)
        )
        bridges = {bridge.gateway.name: bridge for bridge in made}
        segments = await gather_all(
            *(
                self._fabric.add_vxlan(
                    VxlanSpec.across(
                        hop.link,
                        bridges[end.name],
                        label=hop.label,
                        vni=hop.vni,
                        dstport=hop.dstport,
                    )
                )
                for hop in plan.hops
                for end in hop.ends
            )
        )
        shaped: list[ShapingSpec] = []
        if handle.bandwidth_mbps > 0:
            rate = max(round(handle.bandwidth_mbps * 1_000_000), _MIN_RATE_BPS)
            shaped = await gather_all(
                *(
                    self._fabric.shape(ShapingSpec(segment.bridge.gateway, segment.ifname, rate))
                    for segment in segments
                )
            )
        return {
            _VXLAN: tuple(_item(s.bridge.gateway.name, s.ifname) for s in segments),
            _BRIDGE: tuple(
                _item(b.gateway.name, b.ifname) for b in made if b.gateway.name in fresh
            ),
            _SHAPING: tuple(_item(spec.namespace.name, spec.ifname) for spec in shaped),
        }

    async def _undo(self, service_id: str, plan: _Plan, fresh: set[str]) -> None:
        """Delete what a failed ``realise`` may have made, by name; log (not raise) a failure.

        By name, because a create interrupted before ``Fabric`` returned its handle may
        have made its device all the same. Every segment device is this service's; of the
        bridges, only those that did not exist before, and only without ports.
        """
        prefix = self.prefix
        # Fabric names a segment device after ("vx", gateway label, segment label).
        segments = [
            (end.name, interface_name(prefix, "vx", end.label, hop.label))
            for hop in plan.hops
            for end in hop.ends
        ]
        bridges = [
            (gw.name, self._bridge_name(gw, plan)) for gw in plan.gateways if gw.name in fresh
        ]
        try:
            await self._delete(segments, bridges)
        except Exception:
            # The failure that made us undo is what the caller needs; this must not hide it.
            _log.exception("wim.netns.leaked service=%s", service_id)

    async def _delete(
        self, segments: Sequence[tuple[str, str]], bridges: Sequence[tuple[str, str]]
    ) -> None:
        """Delete the segment devices, then the bridges no port is enslaved to; all by name."""
        await gather_all(*(self._delete_link(netns, ifname) for netns, ifname in segments))
        await gather_all(*(self._delete_bridge_if_unused(netns, br) for netns, br in bridges))

    def _items(self, handle: ConnectivityHandle, kind: str) -> list[tuple[str, str]]:
        found = []
        for item in handle.created_items.get(kind, ()):
            netns, _, ifname = item.rpartition("/")
            if not (owned_by(self.prefix, netns) and owned_by(self.prefix, ifname)):
                raise FailedPrecondition(
                    f"connectivity service {handle.service_id} holds {kind} {item!r}, which is "
                    f"not of this node's data plane prefix {self.prefix!r}"
                )
            found.append((netns, ifname))
        return found

    async def _exists(self, netns: str, ifname: str) -> bool:
        try:
            await self._ip.ip("link", "show", "dev", ifname, netns=netns)
        except NotFound:
            return False
        return True

    async def _delete_link(self, netns: str, ifname: str) -> None:
        with contextlib.suppress(NotFound):
            await self._ip.ip("link", "delete", "dev", ifname, netns=netns)

    async def _delete_bridge_if_unused(self, netns: str, bridge: str) -> None:
        with contextlib.suppress(NotFound):
            if not await bridge_ports(netns, bridge, ip=self._ip):
                await self._ip.ip("link", "delete", "dev", bridge, netns=netns)

    async def _segments_healthy(self, netns: str, names: set[str]) -> bool:
        try:
            entries = await self._ip.ip_json("link", "show", "type", "vxlan", netns=netns)
        except NotFound:
            return False
        healthy = {
            str(entry.get("ifname"))
            for entry in entries
            if "UP" in (entry.get("flags") or []) and entry.get("master")
        }
        return names <= healthy

    async def _delete_segments(self, gateway: Namespace, local: set[tuple[str, str]]) -> None:
        """Delete the VXLAN devices of ``gateway`` whose local address is this node's."""
        with contextlib.suppress(NotFound):
            entries = await self._ip.ip_json(
                "-d", "link", "show", "type", "vxlan", netns=gateway.name
            )
            for entry in entries:
                data = (entry.get("linkinfo") or {}).get("info_data") or {}
                if (gateway.name, str(data.get("local", ""))) in local:
                    await self._delete_link(gateway.name, str(entry.get("ifname")))

    async def _delete_gateway_if_unused(self, gateway: Namespace) -> None:
        try:
            entries = await self._ip.ip_json("-d", "link", "show", netns=gateway.name)
        except NotFound:
            return
        links = [link_info(entry) for entry in entries]
        # A bridge's ports are veth or VXLAN devices: with only lo and bridges left, no port is.
        if all(link.name == "lo" or link.kind == "bridge" for link in links):
            await self._fabric.delete_namespace(gateway)
