"""The VIM interface: what a node needs from a point of presence, and nothing more.

One small protocol, ``Vim``, with value types for what goes in (requests) and
what comes back (handles). A handle holds everything needed to undo the
creation that returned it (like OSM RO's ``new_network`` returning
``(id, created_items)``), so compensation after a failure is exact and needs no
lookup by name.

The shapes follow OpenStack, so that an openstacksdk driver fits the same
protocol: a network carries one subnet (Neutron network + subnet), a port has a
fixed IP and a MAC (Neutron port), a server is booted on existing ports from a
flavour chosen by its resources (Nova server).

Undo in reverse order of creation: servers, then their ports, then networks.

Every created object may carry a ``tag``: the key of the caller's intent,
recorded before it asked. If the caller loses a handle (it crashed between the
VIM's creation and its own record), ``Vim.tagged`` finds the object again by
that tag alone, with a handle its deletes accept (orphan removal).

A server of a service chain says which of its ports face the chain's ingress
and egress in its metadata (``CHAIN_UPSTREAM_KEY``, ``CHAIN_DOWNSTREAM_KEY``),
so that a VIM that runs the data plane itself can make it a router of the
chain; other VIMs only record them, like any metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from spfed.model import Resources

__all__ = [
    "CHAIN_DOWNSTREAM_KEY",
    "CHAIN_UPSTREAM_KEY",
    "TAG_PATTERN",
    "NetworkHandle",
    "NetworkRequest",
    "PortHandle",
    "PortRequest",
    "ServerHandle",
    "ServerRequest",
    "ServerStatus",
    "TaggedResources",
    "Vim",
    "VimCapacity",
]

CHAIN_UPSTREAM_KEY = "spfed.chain.upstream"
"""Server metadata key: the name (``PortRequest.name``) of the server's port that faces
the chain's ingress. Set together with ``CHAIN_DOWNSTREAM_KEY`` or not at all.

With both, the server is a two-port router of a service chain: what arrives on the
upstream port leaves by the downstream one and the other way round, whatever the
destination address (the emulated PoP with netns on installs policy routing for it)."""

CHAIN_DOWNSTREAM_KEY = "spfed.chain.downstream"
"""Server metadata key: the name (``PortRequest.name``) of the server's port that faces
the chain's egress; see ``CHAIN_UPSTREAM_KEY``."""

TAG_PATTERN = r"spfed-[a-z0-9-]{1,54}"
"""What a non-empty ``tag`` must match, whole: at most 60 characters, none of them '/' or
',' (Nova's limits on a server tag), so every driver can record it as it is."""


@dataclass(frozen=True)
class NetworkRequest:
    """A network with one subnet, to be created on a VIM."""

    name: str
    """Display name; VIMs do not require it to be unique."""
    cidr: str
    """Subnet prefix, IPv4 or IPv6, e.g. ``10.0.0.0/27``; host bits must be zero."""
    gateway: str = ""
    """Gateway address inside ``cidr``; "" for the first host address."""
    point_to_point: bool = False
    """A /31 (IPv4) or /127 (IPv6) without gateway: its two addresses are the two ports."""
    segmentation_id: int = 0
    """VXLAN VNI / VLAN id asked for the network; 0 lets the VIM choose."""
    dhcp: bool = False
    """Whether the VIM serves the subnet's addresses by DHCP as well."""
    mtu: int = 0
    """The network's MTU (0: the VIM's default)."""
    tag: str = ""
    """The caller's intent key the object carries ("" = untagged); "" or ``TAG_PATTERN``.
    ``Vim.tagged`` finds the object by it."""


@dataclass(frozen=True)
class NetworkHandle:
    """A created network and its subnet: enough to attach ports and to delete it."""

    vim: str
    """Name of the PoP that holds it."""
    network_id: str
    """The VIM's network id."""
    subnet_id: str
    """The VIM's id of the network's subnet."""
    name: str
    """Display name as asked."""
    cidr: str
    """Subnet prefix in canonical form (``2001:db8::/64``, not ``2001:DB8:0::/64``)."""
    tag: str = ""
    """The intent key it carries, "" if untagged (the default keeps handles saved before
    tags existed readable)."""


@dataclass(frozen=True)
class PortRequest:
    """A port on a network, with one fixed address."""

    name: str
    """Display name; VIMs do not require it to be unique."""
    network: NetworkHandle
    """The network (and subnet) to take the address from."""
    address: str = ""
    """Bare IP inside the network's cidr; "" lets the VIM pick the next free one."""
    mac: str = ""
    """MAC address; "" lets the VIM generate a locally administered unicast one."""
    tag: str = ""
    """The caller's intent key the object carries ("" = untagged); "" or ``TAG_PATTERN``.
    ``Vim.tagged`` finds the object by it."""


