"""What the emulated PoP builds in network namespaces for a network or a server: pure planning.

Every name follows from ids and saved records alone (``spfed.netns`` derives Linux
names from labels), so a restarted node finds what an earlier run built:

- a network is the bridge ``layout.link_bridge_label(segmentation_id)`` of the PoP's
  gateway, the one the WIM's VXLAN segments of the same link are enslaved to;
- a server is the VNF namespace labelled ``srv.<server id>``; its ports are, in
  interface order, ``eth0``, ``eth1``... (veths whose peers are ports of their
  networks' bridges), each with the port's fixed address, MAC and the network's MTU;
- a server whose metadata names an upstream and a downstream port
  (``CHAIN_UPSTREAM_KEY``, ``CHAIN_DOWNSTREAM_KEY``) forwards between them: towards
  the *peer* of each port, which is the other address of a point-to-point subnet, or
  the subnet's gateway.

Checks run before the PoP books anything, so a refused request changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lower_sp.local.vim.base import CHAIN_DOWNSTREAM_KEY, CHAIN_UPSTREAM_KEY
from lower_sp.local.vim.emulated._pop_state import NetworkRecord, PortRecord
from spfed.errors import FieldViolation, InvalidArgument
from spfed.netns.layout import link_bridge_label

__all__ = [
    "ChainPlan",
    "InterfacePlan",
    "VnfPlan",
    "bridge_label",
    "plan_vnf",
    "require_segment",
    "vnf_ifname",
    "vnf_label",
]


@dataclass(frozen=True)
class InterfacePlan:
    """One port of a server, as an interface of its VNF namespace."""

    ifname: str
    """Its name inside the VNF (``eth0``, ``eth1``... in the server's port order)."""
    port_id: str
    """The port it is; also the attachment's label."""
    bridge_label: str
    """The label of its network's bridge in the PoP's gateway."""
    address: str
    """The port's fixed address with the subnet's prefix length."""
    mac: str
    """The port's MAC."""
    mtu: int
    """The network's MTU; 0 for the data plane's default."""
    peer: str
    """Bare address of the next hop beyond this port: the other end of a
    point-to-point subnet, else the subnet's gateway."""


@dataclass(frozen=True)
class ChainPlan:
    """The two interfaces of a server that is a hop of a service chain."""

    upstream: InterfacePlan
    """Faces the chain's ingress: what arrives here leaves by ``downstream``."""
    downstream: InterfacePlan
    """Faces the chain's egress: what arrives here (or starts here) leaves by ``upstream``."""


@dataclass(frozen=True)
class VnfPlan:
    """The namespace of one server and what goes in it."""

    label: str
    """The VNF namespace's label (``vnf_label``)."""
    interfaces: tuple[InterfacePlan, ...]
    """Its interfaces, in the server's port order."""
    chain: ChainPlan | None
    """Its place in a chain, or None for a server that only has addresses."""


def vnf_label(server_id: str) -> str:
    """The label of a server's VNF namespace."""
    return f"srv.{server_id}"


def vnf_ifname(index: int) -> str:
    """The name, inside its VNF, of a server's ``index``-th port."""
    return f"eth{index}"


def bridge_label(network: NetworkRecord) -> str:
    """The label of a network's bridge in its PoP's gateway."""
    return link_bridge_label(network.segmentation_id)


def require_segment(segment: int) -> None:
    """Raises InvalidArgument if ``segment`` is 0: with netns a network's bridge is named by it."""
    if not segment:
        description = (
            "must be set with the netns data plane: it names the network's bridge, which "
            "the WIM's segments of the same link join (pass the link's VNI)"
        )
        raise InvalidArgument(
            description, field_violations=[FieldViolation("segmentation_id", description)]
        )


def _peer(port: PortRecord, network: NetworkRecord) -> str:
    subnet = network.subnet
    if subnet.point_to_point or subnet.gateway is None:
        return subnet.text(subnet.first_host + subnet.last_host - port.address)
    return subnet.text(subnet.gateway)


def plan_vnf(
    server_id: str,
    ports: Sequence[tuple[PortRecord, NetworkRecord]],
    metadata: Mapping[str, str],
) -> VnfPlan:
    """The namespace of server ``server_id`` with ``ports`` (in interface order).

    Raises:
        InvalidArgument: the chain metadata names one side without the other, a name
            that is not exactly one of the server's ports, or one port for both sides.
    """
    interfaces = tuple(
        InterfacePlan(
            ifname=vnf_ifname(index),
            port_id=port.id,
            bridge_label=bridge_label(network),
            address=network.subnet.with_prefix(port.address),
            mac=port.mac,
            mtu=network.mtu,
            peer=_peer(port, network),
        )
        for index, (port, network) in enumerate(ports)
    )
    names = [port.name for port, _ in ports]
    return VnfPlan(vnf_label(server_id), interfaces, _chain(interfaces, names, metadata))


def _chain(
    interfaces: tuple[InterfacePlan, ...], names: list[str], metadata: Mapping[str, str]
) -> ChainPlan | None:
    keys = (CHAIN_UPSTREAM_KEY, CHAIN_DOWNSTREAM_KEY)
    given = [key for key in keys if key in metadata]
    if not given:
        return None
    problems: list[FieldViolation] = []
    if len(given) == 1:
        (missing,) = set(keys) - set(given)
        problems.append(FieldViolation(f"metadata.{missing}", f"required with {given[0]}"))
    sides: list[InterfacePlan] = []
    for key in given:
        name = metadata[key]
        matches = [interfaces[i] for i, candidate in enumerate(names) if candidate == name]
        if len(matches) == 1:
            sides.append(matches[0])
            continue
        found = "no port" if not matches else f"{len(matches)} ports"
        problems.append(FieldViolation(f"metadata.{key}", f"{found} of the server named '{name}'"))
    if not problems and sides[0].port_id == sides[1].port_id:
        problems.append(
            FieldViolation(f"metadata.{CHAIN_DOWNSTREAM_KEY}", "must be another port than upstream")
        )
    if problems:
        raise InvalidArgument("the server's chain ports are invalid", field_violations=problems)
    return ChainPlan(upstream=sides[0], downstream=sides[1])
