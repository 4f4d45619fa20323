"""Node configuration: typed, frozen dataclasses, one per area.

A node reads one YAML file (``spfed serve --config node.yaml``); environment
variables override single fields, with ``__`` between path parts::

    SPFED__SERVER__LISTEN=127.0.0.1:7000
    SPFED__STORAGE__URL=postgresql+psycopg://spfed@db/spfed

Relative paths in the file are resolved against the file's directory.
Validation errors name the field: ``pops.0.capacity.vcpus: Input should be
greater than 0``.
"""

from __future__ import annotations

import copy
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config

from spfed.bounded_yaml import load_yaml, read_limited
from spfed.model import AccountKind, DescriptorLimits, Resources, Role, WimService

__all__ = [
    "AccountSeed",
    "AddressingConfig",
    "AuthConfig",
    "BorderConfig",
    "CapacityConfig",
    "CatalogueConfig",
    "ConfigError",
    "FederationConfig",
    "LimitsConfig",
    "LoggingConfig",
    "LowerSpConfig",
    "NodeConfig",
    "PopConfig",
    "PriceConfig",
    "ServerConfig",
    "SlaConfig",
    "StorageConfig",
    "TlsConfig",
    "WanLinkConfig",
    "WimConfig",
    "WorkflowConfig",
    "load_config",
    "parse_config",
]

_STRICT = ConfigDict(extra="forbid")
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-_.]*$", max_length=63)]
PositiveSeconds = Annotated[float, Field(gt=0)]


class ConfigError(ValueError):
    """The configuration file or an override is invalid; one problem per line."""


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


@with_config(_STRICT)
@dataclass(frozen=True)
class AccountSeed:
    """An account the node creates at start-up if it does not exist (and keeps in step).

    Its key, password hash and role are updated from here on every start; whether
    it is disabled is left to the account API.
    """

    name: Name
    """Account name."""
    kind: AccountKind
    """``user`` (password) or ``service`` (key)."""
    role: Role
    """``customer``, ``platform`` or ``operator``."""
    public_key_file: str = ""
    """Service accounts: the Ed25519 public key (PEM) of the account's holder."""
    password_hash: str = ""
    """Users: an scrypt hash from ``spfed account hash-password``."""


@with_config(_STRICT)
@dataclass(frozen=True)
class AuthConfig:
    """The gatekeeper: accounts, tokens, signing keys."""

    key_dir: str = "keys"
    """Where the node keeps its token-signing keys (created, mode 0700)."""
    token_ttl_s: Annotated[float, Field(gt=0, le=900)] = 900.0
    """Lifetime of the access tokens it issues (15 minutes at most)."""
    leeway_s: Annotated[float, Field(ge=0, le=60)] = 5.0
    """Clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""
    signing_key_rotation_s: PositiveSeconds = 86400.0
    """How often the signing key is replaced (the previous one verifies until its tokens expire)."""
    assertion_max_lifetime_s: Annotated[float, Field(gt=0, le=3600)] = 300.0
    """Longest lifetime of a service account's client assertion."""
    password_max_failures: Annotated[int, Field(ge=1)] = 5
    """Failed passwords of one account from one source address, within the window, that lock
    that source (only) out of the account for a while (``spfed.auth.ratelimit``)."""
    password_window_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    """How long a failed password counts towards the limits."""
    password_lockout_s: PositiveSeconds = 60.0
    """First lock-out of a source from an account; doubled on each further one."""
    password_max_lockout_s: Annotated[float, Field(gt=0, le=86400)] = 900.0
    """Longest lock-out; as long a quiet spell forgives the earlier ones."""
    password_account_max_failures: Annotated[int, Field(ge=1)] = 20
    """Failed passwords of one account, within the window, from sources it does not trust,
    that put it under attack: sources that failed on it wait, new ones share the next limit."""
    password_stranger_attempts: Annotated[int, Field(ge=1)] = 10
    """Password attempts per window at an account under attack from sources new to it."""
    password_trust_s: Annotated[float, Field(gt=0, le=366 * 86400)] = 30 * 86400.0
    """How long a source where an account's password succeeded is trusted by the account (is
    not held back when it is under attack)."""
    sign_in_rate_per_s: Annotated[float, Field(gt=0, le=10000)] = 2.0
    """``IssueToken`` calls per second one source address may sustain, whatever the credential."""
    sign_in_burst: Annotated[int, Field(ge=1, le=100000)] = 40
    """``IssueToken`` calls one source address may make at once before the rate applies."""
    scrypt_log_n: Annotated[int, Field(ge=10, le=20)] = 15
    """scrypt cost of new password hashes (2^n)."""
    accounts: tuple[AccountSeed, ...] = ()
    """Accounts created at start-up: the first operator, trusted upper SPs."""

    def __post_init__(self) -> None:
        """Raises ValueError (a configuration error) when the lock-outs cannot grow."""
        if self.password_max_lockout_s < self.password_lockout_s:
            raise ValueError("password_max_lockout_s must be at least password_lockout_s")


