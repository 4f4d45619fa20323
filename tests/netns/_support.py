"""Helpers of the data plane tests: the root check, and a service chain built on three PoPs.

The chain (one *slice*)::

    ingress ── vnf1 ──────── vnf2 ──────── vnf3 ──────── egress
      (A)       (A)    A─B    (B)    B─C    (C)  C─B─A    (A)
         L0          L1            L2            L3

Gateways A, B and C belong to three operators: A─B and B─C are border links. L0
stays in A (one bridge); L1 and L2 cross one hop (one VXLAN segment each); L3 crosses
two (C─B then B─A, bridged in B). Every link is a /31 of the customer's plan, the
same for every slice, so two slices overlap exactly and only their VNIs differ.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import itertools
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass

from spfed.netns import (
    Attachment,
    AttachmentSpec,
    Bridge,
    BridgeSpec,
    Fabric,
    GatewaySpec,
    Namespace,
    RouteSpec,
    VnfSpec,
    Vxlan,
    VxlanSpec,
    WanLink,
    WanLinkSpec,
)

HOPS = ("ingress", "vnf1", "vnf2", "vnf3", "egress")
"""The chain's namespaces, in order."""
PLACEMENT = {"ingress": "A", "vnf1": "A", "vnf2": "B", "vnf3": "C", "egress": "A"}
"""The PoP each namespace runs in."""
PATHS = {"L0": ("A",), "L1": ("A", "B"), "L2": ("B", "C"), "L3": ("C", "B", "A")}
"""The gateways each link crosses, from its left end to its right end."""


def v4(link: int, side: int) -> str:
    """Address of ``side`` (0 left, 1 right) of link ``link``: 10.0.65.{2 link + side}/31."""
    return f"10.0.65.{2 * link + side}/31"


def v6(link: int, side: int) -> str:
    """IPv6 twin of ``v4``: fd00:65::{link}:{side}/127."""
    return f"fd00:65::{link}:{side}/127"


def bare(address: str) -> str:
    """The address without its prefix length, in canonical form."""
    return str(ipaddress.ip_interface(address).ip)


@functools.cache
def netns_unusable() -> str:
    """Why the namespace tests cannot run here ("" when they can); probed once per session."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth, VXLAN, raw sockets)"
    if shutil.which("ip") is None:
        return "needs iproute2's `ip`"
    probe = f"sfchk{secrets.token_hex(3)}"
    try:
        subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=True, timeout=10)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"`ip netns add` does not work here: {exc}"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True, check=False, timeout=10)
    return ""


@dataclass(frozen=True)
class Underlay:
    """Three gateways and the two border links between them."""

    gateways: dict[str, Namespace]
    """A, B and C."""
    links: dict[tuple[str, str], WanLink]
    """The link between two gateways, under both orders of the pair."""


async def build_underlay(fabric: Fabric) -> Underlay:
    """Gateways A, B, C; border links A─B (10.255.0.0/31) and B─C (10.255.0.2/31)."""
    made = await asyncio.gather(
        *(fabric.add_gateway(GatewaySpec(f"op{name}.pop")) for name in "ABC")
    )
    gateways = dict(zip("ABC", made, strict=True))
    links: dict[tuple[str, str], WanLink] = {}
    for index, (left, right) in enumerate((("A", "B"), ("B", "C"))):
        link = await fabric.add_wan_link(
            WanLinkSpec(
                f"{left}-{right}",
                gateways[left],
                f"10.255.0.{2 * index}/31",
                gateways[right],
                f"10.255.0.{2 * index + 1}/31",
            )
        )
        links[left, right] = links[right, left] = link
    return Underlay(gateways, links)


@dataclass(frozen=True)
class Chain:
    """One slice: its namespaces, and every handle created for it."""

    slice_id: int
    """1, 2, ...: scopes labels, VNIs and MACs."""
    namespaces: dict[str, Namespace]
    """By hop name."""
    bridges: tuple[Bridge, ...]
    """Every bridge of the slice."""
    vxlans: tuple[Vxlan, ...]
    """Every VXLAN segment of the slice."""
    attachments: dict[tuple[str, str], Attachment]
    """By (hop, link)."""
    routes: tuple[RouteSpec, ...]
    """Every route of the slice."""

    def address(self, hop: str, family: int = 4) -> str:
        """The bare address by which ``hop`` answers the ingress (its left-hand side)."""
        index = HOPS.index(hop)
        return bare(v4(index - 1, 1) if family == 4 else v6(index - 1, 1))

    def gateway_interfaces(self) -> list[tuple[str, str]]:
        """(namespace, interface) of the slice's bridges, VXLANs and bridge ports."""
        found = [(b.gateway.name, b.ifname) for b in self.bridges]
        found += [(x.bridge.gateway.name, x.ifname) for x in self.vxlans]
        found += [(a.bridge.gateway.name, a.port_ifname) for a in self.attachments.values()]
        return found

    def vnf_interfaces(self) -> list[tuple[str, str]]:
        """(namespace, interface) of the slice's VNF-side interfaces."""
        return [(a.vnf.name, a.ifname) for a in self.attachments.values()]


