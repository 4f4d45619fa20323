"""Provisioning a topology for nodes that run elsewhere: containers, or hosts of their own.

``spfed topology up`` starts every node itself, on loopback. ``provision`` only writes what
the nodes need, for someone else to start them (``docker compose``, or ``spfed serve`` on
each operator's host)::

    <out>/security/          CA, node certificates, identity keys, passwords (as ``up`` makes)
    <out>/<operator>/node.yaml
    <out>/<operator>/descriptors/   copies of what the operator onboards

It reuses the launcher's pieces: ``TopologySecurity.provision`` for keys, certificates and
accounts, ``node_config_data`` for each node's configuration. What differs is where the
nodes are: each operator's address is given (default ``<operator>:50051``, the service name
in ``docker-compose.yml``), its node listens on ``<bind>:<port>``, and its certificate also
names its address's host, so that its upper SP and the CLI can check it under that name.
``storage_url`` (``{operator}`` is replaced by the operator's id) puts every node's
database on a server; without it each node's database is what the topology says (its
``storage`` settings), else SQLite in its own directory. Databases on a server must exist:
``provision`` creates none (in ``docker-compose.yml`` the PostgreSQL container does).

Provisioning again keeps the security material (the nodes' databases hold accounts made
from it) and rewrites the configurations and certificates, so addresses may change between
runs. Paths in the configurations are those of ``out``: the nodes must see the directory
at the same path (a volume mounted there, or a copy at that path on each host).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from spfed.config import NodeConfig, load_config
from spfed.errors import FailedPrecondition
from spfed.topology.configs import OperatorPaths, node_config_data
from spfed.topology.loader import load_topology
from spfed.topology.model import Topology
from spfed.topology.pki import DEFAULT_HOSTS, TopologyCa
from spfed.topology.security import TopologySecurity

__all__ = [
    "DEFAULT_PORT",
    "OPERATOR_PLACEHOLDER",
    "ProvisionedOperator",
    "ProvisionedTopology",
    "host_of",
    "provision",
]

DEFAULT_PORT = 50051
"""The port of an operator whose address is not given (gRPC's customary one)."""
OPERATOR_PLACEHOLDER = "{operator}"
"""Replaced by the operator's id in a storage URL."""
DESCRIPTORS_DIR = "descriptors"
"""Subdirectory of an operator's directory holding copies of its descriptors."""


@dataclass(frozen=True)
class ProvisionedOperator:
    """One operator's node, as provisioned."""

    id: str
    """The operator."""
    address: str
    """``host:port`` where its upper SPs and clients reach it."""
    listen: str
    """``host:port`` its node listens on."""
    config: Path
    """Its ``node.yaml``."""
    storage: str
    """Its database URL."""
    parents: tuple[str, ...]
    """The operators it serves."""


@dataclass(frozen=True)
class ProvisionedTopology:
    """What ``provision`` wrote."""

    name: str
    """The topology's name."""
    directory: Path
    """``out``, absolute."""
    security: TopologySecurity
    """Its keys, certificates and passwords."""
    operators: tuple[ProvisionedOperator, ...]
    """Every operator, top nodes first."""
    created_security: bool
    """Whether the security material is new (False: kept from an earlier run)."""


def host_of(address: str) -> str:
    """The host of ``host:port`` (``[v6]:port`` loses its brackets).

    Raises:
        ValueError: ``address`` has no ``:port``.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"address {address!r}: expected HOST:PORT")
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _port_of(address: str) -> int:
    host_of(address)  # checks the form
    return int(address.rpartition(":")[2])


def _listen(bind: str, address: str) -> str:
    host = f"[{bind}]" if ":" in bind else bind
    return f"{host}:{_port_of(address)}"


def _security(
    directory: Path, topology: Topology, scrypt_log_n: int
) -> tuple[TopologySecurity, bool]:
    """The material under ``directory``: made now, or kept from an earlier run."""
    security = TopologySecurity.under(directory)
    if not security.ca_file.exists():
        made = TopologySecurity.provision(
            directory,
            topology.name,
            list(topology.operators),
            customers={op: spec.customers for op, spec in topology.operators.items()},
            scrypt_log_n=scrypt_log_n,
        )
        return made, True
    missing = [op for op in topology.operators if not security.identity_key(op).exists()]
    if missing:
        raise FailedPrecondition(
            f"{security.directory} was provisioned without operator(s) {', '.join(missing)};"
            " remove the directory (with docker compose: down -v) to provision it anew"
        )
    return security, False


def _issue_certificates(security: TopologySecurity, addresses: Mapping[str, str]) -> None:
    """Give each node a certificate that also names the host its address has."""
    ca = TopologyCa.load(security.directory)
    for op, address in addresses.items():
        hosts = list(DEFAULT_HOSTS)
        host = host_of(address)
        if host not in hosts:
            hosts.append(host)
        ca.issue_node(op, security.operator_dir(op), hosts=hosts)


def _copy_descriptors(topology: Topology, op: str, paths: OperatorPaths) -> tuple[str, ...]:
    """Copy the operator's descriptors into its directory; their new paths, in order."""
    target = paths.directory / DESCRIPTORS_DIR
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    copied = []
    for i, given in enumerate(topology.operators[op].descriptors):
        source = Path(given)
        destination = target / f"{i:02d}-{source.name}"
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copyfile(source, destination)
        copied.append(str(destination))
    return tuple(copied)


def _with_descriptors(topology: Topology, op: str, descriptors: tuple[str, ...]) -> Topology:
    """``topology`` with ``op`` onboarding ``descriptors`` instead."""
    operators = dict(topology.operators)
    operators[op] = replace(operators[op], descriptors=descriptors)
    return replace(topology, operators=operators)


def _write_config(
    topology: Topology,
    op: str,
    paths: OperatorPaths,
    addresses: Mapping[str, str],
    security: TopologySecurity,
    *,
    listen: str,
    storage: str,
) -> NodeConfig:
    """Write ``op``'s ``node.yaml`` (``storage``: its database URL, "" for the topology's)."""
    lowers = {child: addresses[child] for child in topology.children(op)}
    data = node_config_data(topology, op, paths, lowers, security, listen=listen)
    if storage:
        data["storage"] = {**data.get("storage", {}), "url": storage}
    header = (
        f"# Generated by 'spfed topology provision' for operator {op} of {topology.name}.\n"
        f"# Its upper SPs and clients reach it at {addresses[op]}.\n"
    )
    tmp = paths.config.with_suffix(".yaml.tmp")
    tmp.write_text(header + yaml.safe_dump(data, sort_keys=False))
    tmp.replace(paths.config)
    # Read back as 'spfed serve' reads it, without the environment's overrides.
    return load_config(paths.config, environ={})


def provision(
    file: str | Path,
    out: str | Path,
    addresses: Mapping[str, str] | None = None,
    *,
    bind: str = "0.0.0.0",
    storage_url: str = "",
    scrypt_log_n: int = 15,
) -> ProvisionedTopology:
    """Write the security material and every node's configuration of topology ``file``.

    ``addresses`` maps an operator to the ``host:port`` where it is reached (default
    ``<operator>:50051``); its node listens on ``<bind>:<port>``. ``storage_url`` is
    every node's database URL, ``{operator}`` replaced by its id (default: the topology's,
    else SQLite in ``<out>/<operator>/``). ``scrypt_log_n`` is the cost of new password
    hashes (tests lower it).

    Raises:
        TopologyFileError: the topology file is invalid.
        ValueError: an address names an operator the topology does not have, or is
            not ``host:port``.
        FailedPrecondition: ``out`` was provisioned for other operators.
        spfed.config.ConfigError: a generated configuration is invalid.
    """
    topology = load_topology(file)
    given = dict(addresses or {})
    unknown = sorted(set(given) - set(topology.operators))
    if unknown:
        known = ", ".join(topology.operators)
        raise ValueError(f"no operator {', '.join(unknown)} in {topology.name} ({known})")
    resolved = {op: given.get(op, f"{op}:{DEFAULT_PORT}") for op in topology.top_down()}
    for address in resolved.values():
        host_of(address)
    directory = Path(out).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    security, created = _security(directory, topology, scrypt_log_n)
    _issue_certificates(security, resolved)
    provisioned = []
    for op, address in resolved.items():
        paths = OperatorPaths.under(directory, op)
        paths.directory.mkdir(parents=True, exist_ok=True)
        local = _with_descriptors(topology, op, _copy_descriptors(topology, op, paths))
        storage = storage_url.replace(OPERATOR_PLACEHOLDER, op)
        listen = _listen(bind, address)
        config = _write_config(local, op, paths, resolved, security, listen=listen, storage=storage)
        provisioned.append(
            ProvisionedOperator(
                id=op,
                address=address,
                listen=listen,
                config=paths.config,
                storage=config.storage.url,
                parents=topology.operators[op].parents,
            )
        )
    return ProvisionedTopology(topology.name, directory, security, tuple(provisioned), created)
