"""The emulated PoP's resources in memory, their saved form, and derived indexes.

The saved records are the only truth: ``PopState.from_saved`` rebuilds every
index (taken addresses and MACs, port bindings, used capacity) from them, and
the live PoP changes state only through the same ``add_*``/``remove_*``
methods. So a restarted PoP is the PoP that stopped, by construction.

A port's binding to a server is recorded once, in the server's ``port_ids``,
so creating or deleting a server is a single write.

The per-network indexes are dicts with ``None`` values used as ordered sets:
a dict holding only strings and integers is not tracked by the garbage
collector, a set always is. A PoP with thousands of networks would otherwise
add four containers per network to every full collection of the node, a
pause every caller waits through.

A record's ``tag`` is saved only when set, so untagged rows (and rows saved
before tags existed) have no ``tag`` key and load as untagged. Tagged records
are indexed by tag (``tags``), so ``EmulatedPop.tagged`` reads only what
carries the tag.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lower_sp.local.vim._subnet import SubnetPlan
from lower_sp.local.vim.base import NetworkHandle, PortHandle, ServerHandle, TaggedResources
from lower_sp.local.vim.state import EmulatedResource
from spfed.errors import Internal, SpfedError
from spfed.model import Resources

__all__ = ["NETWORK", "PORT", "SERVER", "NetworkRecord", "PopState", "PortRecord", "ServerRecord"]

NETWORK = "network"
PORT = "port"
SERVER = "server"


@dataclass(frozen=True)
class NetworkRecord:
    """A network and its one subnet."""

    id: str
    """Network id."""
    subnet_id: str
    """Subnet id."""
    name: str
    """Display name."""
    subnet: SubnetPlan
    """Prefix and gateway."""
    segmentation_id: int
    """Asked segmentation id, 0 if none."""
    dhcp: bool = False
    """Whether addresses are also served by DHCP (recorded; the emulated PoP has no
    data plane to serve them on)."""
    mtu: int = 0
    """Asked MTU, 0 for the default."""
    tag: str = ""
    """Intent key it carries, "" if none."""

    def saved(self) -> EmulatedResource:
        """The record in its saved form."""
        data = {
            "subnet_id": self.subnet_id,
            "name": self.name,
            "cidr": str(self.subnet.network),
            "gateway": self.subnet.gateway_address,
            "segmentation_id": self.segmentation_id,
            "dhcp": self.dhcp,
            "mtu": self.mtu,
        }
        if self.tag:
            data["tag"] = self.tag
        return EmulatedResource(NETWORK, self.id, data)

    @classmethod
    def from_saved(cls, resource_id: str, data: Mapping[str, Any]) -> NetworkRecord:
        """The record from its saved form (KeyError/ValueError/SpfedError if malformed)."""
        return cls(
            id=resource_id,
            subnet_id=str(data["subnet_id"]),
            name=str(data["name"]),
            subnet=SubnetPlan.parse(
                str(data["cidr"]),
                str(data["gateway"]),
                point_to_point=not data["gateway"],
            ),
            segmentation_id=int(data["segmentation_id"]),
            dhcp=bool(data.get("dhcp", False)),
            mtu=int(data.get("mtu", 0)),
            tag=str(data.get("tag", "")),
        )

    def handle(self, vim: str) -> NetworkHandle:
        """The caller's handle on it."""
        return NetworkHandle(
            vim, self.id, self.subnet_id, self.name, str(self.subnet.network), self.tag
        )


@dataclass(frozen=True)
class PortRecord:
    """A port with one fixed address."""

    id: str
    """Port id."""
    network_id: str
    """Network it is on."""
    name: str
    """Display name."""
    address: int
    """Fixed address, as an integer."""
    mac: str
    """Canonical MAC."""
    tag: str = ""
    """Intent key it carries, "" if none."""

    def saved(self, subnet: SubnetPlan) -> EmulatedResource:
        """The record in its saved form."""
        data = {
            "network_id": self.network_id,
            "name": self.name,
            "address": subnet.text(self.address),
            "mac": self.mac,
        }
        if self.tag:
            data["tag"] = self.tag
        return EmulatedResource(PORT, self.id, data)

    @classmethod
    def from_saved(cls, resource_id: str, data: Mapping[str, Any]) -> PortRecord:
        """The record from its saved form (KeyError/ValueError if malformed)."""
        return cls(
            id=resource_id,
            network_id=str(data["network_id"]),
            name=str(data["name"]),
            address=int(ipaddress.ip_address(str(data["address"]))),
            mac=str(data["mac"]),
            tag=str(data.get("tag", "")),
        )