@with_config(_STRICT)
@dataclass(frozen=True)
class LimitsConfig:
    """Bounds on what one caller may ask of the node (see ``spfed.model.DescriptorLimits``).

    A request beyond a bound is INVALID_ARGUMENT naming the bound and the field.
    """

    max_request_bytes: Annotated[int, Field(ge=1024, le=64 << 20)] = 1 << 20
    """Largest request (grpc refuses more: RESOURCE_EXHAUSTED), descriptor or YAML file, bytes."""
    max_functions: Annotated[int, Field(ge=1)] = 256
    """Functions plus nested services in one NSD."""
    max_nesting_depth: Annotated[int, Field(ge=1, le=64)] = 8
    """Levels of nested services below a request's NSD."""
    max_links: Annotated[int, Field(ge=1)] = 1024
    """Virtual links in one NSD."""
    max_connection_points: Annotated[int, Field(ge=1)] = 4096
    """Connection points in one descriptor."""
    max_placement_rules: Annotated[int, Field(ge=0)] = 256
    """Placement rules in one request."""
    max_yaml_depth: Annotated[int, Field(ge=8, le=1000)] = 64
    """Nesting of collections in one YAML document."""
    max_yaml_aliases: Annotated[int, Field(ge=0)] = 100
    """Aliases (``*name``) in one YAML stream."""
    max_violations: Annotated[int, Field(ge=1, le=200)] = 50
    """Violations listed in one error; the rest are counted in one more line."""
    admission_timeout_s: PositiveSeconds = 10.0
    """Deadline of the CPU-heavy part of admission (checks, graph, placement)."""
    admissions_per_account: Annotated[int, Field(ge=1)] = 4
    """Admissions of one customer account that may run at once; more get RESOURCE_EXHAUSTED."""
    admissions_per_platform: Annotated[int, Field(ge=1)] = 64
    """The same for an upper SP's account (role ``platform``): it carries the delegations of
    all of that operator's customers, each already bounded at its own node."""

    def descriptor_limits(self) -> DescriptorLimits:
        """The bounds as the domain model's value."""
        return DescriptorLimits(
            max_request_bytes=self.max_request_bytes,
            max_functions=self.max_functions,
            max_nesting_depth=self.max_nesting_depth,
            max_links=self.max_links,
            max_connection_points=self.max_connection_points,
            max_placement_rules=self.max_placement_rules,
            max_yaml_depth=self.max_yaml_depth,
            max_yaml_aliases=self.max_yaml_aliases,
            max_violations=self.max_violations,
        )


