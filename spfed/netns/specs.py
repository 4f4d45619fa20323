"""What the data plane fabric is asked to build (specs) and what it hands back (handles).

Specs validate themselves on construction and raise ``InvalidArgument`` with one
field violation per bad field, so a malformed request never reaches the kernel.
Handles hold everything needed to undo the creation that returned them (names in
both namespaces, addresses), so deletion needs no lookup.

Addresses and MACs are the strings of spfed's address plan: interface addresses
carry their prefix length (``10.0.65.1/31``), next hops and VXLAN endpoints are bare
(``10.255.0.1``), MACs are colon separated (``02:5f:00:00:00:01``).

MTU defaults: WAN links are plain Ethernet (1500); everything carried over VXLAN
(bridges, VXLAN devices, VNF interfaces) defaults to 1450, i.e. 1500 minus the 50
bytes of VXLAN over IPv4, so that a full frame from a VNF is never dropped on a hop.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from spfed.errors import FieldViolation, InvalidArgument

from .names import check_label, is_valid_interface_name

__all__ = [
    "DEFAULT_VXLAN_PORT",
    "Attachment",
    "AttachmentSpec",
    "Bridge",
    "BridgeSpec",
    "GatewaySpec",
    "Namespace",
    "Role",
    "RouteSpec",
    "ShapingSpec",
    "VnfSpec",
    "Vxlan",
    "VxlanSpec",
    "WanLink",
    "WanLinkSpec",
    "vxlan_conflicts",
]

DEFAULT_VXLAN_PORT = 4789
"""The IANA VXLAN port."""

_WAN_MTU = 1500
_OVERLAY_MTU = 1450
_VNI_MAX = (1 << 24) - 1
_TABLE_MAX = (1 << 32) - 1
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


def _raise_if(violations: Iterable[FieldViolation], what: str) -> None:
    found = list(violations)
    if found:
        raise InvalidArgument(f"invalid {what}", field_violations=found)


def _label(value: str, field: str) -> list[FieldViolation]:
    try:
        check_label(value, field)
    except InvalidArgument as exc:
        return list(exc.field_violations)
    return []


def _interface_address(value: str, field: str) -> list[FieldViolation]:
    if "/" not in value:
        return [FieldViolation(field, f"{value!r} needs a prefix length, e.g. 10.0.0.1/31")]
    try:
        ipaddress.ip_interface(value)
    except ValueError as exc:
        return [FieldViolation(field, str(exc))]
    return []


def _bare_address(value: str, field: str) -> list[FieldViolation]:
    try:
        ipaddress.ip_address(value)
    except ValueError as exc:
        return [FieldViolation(field, str(exc))]
    return []


def _mtu(value: int, field: str) -> list[FieldViolation]:
    if not 68 <= value <= 65535:
        return [FieldViolation(field, f"{value} is not an MTU in 68..65535")]
    return []


class Role(StrEnum):
    """What a namespace is; its name starts with the role after the prefix."""

    GATEWAY = "gw"
    """A PoP's gateway: bridges, VXLAN segments, WAN and border links."""
    VNF = "vnf"
    """A VNF (or a test end point): interfaces on bridges of a gateway, routes."""


@dataclass(frozen=True)
class GatewaySpec:
    """A PoP's gateway namespace."""

    label: str
    """The PoP, e.g. ``op-a.ams``; 1 to 64 printable characters without white space."""

    def __post_init__(self) -> None:
        _raise_if(_label(self.label, "label"), "gateway")


@dataclass(frozen=True)
class VnfSpec:
    """A VNF namespace."""

    label: str
    """The VNF instance, e.g. ``svc1.fw``; 1 to 64 printable characters without white space."""
    forwarding: bool = True
    """Whether it forwards IPv4 and IPv6 (a VNF in a chain is a router)."""

    def __post_init__(self) -> None:
        _raise_if(_label(self.label, "label"), "VNF")


@dataclass(frozen=True)
class Namespace:
    """A created network namespace."""

    name: str
    """The netns name (``ip netns list``)."""
    label: str
    """The label it was created for."""
    role: Role
    """Gateway or VNF."""


