"""The node's infrastructure sections: server, storage, PoPs, federation, addressing,
catalogue, WAN, workflow, logging, metrics and TLS."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, with_config

from spfed.config._base import _STRICT, Name, PositiveSeconds
from spfed.model import Resources, WimService


@with_config(_STRICT)
@dataclass(frozen=True)
class ServerConfig:
    """The gRPC server."""

    listen: str = "127.0.0.1:50051"
    """``host:port`` to listen on; port 0 picks a free port."""
    grace_period_s: PositiveSeconds = 5.0
    """On shutdown, how long running calls and workflows may take to finish."""
    ready_file: str = ""
    """If set, the bound address is written here once the node serves."""


@with_config(_STRICT)
@dataclass(frozen=True)
class StorageConfig:
    """The node's database."""

    url: str = "sqlite:///spfed.db"
    """Any SQLAlchemy URL; SQLite (WAL) by default, PostgreSQL for production."""


@with_config(_STRICT)
@dataclass(frozen=True)
class CapacityConfig:
    """Compute capacity of a PoP."""

    vcpus: Annotated[int, Field(ge=0)] = 0
    """Virtual CPUs."""
    memory_mib: Annotated[int, Field(ge=0)] = 0
    """Memory in MiB."""
    disk_gib: Annotated[int, Field(ge=0)] = 0
    """Disk in GiB."""

    def to_resources(self) -> Resources:
        """As a domain amount."""
        return Resources(self.vcpus, self.memory_mib, self.disk_gib)


@with_config(_STRICT)
@dataclass(frozen=True)
class PopConfig:
    """One point of presence, served by a VIM driver."""

    name: Name
    """PoP name, unique within the node."""
    region: Name
    """Region the PoP is in; placement matches on it."""
    driver: str = "emulated"
    """VIM driver name from the ``spfed.vim_drivers`` registry."""
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    """Capacity (drivers that can read it from the VIM may ignore this)."""
    options: dict[str, str] = field(default_factory=dict)
    """Driver-specific options."""


@with_config(_STRICT)
@dataclass(frozen=True)
class LowerSpConfig:
    """A lower SP this node may delegate to."""

    id: Name
    """Its operator id."""
    address: str
    """``host:port`` of its API."""
    public_key_file: str = ""
    """Its Ed25519 public key (PEM): its catalogue versions must be signed with it."""
    account: str = ""
    """This node's service account there ("" for this node's id)."""
    key_file: str = ""
    """Private key of that account ("" for ``federation.key_file``)."""
    server_name: str = ""
    """Name its TLS certificate must carry ("" to check the host of ``address``)."""


@with_config(_STRICT)
@dataclass(frozen=True)
class FederationConfig:
    """Calls to lower SPs."""

    lower_sps: tuple[LowerSpConfig, ...] = ()
    """The lower SPs."""
    key_file: str = ""
    """Ed25519 private key (PEM) of this node's service accounts at its lower SPs."""
    call_timeout_s: PositiveSeconds = 10.0
    """Deadline of one unary call to a lower SP."""
    delegation_timeout_s: PositiveSeconds = 300.0
    """How long a delegated sub-service may take to settle."""
    reconnect_initial_s: PositiveSeconds = 0.2
    """First backoff delay of the catalogue subscription, and of the channel's reconnection
    to a lower SP that went away."""
    reconnect_max_s: PositiveSeconds = 5.0
    """Largest backoff delay of the catalogue subscription and of the channel's reconnection."""
    terminate_deadline_s: PositiveSeconds = 600.0
    """How long a termination keeps trying a lower SP that is unreachable or slow (UNAVAILABLE,
    DEADLINE_EXCEEDED, ABORTED), from its TerminateService, before it fails naming that SP;
    attempts back off from ``reconnect_initial_s`` to ``reconnect_max_s``."""