async def build_chain(
    fabric: Fabric, underlay: Underlay, slice_id: int, *, ipv6: bool = False
) -> Chain:
    """Build slice ``slice_id`` on ``underlay``: VNIs ``1000 slice_id + 1..4``.

    Independent objects (namespaces, links) are built concurrently, as a WIM would.
    """
    tag = f"s{slice_id}"
    made = await asyncio.gather(
        *(fabric.add_vnf(VnfSpec(f"{tag}.{hop}", forwarding=hop.startswith("vnf"))) for hop in HOPS)
    )
    namespaces = dict(zip(HOPS, made, strict=True))
    first_vni = {"L0": 0, "L1": 1, "L2": 2, "L3": 3}

    async def build_link(
        index: int, link: str, path: tuple[str, ...]
    ) -> tuple[list[Bridge], list[Vxlan], dict[tuple[str, str], Attachment]]:
        on_path = list(
            await asyncio.gather(
                *(
                    fabric.add_bridge(BridgeSpec(underlay.gateways[pop], f"{tag}.{link}"))
                    for pop in path
                )
            )
        )
        segments: list[VxlanSpec] = []
        for hop, (left, right) in enumerate(itertools.pairwise(on_path)):
            vni = 1000 * slice_id + first_vni[link] + hop
            wan = underlay.links[_pop(left), _pop(right)]
            label = f"{tag}.{link}.{vni}"
            segments += [
                VxlanSpec.across(wan, here, label=label, vni=vni) for here in (left, right)
            ]
        vxlans = list(await asyncio.gather(*(fabric.add_vxlan(spec) for spec in segments)))
        attachments: dict[tuple[str, str], Attachment] = {}
        for side, hop_name in enumerate(HOPS[index : index + 2]):
            addresses = (v4(index, side), v6(index, side)) if ipv6 else (v4(index, side),)
            attachments[hop_name, link] = await fabric.attach(
                AttachmentSpec(
                    namespaces[hop_name],
                    on_path[0] if side == 0 else on_path[-1],
                    link,
                    addresses,
                    mac=f"02:5f:00:{slice_id:02x}:{index:02x}:{side:02x}",
                )
            )
        return on_path, vxlans, attachments

    built = await asyncio.gather(
        *(build_link(index, link, path) for index, (link, path) in enumerate(PATHS.items()))
    )
    bridges = [bridge for on_path, _, _ in built for bridge in on_path]
    vxlans = [vxlan for _, segments, _ in built for vxlan in segments]
    attachments = {key: value for _, _, found in built for key, value in found.items()}
    routes = await _route(fabric, namespaces, attachments, ipv6)
    return Chain(slice_id, namespaces, tuple(bridges), tuple(vxlans), attachments, routes)


def _pop(bridge: Bridge) -> str:
    return bridge.gateway.label.removeprefix("op").removesuffix(".pop")


async def _route(
    fabric: Fabric,
    namespaces: dict[str, Namespace],
    attachments: dict[tuple[str, str], Attachment],
    ipv6: bool,
) -> tuple[RouteSpec, ...]:
    """Forward: default towards the egress at each hop. Back: the ingress link towards it."""
    specs: list[RouteSpec] = []
    links = list(PATHS)
    for family, plan in ((4, v4), (6, v6)) if ipv6 else ((4, v4),):
        default = "default"
        ingress_net = "10.0.65.0/31" if family == 4 else "fd00:65::0:0/127"
        for index, hop in enumerate(HOPS):
            if index < len(HOPS) - 1:  # forward: to the next hop over link `index`
                right = attachments[hop, links[index]]
                specs.append(
                    RouteSpec(namespaces[hop], default, bare(plan(index, 1)), right.ifname)
                )
            if 1 < index < len(HOPS) - 1:  # back: to the ingress's link over link `index - 1`
                left = attachments[hop, links[index - 1]]
                specs.append(
                    RouteSpec(namespaces[hop], ingress_net, bare(plan(index - 1, 0)), left.ifname)
                )
        egress = attachments["egress", links[-1]]  # the egress answers through vnf3
        specs.append(
            RouteSpec(namespaces["egress"], default, bare(plan(len(HOPS) - 2, 0)), egress.ifname)
        )
    return tuple(await asyncio.gather(*(fabric.add_route(spec) for spec in specs)))