@dataclass(frozen=True)
class ServerRecord:
    """A server, the resources it holds and the ports it is bound to."""

    id: str
    """Server id."""
    name: str
    """Display name."""
    image: str
    """Image reference."""
    image_md5: str
    """Expected image checksum, "" if none."""
    flavor: str
    """Flavour name as asked, "" if none."""
    metadata: Mapping[str, str]
    """Tags."""
    resources: Resources
    """Compute held."""
    port_ids: tuple[str, ...]
    """Bound ports, in interface order."""
    active_at: float
    """Wall-clock time (epoch seconds) at which it leaves BUILD for ACTIVE."""
    tag: str = ""
    """Intent key it carries, "" if none."""

    def saved(self) -> EmulatedResource:
        """The record in its saved form."""
        data: dict[str, Any] = {
            "name": self.name,
            "image": self.image,
            "image_md5": self.image_md5,
            "flavor": self.flavor,
            "metadata": dict(self.metadata),
            "resources": {
                "vcpus": self.resources.vcpus,
                "memory_mib": self.resources.memory_mib,
                "disk_gib": self.resources.disk_gib,
            },
            "port_ids": list(self.port_ids),
            "active_at": self.active_at,
        }
        if self.tag:
            data["tag"] = self.tag
        return EmulatedResource(SERVER, self.id, data)

    @classmethod
    def from_saved(cls, resource_id: str, data: Mapping[str, Any]) -> ServerRecord:
        """The record from its saved form (KeyError/ValueError/TypeError if malformed)."""
        resources = data["resources"]
        return cls(
            id=resource_id,
            name=str(data["name"]),
            image=str(data["image"]),
            image_md5=str(data["image_md5"]),
            flavor=str(data["flavor"]),
            metadata=MappingProxyType({str(k): str(v) for k, v in data["metadata"].items()}),
            resources=Resources(
                int(resources["vcpus"]), int(resources["memory_mib"]), int(resources["disk_gib"])
            ),
            port_ids=tuple(str(p) for p in data["port_ids"]),
            active_at=float(data["active_at"]),
            tag=str(data.get("tag", "")),
        )

    def handle(self, vim: str) -> ServerHandle:
        """The caller's handle on it."""
        return ServerHandle(vim, self.id, self.name, self.resources, self.port_ids, self.tag)


