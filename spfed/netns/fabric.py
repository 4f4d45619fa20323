"""The data plane of emulated PoPs, built from network namespaces, veths, bridges and VXLAN.

::

    gateway ns (PoP A)                          gateway ns (PoP B)
    ┌──────────────────────────┐   WAN/border   ┌──────────────────────────┐
    │ bridge(vl) ── vxlan(vni) ├── veth pair ───┤ vxlan(vni) ── bridge(vl) │
    │    │                     │  underlay /31  │                  │       │
    └────┼─────────────────────┘                └──────────────────┼───────┘
         │ veth                                                    │ veth
    ┌────┴─────┐                                              ┌────┴─────┐
    │ VNF ns   │  forwards IP: a chain is a chain of routers  │ VNF ns   │
    └──────────┘                                              └──────────┘

A virtual link is one bridge per gateway it touches; each hop of its path is one
VXLAN segment (its own VNI) enslaved to the bridges at the two ends of the hop, so
a link crossing several hops is bridged at the transit gateways, and the path the
WIM chose is the path packets take. No underlay routing is needed: a segment only
ever reaches the peer of one veth link.

VNIs: Linux demultiplexes incoming VXLAN by (dstport, VNI) only, so it refuses a
second VXLAN device with the same VNI and dstport in one namespace, whatever its
local or remote address. Each (VNI, dstport) is thus usable once per *gateway*, and
the two ends of a hop share it. ``vxlan_conflicts`` checks a plan before building;
``add_vxlan`` raises ``AlreadyExists`` naming the device that holds the pair;
``used_vxlan_keys`` lists the pairs a gateway holds. A per-WAN-link dstport makes
the VNI space per link instead of per gateway.

``Fabric`` is bound to a prefix (see ``names``) that every created namespace and
interface carries. Its operations are idempotent:

- A create may be repeated: the names are derived from the labels, an existing
  object of the same name and kind (and alias) is taken over and brought to the
  spec (MTU, addresses, MAC, master, up). An object of that name that is something
  else raises ``FailedPrecondition``.
- A create that raises (or is cancelled) deletes what it made itself, so it leaves
  nothing behind; what it only took over stays.
- A delete of what is already gone (or whose namespace is gone) succeeds.
- ``bridge(spec)`` and ``vnf_namespace(spec)`` give the handle a create would return,
  without creating anything: a caller that lost its handles (a restarted node) can
  still delete from its specs.
- ``cleanup(prefix)`` removes every namespace and stray interface of the prefix:
  crash recovery and test teardown. ``inventory(prefix)`` lists what exists.

Undo in reverse order: routes and shaping, attachments, VXLAN segments, bridges,
WAN links, namespaces. Deleting a namespace deletes what is in it, and the far ends
of its veth pairs; the kernel does that a little later (namespace teardown is
asynchronous), so an inventory taken right after may still show those far ends.

Quiet interfaces: an interface carries the addresses of the plan and nothing else, so
that a slice's packet counters count the slice's traffic only.

- IPv6 is disabled on every interface (namespace default) except those given IPv6
  addresses, and no interface generates addresses (``addrgenmode none``): otherwise
  a router sends MLD reports for the all-routers groups as soon as a link is up.
- A VNF interface given IPv6 addresses also gets its link-local address (EUI-64 of
  its MAC, without duplicate address detection, so usable at once): Linux sends the
  neighbour solicitation for a *forwarded* packet from a link-local source only, so
  a router without one cannot resolve its next hop.
- Bridges do no multicast snooping: they flood multicast like the segment they
  emulate, and send no IGMP/MLD reports for the all-snoopers groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import sys
from collections.abc import AsyncIterator

from spfed.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

from ._invoke import agent_argv
from .inventory import Inventory, LinkInfo, NamespaceInventory, cleanup, inventory, link_info
from .ip import IpRoute, JsonObject
from .names import check_prefix, interface_name, namespace_name, owned_by
from .specs import (
    Attachment,
    AttachmentSpec,
    Bridge,
    BridgeSpec,
    GatewaySpec,
    Namespace,
    Role,
    RouteSpec,
    ShapingSpec,
    VnfSpec,
    Vxlan,
    VxlanSpec,
    WanLink,
    WanLinkSpec,
)

__all__ = [
    "Fabric",
    "Inventory",
    "LinkInfo",
    "NamespaceInventory",
    "cleanup",
    "eui64_link_local",
    "inventory",
]


def eui64_link_local(mac: str) -> str:
    """The IPv6 link-local address (``fe80::/64``, modified EUI-64) of a MAC, with its length."""
    octets = bytearray(int(part, 16) for part in mac.split(":"))
    octets[0] ^= 0x02
    interface_id = bytes(octets[:3]) + bytes([0xFF, 0xFE]) + bytes(octets[3:])
    address = ipaddress.IPv6Address(bytes([0xFE, 0x80]) + bytes(6) + interface_id)
    return f"{address}/64"


_FORWARDING = ("net/ipv4/ip_forward=1", "net/ipv6/conf/all/forwarding=1")


def _alias(*labels: str) -> str:
    return "spfed:" + "/".join(labels)


class Fabric:
    """Builds and removes the data plane objects of one prefix; see the module docstring."""

    def __init__(self, prefix: str, *, ip: IpRoute | None = None, python: str = "") -> None:
        """Bind to ``prefix`` (2 to 8 of ``[a-z0-9]``, see ``names``).

        ``python`` runs the in-namespace helper (sysctl); default ``sys.executable``.

        Raises:
            InvalidArgument: the prefix is malformed.
        """
        self.prefix = check_prefix(prefix)
        """The prefix every created name carries."""
        self._ip = ip or IpRoute()
        self._python = python or sys.executable

    # -- namespaces ----------------------------------------------------------------------

    async def add_gateway(self, spec: GatewaySpec) -> Namespace:
        """Create a PoP's gateway namespace, with ``lo`` up."""
        return await self._add_namespace(spec.label, Role.GATEWAY)

    async def add_vnf(self, spec: VnfSpec) -> Namespace:
        """Create a VNF namespace, with ``lo`` up and forwarding on if asked."""
        return await self._add_namespace(
            spec.label, Role.VNF, _FORWARDING if spec.forwarding else ()
        )

    def vnf_namespace(self, spec: VnfSpec) -> Namespace:
        """The handle ``add_vnf(spec)`` returns, without creating anything.

        Names are derived from labels, so a caller that did not keep the handle (a
        node restarted since) can still delete the namespace from the spec alone.
        """
        return self._namespace(spec.label, Role.VNF)

    def _namespace(self, label: str, role: Role) -> Namespace:
        return Namespace(namespace_name(self.prefix, f"{role.value}-{label}"), label, role)

    async def _add_namespace(
        self, label: str, role: Role, settings: tuple[str, ...] = ()
    ) -> Namespace:
        namespace = self._namespace(label, role)
        name = namespace.name
        try:
            await self._ip.ip("netns", "add", name)
            created = True
        except AlreadyExists:
            created = False
        try:
            await self._ip.ip("link", "set", "dev", "lo", "up", netns=name)
            # IPv6 is off on every interface created from now on, unless given IPv6 addresses.
            await self._sysctl(name, "net/ipv6/conf/default/disable_ipv6=1", *settings)
        except BaseException:
            if created:
                with contextlib.suppress(NotFound):
                    await self._ip.ip("netns", "delete", name)
            raise
        return namespace

    async def _sysctl(self, netns: str, *settings: str) -> None:
        await self._ip.exec_in(netns, agent_argv("sysctl", *settings, python=self._python))

    async def _enable_ipv6(self, netns: str, ifname: str) -> None:
        await self._sysctl(netns, f"net/ipv6/conf/{ifname}/disable_ipv6=0")

    async def delete_namespace(self, namespace: Namespace) -> None:
        """Delete a namespace and everything in it; succeeds if it is gone."""
        self._check_owned(namespace.name)
        with contextlib.suppress(NotFound):
            await self._ip.ip("netns", "delete", namespace.name)

    async def enable_forwarding(self, namespace: Namespace) -> None:
        """Turn on IPv4 and IPv6 forwarding in ``namespace`` (idempotent)."""
        self._check_owned(namespace.name)
        await self._sysctl(namespace.name, *_FORWARDING)

    # -- WAN and border links ------------------------------------------------------------

    async def add_wan_link(self, spec: WanLinkSpec) -> WanLink:
        """Create a veth pair between two gateways, each end with its underlay address."""
        self._check_owned(spec.a.name, spec.b.name)
        labels_a = ("wan", spec.label, "a")
        labels_b = ("wan", spec.label, "b")
        link = WanLink(
            label=spec.label,
            a=spec.a,
            a_ifname=interface_name(self.prefix, *labels_a),
            a_address=spec.a_address,
            b=spec.b,
            b_ifname=interface_name(self.prefix, *labels_b),
            b_address=spec.b_address,
            mtu=spec.mtu,
        )
        created = await self._create(
            link.a.name,
            link.a_ifname,
            "veth",
            _alias(*labels_a),
            ["type", "veth", "peer", "name", link.b_ifname, "netns", link.b.name],
        )
        async with self._undone_on_error(created, link.a.name, link.a_ifname):
            await asyncio.gather(
                self._converge(link.a.name, link.a_ifname, _alias(*labels_a), link.mtu),
                self._converge(link.b.name, link.b_ifname, _alias(*labels_b), link.mtu),
            )
            if ipaddress.ip_interface(link.a_address).version == 6:
                await asyncio.gather(
                    self._enable_ipv6(link.a.name, link.a_ifname),
                    self._enable_ipv6(link.b.name, link.b_ifname),
                )
            await asyncio.gather(
                self._address(link.a.name, link.a_ifname, link.a_address),
                self._address(link.b.name, link.b_ifname, link.b_address),
            )
        return link

    async def delete_wan_link(self, link: WanLink) -> None:
        """Delete the veth pair; succeeds if it (or its namespace) is gone."""
        self._check_owned(link.a.name, link.b.name)
        await self._delete_link(link.a.name, link.a_ifname)
        await self._delete_link(link.b.name, link.b_ifname)

    # -- bridges and VXLAN segments ------------------------------------------------------

    async def add_bridge(self, spec: BridgeSpec) -> Bridge:
        """Create the bridge of a virtual link in a gateway, up, with the spec's MTU."""
        bridge = self.bridge(spec)
        alias = _alias("br", spec.gateway.label, spec.label)
        # Without snooping a bridge floods multicast like the segment it emulates, and sends
        # no IGMP/MLD reports of its own (it would join the all-snoopers groups).
        args = ["type", "bridge", "mcast_snooping", "0"]
        created = await self._create(bridge.gateway.name, bridge.ifname, "bridge", alias, args)
        async with self._undone_on_error(created, bridge.gateway.name, bridge.ifname):
            await self._converge(bridge.gateway.name, bridge.ifname, alias, bridge.mtu)
        return bridge

    def bridge(self, spec: BridgeSpec) -> Bridge:
        """The handle ``add_bridge(spec)`` returns, without creating anything.

        For a caller that did not keep the handle, e.g. to delete the bridge (or list
        its ports) after a restart.
        """
        self._check_owned(spec.gateway.name)
        ifname = interface_name(self.prefix, "br", spec.gateway.label, spec.label)
        return Bridge(spec.gateway, spec.label, ifname, spec.mtu)

    async def bridge_ports(self, bridge: Bridge) -> tuple[str, ...]:
        """Names of the interfaces enslaved to ``bridge`` now; () if it (or its gateway) is gone.

        A bridge may be shared (a VIM's VNF ports and the WIM's VXLAN segments of one
        link meet on it): whoever deletes it checks first that no one else uses it.
        """
        self._check_owned(bridge.gateway.name)
        try:
            entries = await self._ip.ip_json(
                "link", "show", "master", bridge.ifname, netns=bridge.gateway.name
            )
        except NotFound:
            return ()
        return tuple(str(entry.get("ifname", "")) for entry in entries)

    async def delete_bridge(self, bridge: Bridge) -> None:
        """Delete a bridge (its ports are released, not deleted); succeeds if it is gone."""
        self._check_owned(bridge.gateway.name)
        await self._delete_link(bridge.gateway.name, bridge.ifname)

    async def add_vxlan(self, spec: VxlanSpec) -> Vxlan:
        """Create a VXLAN segment and enslave it to its bridge.

        Raises:
            AlreadyExists: another VXLAN device of the gateway already uses the spec's
                (VNI, dstport); the message names it. Nothing is created.
            FailedPrecondition: a device of this segment's name exists with another
                VNI, port or endpoints; delete it first.
        """
        gateway = spec.bridge.gateway
        self._check_owned(gateway.name)
        labels = ("vx", gateway.label, spec.label)
        vxlan = Vxlan(
            bridge=spec.bridge,
            label=spec.label,
            ifname=interface_name(self.prefix, *labels),
            vni=spec.vni,
            local=spec.local,
            remote=spec.remote,
            dstport=spec.dstport,
            mtu=spec.mtu,
        )
        args = ["type", "vxlan", "id", str(vxlan.vni), "local", vxlan.local]
        args += ["remote", vxlan.remote, "dstport", str(vxlan.dstport)]
        try:
            created = await self._create(gateway.name, vxlan.ifname, "vxlan", _alias(*labels), args)
        except AlreadyExists as exc:
            raise await self._vni_taken(vxlan) from exc
        await self._check_vxlan(vxlan)
        async with self._undone_on_error(created, gateway.name, vxlan.ifname):
            await self._converge(
                gateway.name, vxlan.ifname, _alias(*labels), vxlan.mtu, master=spec.bridge.ifname
            )
        return vxlan

    async def _vni_taken(self, vxlan: Vxlan) -> AlreadyExists:
        gateway = vxlan.bridge.gateway.name
        holders = [
            f"{entry.get('ifname')} ({entry.get('ifalias', 'no alias')})"
            for entry in await self._ip.ip_json(
                "-d", "link", "show", "type", "vxlan", netns=gateway
            )
            if _vxlan_data(entry).get("id") == vxlan.vni
            and _vxlan_data(entry).get("port") == vxlan.dstport
        ]
        return AlreadyExists(
            f"VNI {vxlan.vni} on UDP port {vxlan.dstport} is already used in {gateway} by "
            f"{', '.join(holders) or 'another VXLAN device'}: Linux allows one VXLAN device "
            "per (VNI, dstport) in a namespace; choose another VNI or dstport for this hop",
            metadata={"namespace": gateway, "vni": str(vxlan.vni), "dstport": str(vxlan.dstport)},
        )

    async def _check_vxlan(self, vxlan: Vxlan) -> None:
        gateway = vxlan.bridge.gateway.name
        [entry] = await self._ip.ip_json("-d", "link", "show", "dev", vxlan.ifname, netns=gateway)
        data = _vxlan_data(entry)
        have = (data.get("id"), data.get("local"), data.get("remote"), data.get("port"))
        want = (vxlan.vni, vxlan.local, vxlan.remote, vxlan.dstport)
        if have != want:
            raise FailedPrecondition(
                f"{vxlan.ifname} in {gateway} exists with (vni, local, remote, port) {have}, "
                f"not {want}; delete it first"
            )

    async def delete_vxlan(self, vxlan: Vxlan) -> None:
        """Delete a VXLAN segment; succeeds if it is gone."""
        self._check_owned(vxlan.bridge.gateway.name)
        await self._delete_link(vxlan.bridge.gateway.name, vxlan.ifname)

    async def used_vxlan_keys(self, gateway: Namespace) -> frozenset[tuple[int, int]]:
        """The (VNI, dstport) pairs the VXLAN devices of ``gateway`` hold right now."""
        self._check_owned(gateway.name)
        entries = await self._ip.ip_json("-d", "link", "show", "type", "vxlan", netns=gateway.name)
        return frozenset(
            (int(_vxlan_data(entry)["id"]), int(_vxlan_data(entry)["port"])) for entry in entries
        )

    # -- VNF interfaces --------------------------------------------------------------------

    async def attach(self, spec: AttachmentSpec) -> Attachment:
        """Give a VNF an interface (addresses, MAC, MTU) whose veth peer is a bridge port."""
        gateway = spec.bridge.gateway
        self._check_owned(spec.vnf.name, gateway.name)
        labels = ("if", spec.vnf.label, spec.label)
        port_labels = ("port", spec.vnf.label, spec.label)
        attachment = Attachment(
            vnf=spec.vnf,
            bridge=spec.bridge,
            label=spec.label,
            ifname=spec.ifname or interface_name(self.prefix, *labels),
            port_ifname=interface_name(self.prefix, *port_labels),
            addresses=spec.addresses,
            mac=spec.mac,
            mtu=spec.mtu,
        )
        args = ["address", spec.mac] if spec.mac else []
        args += ["type", "veth", "peer", "name", attachment.port_ifname, "netns", gateway.name]
        created = await self._create(
            spec.vnf.name, attachment.ifname, "veth", _alias(*labels), args
        )
        async with self._undone_on_error(created, spec.vnf.name, attachment.ifname):
            return await self._finish_attachment(spec, attachment, labels, port_labels)

    async def _finish_attachment(
        self,
        spec: AttachmentSpec,
        attachment: Attachment,
        labels: tuple[str, ...],
        port_labels: tuple[str, ...],
    ) -> Attachment:
        gateway = spec.bridge.gateway
        await asyncio.gather(
            self._converge(
                gateway.name,
                attachment.port_ifname,
                _alias(*port_labels),
                attachment.mtu,
                master=spec.bridge.ifname,
            ),
            self._converge(
                spec.vnf.name, attachment.ifname, _alias(*labels), attachment.mtu, mac=spec.mac
            ),
        )
        if any(ipaddress.ip_interface(a).version == 6 for a in attachment.addresses):
            await self._enable_ipv6(spec.vnf.name, attachment.ifname)
            mac = spec.mac or await self._mac(spec.vnf.name, attachment.ifname)
            attachment = dataclasses.replace(attachment, link_local=eui64_link_local(mac))
            await self._address(spec.vnf.name, attachment.ifname, attachment.link_local)
        for address in attachment.addresses:
            await self._address(spec.vnf.name, attachment.ifname, address)
        return attachment

    async def _mac(self, netns: str, ifname: str) -> str:
        [entry] = await self._ip.ip_json("link", "show", "dev", ifname, netns=netns)
        return str(entry["address"])

    async def detach(self, attachment: Attachment) -> None:
        """Delete a VNF interface and its bridge port; succeeds if it is gone."""
        self._check_owned(attachment.vnf.name, attachment.bridge.gateway.name)
        await self._delete_link(attachment.vnf.name, attachment.ifname)
        await self._delete_link(attachment.bridge.gateway.name, attachment.port_ifname)

    # -- routes and shaping ----------------------------------------------------------------

    async def add_route(self, spec: RouteSpec) -> RouteSpec:
        """Install (or replace) a route; returns the spec, which is also its handle."""
        self._check_owned(spec.namespace.name)
        await self._ip.ip(*_route_args("replace", spec), netns=spec.namespace.name)
        return spec

    async def delete_route(self, route: RouteSpec) -> None:
        """Remove a route; succeeds if it (or its device, or its namespace) is gone."""
        self._check_owned(route.namespace.name)
        with contextlib.suppress(NotFound):
            await self._ip.ip(*_route_args("delete", route), netns=route.namespace.name)

    async def shape(self, spec: ShapingSpec) -> ShapingSpec:
        """Shape the egress of an interface to ``rate_bps`` (replacing earlier shaping)."""
        self._check_owned(spec.namespace.name)
        netns, dev, rate = spec.namespace.name, spec.ifname, f"{spec.rate_bps}bit"
        if spec.discipline == "tbf":
            await self._ip.tc(
                *("qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate),
                *("burst", str(spec.burst), "latency", f"{spec.latency_ms}ms"),
                netns=netns,
            )
        else:
            await self._ip.tc(
                *("qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "1"),
                netns=netns,
            )
            await self._ip.tc(
                *("class", "replace", "dev", dev, "parent", "1:", "classid", "1:1", "htb"),
                *("rate", rate, "ceil", rate, "burst", str(spec.burst)),
                netns=netns,
            )
        return spec

    async def unshape(self, spec: ShapingSpec) -> None:
        """Remove the shaping; succeeds if there is none (or no interface any more)."""
        self._check_owned(spec.namespace.name)
        with contextlib.suppress(NotFound):
            await self._ip.tc(
                "qdisc", "delete", "dev", spec.ifname, "root", netns=spec.namespace.name
            )

    # -- whole prefix ----------------------------------------------------------------------

    async def inventory(self) -> Inventory:
        """What exists of this fabric's prefix (see ``inventory``)."""
        return await inventory(self.prefix, ip=self._ip)

    async def cleanup(self) -> None:
        """Remove everything of this fabric's prefix (see ``cleanup``)."""
        await cleanup(self.prefix, ip=self._ip)

    # -- helpers ---------------------------------------------------------------------------

    def _check_owned(self, *names: str) -> None:
        for name in names:
            if not owned_by(self.prefix, name):
                raise InvalidArgument(f"namespace {name!r} is not of prefix {self.prefix!r}")

    async def _create(
        self, netns: str, ifname: str, kind: str, alias: str, args: list[str]
    ) -> bool:
        """``ip link add``; True if it created the device, False if it found it (ours).

        Raises:
            FailedPrecondition: a device of that name exists but is another kind, or
                carries another alias.
            AlreadyExists: the kernel refused for another reason (a VXLAN VNI in use).
        """
        try:
            await self._ip.ip("link", "add", ifname, *args, netns=netns)
        except AlreadyExists as exists:
            try:
                [entry] = await self._ip.ip_json("-d", "link", "show", "dev", ifname, netns=netns)
            except NotFound:
                # Not this name but something else exists (the veth peer's, a VXLAN VNI).
                raise exists from None
            have = link_info(entry)
            if have.kind != kind or have.alias not in ("", alias):
                raise FailedPrecondition(
                    f"{ifname} in {netns} is a {have.kind or 'device'} with alias "
                    f"{have.alias!r}, not the {kind} {alias!r}: two labels hash to one name "
                    "or someone else created it",
                    metadata={"namespace": netns, "ifname": ifname},
                ) from None
            return False
        return True

    @contextlib.asynccontextmanager
    async def _undone_on_error(self, created: bool, netns: str, ifname: str) -> AsyncIterator[None]:
        """Delete the device ``created`` by this call if the rest of the call fails.

        So that a create that raises (or is cancelled) leaves nothing it made behind; a
        device that was only taken over is left as it was found.
        """
        try:
            yield
        except BaseException:
            if created:
                await self._delete_link(netns, ifname)
            raise

    async def _converge(
        self, netns: str, ifname: str, alias: str, mtu: int, *, master: str = "", mac: str = ""
    ) -> None:
        """Bring an interface to its spec, then up.

        Two commands, because the kernel applies ``up`` before ``addrgenmode`` within one
        request: a device with carrier would get its IPv6 link-local address first.
        """
        args = ["link", "set", "dev", ifname, "alias", alias, "mtu", str(mtu)]
        args += ["addrgenmode", "none"]
        if mac:
            args += ["address", mac]
        if master:
            args += ["master", master]
        await self._ip.ip(*args, netns=netns)
        await self._ip.ip("link", "set", "dev", ifname, "up", netns=netns)

    async def _address(self, netns: str, ifname: str, address: str) -> None:
        extra = ["nodad"] if ipaddress.ip_interface(address).version == 6 else []
        await self._ip.ip("address", "replace", address, "dev", ifname, *extra, netns=netns)

    async def _delete_link(self, netns: str, ifname: str) -> None:
        with contextlib.suppress(NotFound):
            await self._ip.ip("link", "delete", "dev", ifname, netns=netns)


def _vxlan_data(entry: JsonObject) -> JsonObject:
    data = (entry.get("linkinfo") or {}).get("info_data") or {}
    return data if isinstance(data, dict) else {}


def _route_args(verb: str, route: RouteSpec) -> list[str]:
    table = ["table", str(route.table)] if route.table else []
    return [
        f"-{route.family}",
        "route",
        verb,
        route.destination,
        "via",
        route.via,
        "dev",
        route.device,
        *table,
    ]