@dataclass(frozen=True)
class WanLinkSpec:
    """A WAN link (inside an operator) or a border link (between operators).

    A veth pair between two gateway namespaces; each end has its underlay address,
    usually the two addresses of a /31.
    """

    label: str
    """The link, e.g. ``op-a.ams--op-b.fra``; unique among the fabric's WAN links."""
    a: Namespace
    """One gateway."""
    a_address: str
    """Underlay address of the end in ``a``, with prefix length."""
    b: Namespace
    """The other gateway."""
    b_address: str
    """Underlay address of the end in ``b``, in the same subnet as ``a_address``."""
    mtu: int = _WAN_MTU
    """MTU of both ends."""

    def __post_init__(self) -> None:
        found = _label(self.label, "label")
        found += _interface_address(self.a_address, "a_address")
        found += _interface_address(self.b_address, "b_address")
        found += _mtu(self.mtu, "mtu")
        if self.a.role is not Role.GATEWAY or self.b.role is not Role.GATEWAY:
            found.append(FieldViolation("a", "both ends must be gateway namespaces"))
        if self.a.name == self.b.name:
            found.append(FieldViolation("b", "a link joins two different gateways"))
        if not found:
            a, b = ipaddress.ip_interface(self.a_address), ipaddress.ip_interface(self.b_address)
            if a.network != b.network or a.ip == b.ip:
                found.append(
                    FieldViolation("b_address", "must be another address of a_address's subnet")
                )
        _raise_if(found, "WAN link")


@dataclass(frozen=True)
class WanLink:
    """A created WAN or border link."""

    label: str
    """The link's label."""
    a: Namespace
    """One gateway."""
    a_ifname: str
    """The veth end in ``a``."""
    a_address: str
    """Its underlay address, with prefix length."""
    b: Namespace
    """The other gateway."""
    b_ifname: str
    """The veth end in ``b``."""
    b_address: str
    """Its underlay address, with prefix length."""
    mtu: int
    """MTU of both ends."""

    def underlay(self, gateway: Namespace) -> tuple[str, str]:
        """``(local, remote)`` bare underlay addresses as seen from ``gateway``.

        Raises:
            InvalidArgument: ``gateway`` is not an end of the link.
        """
        a = str(ipaddress.ip_interface(self.a_address).ip)
        b = str(ipaddress.ip_interface(self.b_address).ip)
        if gateway.name == self.a.name:
            return a, b
        if gateway.name == self.b.name:
            return b, a
        raise InvalidArgument(f"{gateway.name} is not an end of WAN link {self.label}")


@dataclass(frozen=True)
class BridgeSpec:
    """The bridge of one virtual link in one gateway namespace."""

    gateway: Namespace
    """Where the bridge lives."""
    label: str
    """The virtual link, e.g. ``svc1.vl2``."""
    mtu: int = _OVERLAY_MTU
    """The bridge's MTU (its ports should have at least this MTU)."""

    def __post_init__(self) -> None:
        found = _label(self.label, "label") + _mtu(self.mtu, "mtu")
        if self.gateway.role is not Role.GATEWAY:
            found.append(FieldViolation("gateway", "bridges live in gateway namespaces"))
        _raise_if(found, "bridge")


@dataclass(frozen=True)
class Bridge:
    """A created bridge."""

    gateway: Namespace
    """Where it lives."""
    label: str
    """The virtual link."""
    ifname: str
    """The bridge device in ``gateway``."""
    mtu: int
    """Its MTU."""