@with_config(_STRICT)
@dataclass(frozen=True)
class AddressingConfig:
    """The node's address pool and how it is carved."""

    service_pool: str = "10.0.0.0/8"
    """IPv4 pool that top-level services (those without an address space) draw from."""
    service_prefix_length: Annotated[int, Field(ge=1, le=128)] = 16
    """Prefix length of one top-level service's IPv4 block."""
    service_pool_v6: str = "fd5f::/32"
    """IPv6 pool, for services that ask for IPv6."""
    service_prefix_length_v6: Annotated[int, Field(ge=1, le=128)] = 48
    """Prefix length of one top-level service's IPv6 block."""
    slice_pool: str = "172.16.0.0/12"
    """IPv4 pool that end-to-end slices draw their blocks from."""
    slice_prefix_length: Annotated[int, Field(ge=1, le=128)] = 20
    """Prefix length of one slice's IPv4 block."""
    slice_pool_v6: str = "fd5e::/32"
    """IPv6 pool of slices."""
    slice_prefix_length_v6: Annotated[int, Field(ge=1, le=128)] = 48
    """Prefix length of one slice's IPv6 block."""
    vni_pool: str = "100000-16777215"
    """VXLAN network identifiers top-level services and slices draw from (``first-last``)."""
    service_vnis: Annotated[int, Field(ge=2)] = 4096
    """VNIs one top-level service gets (its lower SPs share part of them)."""
    mac_pool: str = "02:5f:00:00:00:00/16"
    """MAC prefix (locally administered unicast) top-level services draw from."""
    service_mac_prefix_length: Annotated[int, Field(ge=8, le=44)] = 32
    """Prefix length of one top-level service's MAC block."""
    mtu: Annotated[int, Field(ge=576, le=9216)] = 1450
    """MTU of top-level services' links (room for VXLAN on a 1500-byte underlay)."""
    link_prefix_length: Annotated[int, Field(ge=1, le=128)] = 27
    """Prefix length of the subnet of a link inside one part (IPv4; IPv6 uses /64)."""
    crossing_link_prefix_length: Annotated[int, Field(ge=1, le=128)] = 24
    """Prefix length of the subnet of a link that crosses parts; it is split among them,
    and lower SPs split their slice again, so it must leave room for the depth."""
    part_block_bits: Annotated[int, Field(ge=1, le=16)] = 3
    """A delegated part's block is the service block split 2**bits ways."""
    point_to_point_links: bool | None = None
    """Whether an E-Line between two parts gets a /31 (/127), one address each; off, it is
    planned like other links that cross parts, with a gateway. None (the default): on,
    unless a PoP of the node cannot hold a /31's lower address (``Vim.point_to_point``:
    Neutron refuses it)."""