@dataclass
class PopState:
    """Resources of one emulated PoP and what follows from them.

    Methods assume their preconditions were checked (the PoP validates before
    it writes); they keep the indexes consistent, nothing more.
    """

    networks: dict[str, NetworkRecord] = field(default_factory=dict)
    ports: dict[str, PortRecord] = field(default_factory=dict)
    servers: dict[str, ServerRecord] = field(default_factory=dict)
    used: Resources = field(default_factory=Resources)
    addresses: dict[str, dict[int, None]] = field(default_factory=dict)
    """Per network id: addresses held by its ports (keys)."""
    macs: dict[str, dict[str, None]] = field(default_factory=dict)
    """Per network id: MACs of its ports (keys)."""
    ports_on: dict[str, dict[str, None]] = field(default_factory=dict)
    """Per network id: ids of its ports (keys)."""
    bound: dict[str, str] = field(default_factory=dict)
    """Per port id: the server holding it."""
    segments: dict[int, dict[str, None]] = field(default_factory=dict)
    """Per asked segmentation id: the networks on it (keys; one layer-2 segment, one subnet)."""
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per tag: the ids of what carries it (keys), each with its kind (``NETWORK``, …).
    Ids are unique across kinds (the PoP draws them at random, 128 bits)."""

    @classmethod
    def from_saved(cls, pop: str, saved: Iterable[EmulatedResource]) -> PopState:
        """Rebuild the state from the saved resources, in dependency order.

        Raises:
            Internal: a resource is of an unknown kind, malformed, or refers to
                a port or network that is not saved (the store was corrupted;
                this class never writes such state).
        """
        by_kind: dict[str, list[EmulatedResource]] = {NETWORK: [], PORT: [], SERVER: []}
        state = cls()
        for resource in saved:
            if resource.kind not in by_kind:
                raise Internal(
                    f"pop {pop}: saved resource {resource.id} has kind {resource.kind!r}"
                )
            by_kind[resource.kind].append(resource)
        for resource in by_kind[NETWORK] + by_kind[PORT] + by_kind[SERVER]:
            try:
                state._restore(resource)
            except (KeyError, ValueError, TypeError, AttributeError, SpfedError) as exc:
                raise Internal(
                    f"pop {pop}: saved {resource.kind} {resource.id} is unusable: {exc!r}"
                ) from exc
        return state

    def _restore(self, resource: EmulatedResource) -> None:
        if resource.kind == NETWORK:
            self.add_network(NetworkRecord.from_saved(resource.id, resource.data))
        elif resource.kind == PORT:
            port = PortRecord.from_saved(resource.id, resource.data)
            if port.network_id not in self.networks:
                raise ValueError(f"its network {port.network_id} is not saved")
            self.add_port(port)
        else:
            server = ServerRecord.from_saved(resource.id, resource.data)
            if len(set(server.port_ids)) != len(server.port_ids):
                raise ValueError("it holds a port twice")
            for port_id in server.port_ids:
                if port_id not in self.ports or port_id in self.bound:
                    raise ValueError(f"its port {port_id} is not saved or bound twice")
            self.add_server(server)

    def add_network(self, network: NetworkRecord) -> None:
        """Record a new network."""
        self.networks[network.id] = network
        self.addresses[network.id] = {}
        self.macs[network.id] = {}
        self.ports_on[network.id] = {}
        if network.segmentation_id:
            self.segments.setdefault(network.segmentation_id, {})[network.id] = None
        if network.tag:
            self._tag(network.tag, network.id, NETWORK)

    def remove_network(self, network_id: str) -> None:
        """Forget a network that has no ports."""
        network = self.networks.pop(network_id)
        del self.addresses[network_id], self.macs[network_id], self.ports_on[network_id]
        sharing = self.segments.get(network.segmentation_id)
        if sharing is not None:
            sharing.pop(network_id, None)
            if not sharing:
                del self.segments[network.segmentation_id]
        if network.tag:
            self._untag(network.tag, network_id)

    def segment_of(self, network_id: str) -> Collection[str]:
        """The networks on the same segment as ``network_id`` (itself included)."""
        network = self.networks[network_id]
        if not network.segmentation_id:
            return (network_id,)
        return self.segments.get(network.segmentation_id, {network_id: None}).keys()

    def add_port(self, port: PortRecord) -> None:
        """Record a new port on an existing network."""
        self.ports[port.id] = port
        self.addresses[port.network_id][port.address] = None
        self.macs[port.network_id][port.mac] = None
        self.ports_on[port.network_id][port.id] = None
        if port.tag:
            self._tag(port.tag, port.id, PORT)

    def remove_port(self, port_id: str) -> None:
        """Forget an unbound port, freeing its address and MAC."""
        port = self.ports.pop(port_id)
        self.addresses[port.network_id].pop(port.address, None)
        self.macs[port.network_id].pop(port.mac, None)
        self.ports_on[port.network_id].pop(port_id, None)
        if port.tag:
            self._untag(port.tag, port_id)

    def add_server(self, server: ServerRecord) -> None:
        """Record a new server, binding its ports and holding its resources."""
        self.servers[server.id] = server
        self.bound.update(dict.fromkeys(server.port_ids, server.id))
        self.used = self.used + server.resources
        if server.tag:
            self._tag(server.tag, server.id, SERVER)

    def remove_server(self, server_id: str) -> None:
        """Forget a server, unbinding its ports and releasing its resources."""
        server = self.servers.pop(server_id)
        for port_id in server.port_ids:
            self.bound.pop(port_id, None)
        self.used = self.used - server.resources
        if server.tag:
            self._untag(server.tag, server_id)

    def _tag(self, tag: str, resource_id: str, kind: str) -> None:
        self.tags.setdefault(tag, {})[resource_id] = kind

    def _untag(self, tag: str, resource_id: str) -> None:
        holders = self.tags.get(tag)
        if holders is not None:
            holders.pop(resource_id, None)
            if not holders:
                del self.tags[tag]

    def tagged(self, vim: str, tag: str) -> TaggedResources:
        """Handles of everything that carries ``tag``, each kind in the order recorded."""
        holders = self.tags.get(tag, {})
        return TaggedResources(
            networks=tuple(
                self.networks[i].handle(vim) for i, kind in holders.items() if kind == NETWORK
            ),
            ports=tuple(
                self.port_handle(vim, self.ports[i]) for i, kind in holders.items() if kind == PORT
            ),
            servers=tuple(
                self.servers[i].handle(vim) for i, kind in holders.items() if kind == SERVER
            ),
        )

    def port_handle(self, vim: str, port: PortRecord) -> PortHandle:
        """The caller's handle on a port of this state."""
        subnet = self.networks[port.network_id].subnet
        return PortHandle(
            vim,
            port.id,
            port.network_id,
            port.name,
            subnet.with_prefix(port.address),
            port.mac,
            port.tag,
        )