@dataclass(frozen=True)
class VxlanSpec:
    """One hop of a virtual link: a VXLAN device on the link's bridge in one gateway.

    Linux refuses two VXLAN devices with the same VNI and dstport in one namespace,
    whatever their remotes: incoming packets are demultiplexed by (dstport, VNI) only.
    So each (vni, dstport) may be used once per gateway namespace; the two ends of one
    hop use the same pair. ``vxlan_conflicts`` checks a plan before anything is built.
    """

    bridge: Bridge
    """The bridge (and so the gateway) the segment is enslaved to."""
    label: str
    """The segment, e.g. ``svc1.vl2.hop1``; unique in the gateway."""
    vni: int
    """The VXLAN network identifier, 1 to 2^24-1."""
    local: str
    """This end's bare underlay address."""
    remote: str
    """The peer's bare underlay address."""
    dstport: int = DEFAULT_VXLAN_PORT
    """UDP port, the same at both ends."""
    mtu: int = _OVERLAY_MTU
    """The VXLAN device's MTU: at most the WAN MTU minus 50 (IPv4) or 70 (IPv6)."""

    def __post_init__(self) -> None:
        found = _label(self.label, "label") + _mtu(self.mtu, "mtu")
        found += _bare_address(self.local, "local") + _bare_address(self.remote, "remote")
        if not 1 <= self.vni <= _VNI_MAX:
            found.append(FieldViolation("vni", f"{self.vni} is not in 1..{_VNI_MAX}"))
        if not 1 <= self.dstport <= 65535:
            found.append(FieldViolation("dstport", f"{self.dstport} is not a UDP port"))
        if not found and (
            ipaddress.ip_address(self.local).version != ipaddress.ip_address(self.remote).version
        ):
            found.append(FieldViolation("remote", "local and remote must be of one family"))
        _raise_if(found, "VXLAN segment")

    @classmethod
    def across(
        cls,
        link: WanLink,
        bridge: Bridge,
        *,
        label: str,
        vni: int,
        dstport: int = DEFAULT_VXLAN_PORT,
        mtu: int = _OVERLAY_MTU,
    ) -> VxlanSpec:
        """The segment over ``link`` at the end where ``bridge`` is (local/remote from the link).

        Raises:
            InvalidArgument: the bridge's gateway is not an end of the link.
        """
        local, remote = link.underlay(bridge.gateway)
        return cls(bridge, label, vni, local, remote, dstport, mtu)


@dataclass(frozen=True)
class Vxlan:
    """A created VXLAN segment."""

    bridge: Bridge
    """The bridge it is enslaved to."""
    label: str
    """The segment's label."""
    ifname: str
    """The VXLAN device in the bridge's gateway."""
    vni: int
    """Its VNI."""
    local: str
    """This end's underlay address."""
    remote: str
    """The peer's underlay address."""
    dstport: int
    """Its UDP port."""
    mtu: int
    """Its MTU."""


@dataclass(frozen=True)
class AttachmentSpec:
    """An interface of a VNF namespace, plugged into a bridge of a gateway (a veth pair)."""

    vnf: Namespace
    """The VNF namespace that gets the interface."""
    bridge: Bridge
    """The bridge the other end is enslaved to."""
    label: str
    """The connection point, e.g. ``eth1`` or ``cp-in``; unique in the VNF."""
    addresses: tuple[str, ...] = ()
    """Addresses with prefix length, e.g. ``("10.0.65.1/31", "fd00::1/127")``."""
    mac: str = ""
    """MAC from the address plan, lower case; "" lets the kernel pick one."""
    mtu: int = _OVERLAY_MTU
    """MTU of both ends."""
    ifname: str = ""
    """The interface name inside the VNF (e.g. ``eth1``); "" for the derived short name."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "addresses", tuple(self.addresses))
        found = _label(self.label, "label") + _mtu(self.mtu, "mtu")
        for index, address in enumerate(self.addresses):
            found += _interface_address(address, f"addresses[{index}]")
        if self.mac and not (_MAC.fullmatch(self.mac) and not int(self.mac[:2], 16) & 1):
            found.append(FieldViolation("mac", f"{self.mac!r} is not a lower-case unicast MAC"))
        if self.ifname and not is_valid_interface_name(self.ifname):
            found.append(FieldViolation("ifname", f"{self.ifname!r} is not a Linux name"))
        if self.vnf.role is not Role.VNF:
            found.append(FieldViolation("vnf", "interfaces are attached to VNF namespaces"))
        _raise_if(found, "attachment")


@dataclass(frozen=True)
class Attachment:
    """A created attachment."""

    vnf: Namespace
    """The VNF namespace."""
    bridge: Bridge
    """The bridge the gateway end is enslaved to."""
    label: str
    """The connection point."""
    ifname: str
    """The interface in the VNF namespace."""
    port_ifname: str
    """The veth end in the gateway namespace (the bridge port)."""
    addresses: tuple[str, ...]
    """Its addresses, with prefix length."""
    mac: str
    """The MAC asked for ("" when the kernel chose it)."""
    mtu: int
    """MTU of both ends."""
    link_local: str = ""
    """The IPv6 link-local address given with IPv6 addresses (EUI-64 of the MAC), or ""."""


@dataclass(frozen=True)
class RouteSpec:
    """A route in a namespace: ``destination`` via ``via`` on ``device``.

    Also the handle of the route (``add_route`` returns it), as it holds all that
    ``delete_route`` needs.
    """

    namespace: Namespace
    """Where the route is installed."""
    destination: str
    """A prefix (``10.0.66.0/31``) or ``default``."""
    via: str
    """Bare next-hop address, of the destination's family."""
    device: str
    """Interface in ``namespace`` towards the next hop (e.g. ``Attachment.ifname``)."""
    table: int = 0
    """Routing table (``ip route ... table N``) for policy routing; 0 for the main table."""

    def __post_init__(self) -> None:
        found = _bare_address(self.via, "via")
        if not is_valid_interface_name(self.device):
            found.append(FieldViolation("device", f"{self.device!r} is not a Linux name"))
        if not 0 <= self.table <= _TABLE_MAX:
            found.append(FieldViolation("table", f"{self.table} is not in 0..{_TABLE_MAX}"))
        if self.destination != "default":
            try:
                network = ipaddress.ip_network(self.destination)
            except ValueError as exc:
                found.append(FieldViolation("destination", str(exc)))
            else:
                if not found and network.version != self.family:
                    found.append(FieldViolation("via", "must be of the destination's family"))
        _raise_if(found, "route")

    @property
    def family(self) -> int:
        """4 or 6, from the next hop."""
        return ipaddress.ip_address(self.via).version