@with_config(_STRICT)
@dataclass(frozen=True)
class PriceConfig:
    """A price per instance-hour."""

    per_hour: Annotated[Decimal, Field(ge=0, decimal_places=6)]
    """E.g. 0.12."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    """ISO 4217 code."""


@with_config(_STRICT)
@dataclass(frozen=True)
class SlaConfig:
    """What the node guarantees from one of its regions toward another."""

    region: Name
    """From (one of the node's regions)."""
    toward: Name
    """To."""
    latency_ms: Annotated[int, Field(ge=0)]
    """One-way latency bound."""
    bandwidth_mbps: Annotated[int, Field(ge=0)]
    """Bandwidth it can assure."""


@with_config(_STRICT)
@dataclass(frozen=True)
class BorderConfig:
    """A border attachment point of the node's WAN."""

    id: Name
    """Attachment point id."""
    region: Name
    """Region it is in."""
    services: tuple[WimService, ...] = (WimService.E_LINE, WimService.E_LAN)
    """What can be built across it."""
    peer: str = ""
    """The operator on the other side (a lower SP or an upper SP), "" for a customer edge.

    The WIM reaches a lower SP's parts of a service through the border that names it."""


@with_config(_STRICT)
@dataclass(frozen=True)
class WanLinkConfig:
    """A link of the node's WAN between two of its PoPs or border points."""

    id: Name
    """Link id, unique within the node."""
    a: Name
    """One end: a PoP name or a border point id (``catalogue.borders``)."""
    b: Name
    """The other end."""
    capacity_mbps: Annotated[float, Field(gt=0)]
    """Bandwidth that may be booked on it, in Mbit/s."""
    latency_ms: Annotated[float, Field(ge=0)] = 0.0
    """One-way latency, in ms."""


@with_config(_STRICT)
@dataclass(frozen=True)
class WimConfig:
    """The node's WAN infrastructure manager: links between PoPs and borders."""

    enabled: bool = False
    """Whether the node has a WIM: links of a service between its PoPs, borders and
    lower SPs are then booked (and built) on the WAN, and must find a path."""
    driver: Literal["capacity", "netns"] = "capacity"
    """``capacity``: bookkeeping only, no root needed; ``netns``: the real data plane
    (network namespaces, veth and VXLAN; needs root)."""
    links: tuple[WanLinkConfig, ...] = ()
    """The WAN graph's links."""
    vni_pool: str = "1000000-1999999"
    """VXLAN VNIs for the WAN's segments (``first-last``)."""
    netns_prefix: str = ""
    """netns driver: prefix of every namespace and link it creates ("" for one
    derived from the node id)."""


@with_config(_STRICT)
@dataclass(frozen=True)
class CatalogueConfig:
    """What the node offers, and how it publishes it."""

    descriptors: tuple[str, ...] = ()
    """Files or directories of onboarded NSDs and VNFDs, offered in the catalogue."""
    republish_debounce_s: Annotated[float, Field(ge=0)] = 0.05
    """Changes within this window are published as one new version."""
    capacity_step_percent: Annotated[float, Field(ge=0, le=100)] = 5.0
    """Free capacity is republished once it moved by this share of the total (or hit zero)."""
    validity_s: Annotated[float, Field(ge=2, le=86400)] = 300.0
    """How long a version may be used; versions are re-issued at half of it."""
    signing_key_file: str = ""
    """Ed25519 key that signs the catalogue ("" for ``federation.key_file``)."""
    prices: dict[str, PriceConfig] = field(default_factory=dict)
    """Price of own functions and services, by ``vendor/name/version``."""
    sla: tuple[SlaConfig, ...] = ()
    """SLA figures from the node's regions toward others."""
    borders: tuple[BorderConfig, ...] = ()
    """Border attachment points of the node's WAN."""
    wim_services: tuple[WimService, ...] = ()
    """WIM service types the node supports (none until it has a WIM)."""


@with_config(_STRICT)
@dataclass(frozen=True)
class WorkflowConfig:
    """The task engine."""

    task_timeout_s: PositiveSeconds = 60.0
    """Deadline of one task attempt (delegation uses the federation timeout)."""
    max_attempts: Annotated[int, Field(ge=1)] = 3
    """Attempts of a task that fails temporarily."""
    retry_delay_s: Annotated[float, Field(ge=0)] = 0.2
    """Delay before the first retry; doubles with each attempt."""
    plugins: tuple[str, ...] = ()
    """Service-specific plug-ins to enable, by entry-point name (``spfed.plugins``)."""


@with_config(_STRICT)
@dataclass(frozen=True)
class LoggingConfig:
    """Logs."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Threshold."""
    format: Literal["keyvalue", "json"] = "keyvalue"
    """Line format."""
    file: str = ""
    """Log file ("" for stderr)."""


_HOST_PORT_OR_EMPTY = r"^$|^(\[[0-9A-Fa-f:.]+\]|[^:\s\[\]]+):[0-9]{1,5}$"
"""``host:port`` (an IPv6 host in brackets), or nothing."""


@with_config(_STRICT)
@dataclass(frozen=True)
class MetricsConfig:
    """The node's Prometheus endpoint (``GET /metrics`` over plain HTTP)."""

    listen: Annotated[str, Field(pattern=_HOST_PORT_OR_EMPTY)] = ""
    """``host:port`` to serve metrics on (port 0 picks a free one); "" (the default): off."""


@with_config(_STRICT)
@dataclass(frozen=True)
class TlsConfig:
    """TLS of the server and of this node's calls to its lower SPs.

    The node's certificate serves both: it is the server certificate, and the
    client certificate presented to lower SPs (mutual TLS).
    """

    cert_file: str = ""
    """The node's certificate (PEM)."""
    key_file: str = ""
    """Its private key (PEM, unencrypted)."""
    ca_file: str = ""
    """Trust anchors: the CA(s) of callers' client certificates and of lower SPs' servers."""
    require_client_cert: bool = True
    """Mutual TLS: refuse callers without a certificate from ``ca_file``."""
    insecure: bool = False
    """Development only: plaintext, no TLS anywhere (logged loudly)."""