@with_config(_STRICT)
@dataclass(frozen=True)
class NodeConfig:
    """Everything one node (one operator's service platform) needs."""

    id: Name
    """Operator id, unique in the federation."""
    server: ServerConfig = field(default_factory=ServerConfig)
    """gRPC server."""
    storage: StorageConfig = field(default_factory=StorageConfig)
    """Database."""
    pops: tuple[PopConfig, ...] = ()
    """Own PoPs."""
    federation: FederationConfig = field(default_factory=FederationConfig)
    """Lower SPs."""
    addressing: AddressingConfig = field(default_factory=AddressingConfig)
    """Address pool."""
    catalogue: CatalogueConfig = field(default_factory=CatalogueConfig)
    """Offers."""
    workflow: WorkflowConfig = field(default_factory=WorkflowConfig)
    """Task engine."""
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    """Logs."""
    tls: TlsConfig = field(default_factory=TlsConfig)
    """TLS."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    """Accounts and tokens."""
    wim: WimConfig = field(default_factory=WimConfig)
    """WAN links and their manager."""
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    """Bounds on requests and descriptors (hostile input)."""


_ADAPTER: TypeAdapter[NodeConfig] = TypeAdapter(NodeConfig)
_ENV_PREFIX = "SPFED__"


def _apply_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for key, raw in environ.items():
        if not key.startswith(_ENV_PREFIX):
            continue
        path = [p.lower() for p in key[len(_ENV_PREFIX) :].split("__") if p]
        if not path:
            raise ConfigError(f"{key}: name a field after the prefix, e.g. SPFED__SERVER__LISTEN")
        node: dict[str, Any] = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{key}: {'.'.join(path[:-1])} is not a section")
            node = child
        try:
            node[path[-1]] = load_yaml(raw, DescriptorLimits()) if raw else raw
        except yaml.YAMLError as exc:
            raise ConfigError(f"{key}: {' '.join(str(exc).split())}") from None


def _addressing_problems(addressing: AddressingConfig) -> list[str]:
    try:
        pool = ipaddress.ip_network(addressing.service_pool, strict=True)
    except ValueError as exc:
        return [f"addressing.service_pool: {exc}"]
    problems = []
    for name in ("service_prefix_length", "link_prefix_length", "crossing_link_prefix_length"):
        if getattr(addressing, name) > pool.max_prefixlen:
            problems.append(
                f"addressing.{name}: longer than an IPv{pool.version} prefix can be"
                f" ({pool.max_prefixlen})"
            )
    if addressing.service_prefix_length < pool.prefixlen:
        problems.append(
            f"addressing.service_prefix_length: /{addressing.service_prefix_length} is larger"
            f" than the pool {pool}"
        )
    return problems


def _wim_problems(config: NodeConfig) -> list[str]:
    problems = []
    pops = {p.name for p in config.pops}
    borders = [b.id for b in config.catalogue.borders]
    problems += [
        f"catalogue.borders: border id '{b}' is also a PoP name"
        for b in sorted(set(borders) & pops)
    ]
    problems += [
        f"catalogue.borders: border id '{b}' is used twice"
        for b in sorted(set(borders))
        if borders.count(b) > 1
    ]
    ends = pops | set(borders)
    ids = [link.id for link in config.wim.links]
    problems += [
        f"wim.links: link id '{n}' is used twice" for n in sorted(set(ids)) if ids.count(n) > 1
    ]
    for i, link in enumerate(config.wim.links):
        for side in ("a", "b"):
            end = getattr(link, side)
            if end not in ends:
                problems.append(
                    f"wim.links.{i}.{side}: '{end}' is neither a PoP nor a border point"
                    f" ({', '.join(sorted(ends)) or 'none configured'})"
                )
        if link.a == link.b:
            problems.append(f"wim.links.{i}: a link joins two different ends, not '{link.a}' twice")
    prefix = config.wim.netns_prefix
    if prefix and not (2 <= len(prefix) <= 8 and prefix.isalnum() and prefix[0].isalpha()):
        problems.append(
            f"wim.netns_prefix: '{prefix}' is not 2 to 8 lower-case letters and digits,"
            " starting with a letter"
        )
    elif prefix != prefix.lower():
        problems.append(f"wim.netns_prefix: '{prefix}' must be lower case")
    first, sep, last = config.wim.vni_pool.partition("-")
    if not (sep and first.strip().isdigit() and last.strip().isdigit()):
        problems.append(f"wim.vni_pool: '{config.wim.vni_pool}' is not first-last")
    elif not 1 <= int(first) <= int(last) <= 16_777_215:
        problems.append(f"wim.vni_pool: '{config.wim.vni_pool}' is not within 1-16777215")
    return problems


def _security_problems(config: NodeConfig) -> list[str]:
    problems = []
    tls = config.tls
    if not tls.insecure:
        for name in ("cert_file", "key_file", "ca_file"):
            if not getattr(tls, name):
                problems.append(
                    f"tls.{name}: required (or, for development only, tls.insecure: true)"
                )
    fed = config.federation
    for i, lower in enumerate(fed.lower_sps):
        if not (lower.key_file or fed.key_file):
            problems.append(
                f"federation.lower_sps.{i}.key_file: required to sign in at '{lower.id}'"
                " (or set federation.key_file)"
            )
        if not lower.public_key_file:
            problems.append(
                f"federation.lower_sps.{i}.public_key_file: required to check the catalogue"
                f" of '{lower.id}'"
            )
    for ref in config.catalogue.prices:
        parts = ref.split("/")
        if len(parts) != 3 or not all(parts):
            problems.append(f"catalogue.prices: '{ref}' is not vendor/name/version")
    if not (config.catalogue.signing_key_file or fed.key_file):
        problems.append(
            "catalogue.signing_key_file: required to sign the catalogue (or set"
            " federation.key_file)"
        )
    names = [a.name for a in config.auth.accounts]
    problems += [
        f"auth.accounts: account '{n}' is listed twice"
        for n in sorted(set(names))
        if names.count(n) > 1
    ]
    for i, seed in enumerate(config.auth.accounts):
        if seed.kind is AccountKind.SERVICE and not seed.public_key_file:
            problems.append(f"auth.accounts.{i}.public_key_file: required for a service account")
        if seed.kind is AccountKind.USER and not seed.password_hash:
            problems.append(f"auth.accounts.{i}.password_hash: required for a user")
    return problems


def _check_semantics(config: NodeConfig) -> list[str]:
    problems = []
    names = [p.name for p in config.pops]
    problems += [
        f"pops: PoP name '{n}' is used twice" for n in sorted(set(names)) if names.count(n) > 1
    ]
    ids = [s.id for s in config.federation.lower_sps]
    problems += [
        f"federation.lower_sps: id '{n}' is used twice"
        for n in sorted(set(ids))
        if ids.count(n) > 1
    ]
    if config.id in ids:
        problems.append(f"federation.lower_sps: a node cannot be its own lower SP ('{config.id}')")
    if "local" in ids:
        problems.append("federation.lower_sps: 'local' is reserved for the node's own PoPs")
    fed = config.federation
    if fed.reconnect_initial_s > fed.reconnect_max_s:
        problems.append("federation.reconnect_initial_s: larger than reconnect_max_s")
    problems += _addressing_problems(config.addressing)
    problems += _wim_problems(config)
    addresses = [("server.listen", config.server.listen)] + [
        (f"federation.lower_sps.{i}.address", s.address)
        for i, s in enumerate(config.federation.lower_sps)
    ]
    problems += _security_problems(config)
    for label, value in addresses:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            problems.append(f"{label}: '{value}' is not host:port")
    return problems


def _resolve_paths(config: NodeConfig, base: Path) -> NodeConfig:
    def resolve(p: str) -> str:
        return p if not p or Path(p).is_absolute() else str((base / p).resolve())

    url = config.storage.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        tail = url[len("sqlite:///") :]
        if tail and tail != ":memory:":
            url = "sqlite:///" + resolve(tail)
    return replace(
        config,
        storage=replace(config.storage, url=url),
        server=replace(config.server, ready_file=resolve(config.server.ready_file)),
        catalogue=replace(
            config.catalogue,
            descriptors=tuple(resolve(p) for p in config.catalogue.descriptors),
            signing_key_file=resolve(config.catalogue.signing_key_file),
        ),
        logging=replace(config.logging, file=resolve(config.logging.file)),
        tls=replace(
            config.tls,
            cert_file=resolve(config.tls.cert_file),
            key_file=resolve(config.tls.key_file),
            ca_file=resolve(config.tls.ca_file),
        ),
        auth=replace(
            config.auth,
            key_dir=resolve(config.auth.key_dir),
            accounts=tuple(
                replace(a, public_key_file=resolve(a.public_key_file)) for a in config.auth.accounts
            ),
        ),
        federation=replace(
            config.federation,
            key_file=resolve(config.federation.key_file),
            lower_sps=tuple(
                replace(
                    lower,
                    key_file=resolve(lower.key_file),
                    public_key_file=resolve(lower.public_key_file),
                )
                for lower in config.federation.lower_sps
            ),
        ),
    )


def parse_config(
    data: Mapping[str, Any], *, base: Path | None = None, environ: Mapping[str, str] | None = None
) -> NodeConfig:
    """Validate a configuration mapping (plus overrides) into a ``NodeConfig``.

    Raises:
        ConfigError: with one line per problem.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(data))  # overrides must not touch the caller's data
    _apply_overrides(merged, environ if environ is not None else {})
    try:
        config = _ADAPTER.validate_python(merged)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigError("\n".join(lines)) from None
    problems = _check_semantics(config)
    if problems:
        raise ConfigError("\n".join(problems))
    return _resolve_paths(config, base) if base is not None else config


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> NodeConfig:
    """Load a node's YAML file, apply ``SPFED__*`` overrides and validate.

    Raises:
        ConfigError: the file is unreadable or invalid; the message names the file.
    """
    path = Path(path)
    try:
        # The file sets the node's limits, so it is read within the defaults.
        data = load_yaml(read_limited(path, DescriptorLimits()), DescriptorLimits()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    try:
        return parse_config(
            data, base=path.parent, environ=os.environ if environ is None else environ
        )
    except ConfigError as exc:
        raise ConfigError("\n".join(f"{path}: {line}" for line in str(exc).splitlines())) from None