@dataclass(frozen=True)
class ShapingSpec:
    """Egress shaping of one interface to a booked bandwidth (``tc``).

    Also the handle of the shaping (``shape`` returns it).
    """

    namespace: Namespace
    """Where the interface is."""
    ifname: str
    """The interface (a veth end or a VXLAN device)."""
    rate_bps: int
    """The rate in bit/s."""
    discipline: Literal["tbf", "htb"] = "tbf"
    """``tbf`` (a token bucket) or ``htb`` (one class, room for per-flow classes later)."""
    burst_bytes: int = 0
    """Bucket size; 0 for 10 ms at the rate, and at least ten full frames."""
    latency_ms: int = 50
    """Longest a packet may wait in the tbf queue."""

    def __post_init__(self) -> None:
        found: list[FieldViolation] = []
        if not is_valid_interface_name(self.ifname):
            found.append(FieldViolation("ifname", f"{self.ifname!r} is not a Linux name"))
        if self.rate_bps < 8_000:
            found.append(FieldViolation("rate_bps", "at least 8000 bit/s"))
        if self.burst_bytes < 0 or self.latency_ms <= 0:
            found.append(FieldViolation("burst_bytes", "burst >= 0 and latency > 0"))
        if self.discipline not in ("tbf", "htb"):
            found.append(FieldViolation("discipline", "tbf or htb"))
        _raise_if(found, "shaping")

    @property
    def burst(self) -> int:
        """The bucket size in bytes actually used."""
        return self.burst_bytes or max(self.rate_bps // 800, 10 * 1514)


def vxlan_conflicts(specs: Iterable[VxlanSpec]) -> list[tuple[VxlanSpec, VxlanSpec]]:
    """Pairs of segments that Linux would refuse together: one VNI and dstport in one gateway.

    Pure: the WIM checks its plan with it before building anything. Two specs with the
    same gateway and label are one segment (a retry), not a conflict.
    """
    seen: dict[tuple[str, int, int, int], list[VxlanSpec]] = defaultdict(list)
    conflicts: list[tuple[VxlanSpec, VxlanSpec]] = []
    for spec in specs:
        family = ipaddress.ip_address(spec.local).version
        key = (spec.bridge.gateway.name, spec.vni, spec.dstport, family)
        conflicts += [(other, spec) for other in seen[key] if other.label != spec.label]
        seen[key].append(spec)
    return conflicts