@dataclass(frozen=True)
class PortHandle:
    """A created port: enough to attach it to a server and to delete it."""

    vim: str
    """Name of the PoP that holds it."""
    port_id: str
    """The VIM's port id."""
    network_id: str
    """The network the port is on."""
    name: str
    """Display name as asked."""
    address: str
    """Fixed address WITH the subnet's prefix length, e.g. ``10.0.0.5/27``."""
    mac: str
    """MAC address, lower case and colon separated, e.g. ``fa:16:3e:12:ab:cd``."""
    tag: str = ""
    """The intent key it carries, "" if untagged (the default keeps handles saved before
    tags existed readable)."""


@dataclass(frozen=True)
class ServerRequest:
    """A server (VM or container) booted on existing ports."""

    name: str
    """Display name; must not be empty."""
    image: str
    """Image reference (name or id, as the VIM understands it); must not be empty."""
    resources: Resources
    """Compute it needs; the VIM admits it against its free capacity."""
    ports: tuple[PortHandle, ...] = ()
    """Ports to attach, in interface order; each must be free (on no other server)."""
    image_md5: str = ""
    """Expected image checksum, "" when unknown; drivers that can verify it do."""
    flavor: str = ""
    """Flavour name to use; "" lets the driver pick one that covers ``resources``."""
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Key/value pairs recorded on the server (Nova metadata); copied, read-only.
    ``CHAIN_UPSTREAM_KEY`` and ``CHAIN_DOWNSTREAM_KEY`` place it in a chain."""
    tag: str = ""
    """The caller's intent key the object carries ("" = untagged); "" or ``TAG_PATTERN``.
    ``Vim.tagged`` finds the object by it."""

    def __post_init__(self) -> None:
        # Copy so that a caller mutating its dict cannot change a request already made.
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))


@dataclass(frozen=True)
class ServerHandle:
    """A created server: enough to query its status and to delete it."""

    vim: str
    """Name of the PoP that holds it."""
    server_id: str
    """The VIM's server id."""
    name: str
    """Display name as asked."""
    resources: Resources
    """Compute it holds on the PoP until deleted."""
    port_ids: tuple[str, ...]
    """Ids of the ports attached to it, in interface order."""
    tag: str = ""
    """The intent key it carries, "" if untagged (the default keeps handles saved before
    tags existed readable)."""


@dataclass(frozen=True)
class TaggedResources:
    """What a PoP holds with one tag (``Vim.tagged``): handles its deletes accept.

    Delete in this order: servers, then ports, then networks.
    """

    networks: tuple[NetworkHandle, ...] = ()
    """Networks with the tag."""
    ports: tuple[PortHandle, ...] = ()
    """Ports with the tag."""
    servers: tuple[ServerHandle, ...] = ()
    """Servers with the tag."""

    @property
    def empty(self) -> bool:
        """Whether nothing carries the tag."""
        return not (self.networks or self.ports or self.servers)

    def __bool__(self) -> bool:
        """True when something carries the tag (``not self.empty``)."""
        return not self.empty


class ServerStatus(StrEnum):
    """Lifecycle status of a server, as Nova names it."""

    BUILD = "BUILD"
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"
    DELETED = "DELETED"


@dataclass(frozen=True)
class VimCapacity:
    """Compute capacity of a PoP at one moment."""

    total: Resources
    """What the PoP has."""
    used: Resources
    """What its live servers hold."""

    @property
    def free(self) -> Resources:
        """``total - used``; negative on an axis if the PoP was shrunk below its load."""
        return self.total - self.used


@runtime_checkable
class Vim(Protocol):
    """One point of presence, as the node's leaf deployment sees it.

    Contract shared by every driver (``tests/contract/vim_contract.py`` checks it):

    - ``start()`` before any other call, ``close()`` at the end; other calls
      outside that window raise ``FailedPrecondition``.
    - A call that raises changes nothing on the PoP.
    - A handle passed in must come from this PoP (``handle.vim == name``), else
      ``InvalidArgument``.
    - Deletes are idempotent: deleting what is already gone succeeds, so
      compensation can be retried blindly.
    - A handle returned by a create is durable: the PoP still knows it after a
      restart of the node.
    - An object created with a ``tag`` carries it from the moment it exists:
      ``tagged`` finds it even if its handle never reached the caller.
    - Errors are ``spfed.errors`` leaves; drivers translate their SDK's errors.
    """

    @property
    def name(self) -> str:
        """The PoP name (``PopConfig.name``); every handle's ``vim`` field."""
        ...

    @property
    def region(self) -> str:
        """The region the PoP is in."""
        ...

    @property
    def point_to_point(self) -> bool:
        """Whether a port may take either address of a /31 (/127) subnet.

        Neutron refuses the lower address of an IPv4 /31; a node with such a VIM plans
        its links between parts with a gateway instead (``addressing.point_to_point_links``).
        """
        ...

    async def start(self) -> None:
        """Connect to the VIM or load the PoP's saved state.

        Raises:
            Unavailable: the VIM cannot be reached (temporary).
        """
        ...

    async def close(self) -> None:
        """Release connections; the PoP's resources stay. Idempotent."""
        ...

    async def capacity(self) -> VimCapacity:
        """Total and used compute (vCPU, MiB memory, GiB disk) right now."""
        ...

    async def create_network(self, request: NetworkRequest) -> NetworkHandle:
        """Create a network with one subnet.

        Raises:
            InvalidArgument: the cidr is not a prefix (or too small for a gateway
                and one port), the gateway is not a host of it, the
                segmentation id is out of range, or the tag is malformed.
            AlreadyExists: the segmentation id is used by another network.
        """
        ...

    async def delete_network(self, network: NetworkHandle) -> None:
        """Delete a network and its subnet; succeeds if already gone.

        Raises:
            FailedPrecondition: ports are still on it (Neutron's 409 Conflict);
                delete them first.
        """
        ...

    async def create_port(self, request: PortRequest) -> PortHandle:
        """Create a port holding one fixed address of the network's subnet.

        Without an address, the next free host address is taken; never the
        network address, the broadcast address nor the gateway.

        Raises:
            NotFound: the network does not exist (any more).
            InvalidArgument: the address is not an IP, is outside the cidr, or is
                the network or broadcast address; the MAC is malformed or not unicast;
                the tag is malformed.
            AlreadyExists: the address (or the gateway) or the MAC is taken on
                that network.
            ResourceExhausted: no free address is left in the subnet.
        """
        ...

    async def delete_port(self, port: PortHandle) -> None:
        """Delete a port and free its address; succeeds if already gone.

        Raises:
            FailedPrecondition: a server still holds the port; delete it first.
        """
        ...

    async def create_server(self, request: ServerRequest) -> ServerHandle:
        """Boot a server on the given ports, holding ``request.resources``.

        Returns as soon as the VIM has accepted it; poll ``server_status`` (it
        starts in ``BUILD`` or ``ACTIVE``).

        Raises:
            InvalidArgument: empty name or image, negative resources, a port
                given twice, or a malformed tag.
            NotFound: a port does not exist (any more).
            FailedPrecondition: a port is already attached to a server.
            ResourceExhausted: it does not fit; one
                ``QuotaViolation(subject=f"pop:{name}")`` says what was asked
                and what is free. Nothing is booted or reserved.
        """
        ...

    async def server_status(self, server: ServerHandle) -> ServerStatus:
        """The server's status now; ``DELETED`` once it is gone (never raises NotFound)."""
        ...

    async def wait_active(self, server: ServerHandle, timeout_s: float) -> None:
        """Wait until the server is ``ACTIVE``, at most ``timeout_s`` seconds.

        Raises:
            DeadlineExceeded: it is still ``BUILD`` after ``timeout_s``.
            ResourceExhausted: the VIM found no host for it (Nova's "No valid
                host"); one ``QuotaViolation(subject=f"pop:{name}")``.
            FailedPrecondition: it went ``ERROR`` for another reason, or is gone.
        """
        ...

    async def delete_server(self, server: ServerHandle) -> None:
        """Delete a server, free its resources and detach (not delete) its ports.

        Succeeds if already gone.
        """
        ...

    async def tagged(self, tag: str) -> TaggedResources:
        """Every network, port and server of this PoP that carries exactly ``tag``.

        Whether or not its handle ever reached the caller: this is how a node finds
        what a creation made before it could record the handle, and deletes it
        (``delete_server``, ``delete_port``, ``delete_network`` accept what this
        returns). Something being deleted may still be listed; deleting it again
        succeeds.

        Raises:
            InvalidArgument: ``tag`` is empty or does not match ``TAG_PATTERN``.
        """
        ...
