"""Node configurations generated for the operators of a topology.

Each operator gets ``<topology dir>/<operator>/`` holding ``node.yaml``, its
SQLite database ``spfed.db``, its log ``node.log`` and the ``ready`` file its
node writes its bound address to. Its database is that SQLite file, unless its
``settings`` give a ``storage.url`` or the topology names a PostgreSQL server
(``storage.postgresql``; see ``spfed.topology.databases``); ``storage_url``
says which. The configuration comes from the topology:
the PoPs, the onboarded descriptors, the lower SPs (the operators naming it as
a parent, at their fixed addresses), the node's own fixed address on
127.0.0.1 (chosen by ``up``, kept across restarts so that its upper SPs find
it again); then the operator's ``settings`` are merged in, section by
section. Settings may not touch what the launcher owns (``OWNED_SETTINGS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spfed.config import NodeConfig, load_config
from spfed.topology.databases import own_storage_url, topology_databases
from spfed.topology.dataplane import dataplane_sections, pop_options
from spfed.topology.model import Topology
from spfed.topology.security import TopologySecurity

__all__ = [
    "LISTEN",
    "OWNED_SETTINGS",
    "OperatorPaths",
    "merge_settings",
    "node_config_data",
    "owned_settings_in",
    "storage_url",
    "write_node_config",
]

LISTEN = "127.0.0.1:0"
"""The listen address when none is given: only for checking a topology's settings;
``up`` gives every node a fixed port."""

OWNED_SETTINGS = (
    "id",
    "pops",
    "server.listen",
    "server.ready_file",
    "metrics.listen",
    "federation.lower_sps",
    "federation.key_file",
    "catalogue.descriptors",
    "logging.file",
    "tls",
    "auth.key_dir",
    "auth.accounts",
    "auth.scrypt_log_n",
)
"""Node configuration fields the launcher sets; ``settings`` cannot override them."""


@dataclass(frozen=True)
class OperatorPaths:
    """Where one operator's files live."""

    directory: Path
    """``<topology dir>/<operator>``."""

    @classmethod
    def under(cls, topology_dir: str | Path, operator: str) -> OperatorPaths:
        """The paths of ``operator`` in a topology's working directory (made absolute)."""
        return cls(Path(topology_dir).absolute() / operator)

    @property
    def config(self) -> Path:
        """The generated node configuration."""
        return self.directory / "node.yaml"

    @property
    def database(self) -> Path:
        """The node's SQLite database."""
        return self.directory / "spfed.db"

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the database."""
        return f"sqlite:///{self.database}"

    @property
    def log(self) -> Path:
        """stdout and stderr of the node (its logs go to stderr)."""
        return self.directory / "node.log"

    @property
    def ready_file(self) -> Path:
        """Where the node writes its bound ``host:port`` once it serves."""
        return self.directory / "ready"


def storage_url(topology: Topology, operator: str, paths: OperatorPaths) -> str:
    """The database URL of ``operator``'s node: its settings' ``storage.url``, else its
    database on the topology's PostgreSQL server, else its SQLite file.

    Raises:
        KeyError: an operator that is not in the topology.
        InvalidArgument: the topology's server URL does not parse (the loader checks it).
    """
    own = own_storage_url(topology.operators[operator])
    if own is not None:
        return own
    return topology_databases(topology).get(operator, paths.database_url)


def owned_settings_in(settings: Mapping[str, Any]) -> list[str]:
    """The dotted fields of ``OWNED_SETTINGS`` that ``settings`` sets, in that order."""
    found = []
    for dotted in OWNED_SETTINGS:
        node: Any = settings
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                break
            node = node[part]
        else:
            found.append(dotted)
    return found


def _without_owned(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        dotted = f"{prefix}{key}"
        if dotted in OWNED_SETTINGS:
            continue
        if isinstance(value, Mapping) and any(o.startswith(dotted + ".") for o in OWNED_SETTINGS):
            out[key] = _without_owned(value, dotted + ".")
        else:
            out[key] = value
    return out


def merge_settings(base: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``settings`` merged in: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in settings.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = merge_settings(old, value)
        else:
            out[key] = value
    return out


def node_config_data(
    topology: Topology,
    operator: str,
    paths: OperatorPaths,
    lower_addresses: Mapping[str, str],
    security: TopologySecurity | None,
    *,
    listen: str = LISTEN,
    metrics_listen: str = "",
) -> dict[str, Any]:
    """The configuration mapping of ``operator``'s node (what ``node.yaml`` holds).

    ``listen`` is the node's own ``host:port``, ``metrics_listen`` that of its metrics
    endpoint ("": off); ``lower_addresses`` maps each
    lower SP of ``operator`` to its ``host:port`` (both fixed, so a restarted
    node is found where it was);
    descriptor paths are taken as they are in ``topology`` (absolute once
    loaded); TLS, signing keys, the accounts it trusts and its identity key
    come from ``security`` (``None``: placeholders that only pass validation,
    for checking a topology file's settings). The result still has to pass
    ``spfed.config.parse_config``.

    Raises:
        KeyError: an operator that is not in the topology, or a lower SP
            missing from ``lower_addresses``.
    """
    spec = topology.operators[operator]
    generated: dict[str, Any] = {
        "id": operator,
        "server": {"listen": listen, "ready_file": str(paths.ready_file)},
        "storage": {"url": storage_url(topology, operator, paths)},
        "pops": [
            {
                "name": pop.name,
                "region": pop.region,
                "driver": pop.driver,
                "capacity": {
                    "vcpus": pop.capacity.vcpus,
                    "memory_mib": pop.capacity.memory_mib,
                    "disk_gib": pop.capacity.disk_gib,
                },
                "options": {**pop_options(topology, operator), **pop.options},
            }
            for pop in spec.pops
        ],
        "federation": {
            "lower_sps": [
                {
                    "id": child,
                    "address": lower_addresses[child],
                    "public_key_file": str(
                        security.identity_public(child)
                        if security is not None
                        else paths.directory / f"{child}.pub"
                    ),
                }
                for child in topology.children(operator)
            ]
        },
        "catalogue": {"descriptors": list(spec.descriptors)},
        "logging": {"file": ""},
        "metrics": {"listen": metrics_listen},
    }
    sections = (
        security.config_sections(operator, list(spec.parents))
        if security is not None
        else {"tls": {"insecure": True}, "federation": {"key_file": str(paths.directory / "id")}}
    )
    generated = merge_settings(generated, sections)
    generated = merge_settings(dataplane_sections(topology, operator), generated)
    # Owned fields win even when the settings were not validated first.
    return merge_settings(generated, _without_owned(spec.settings))


def write_node_config(
    topology: Topology,
    operator: str,
    paths: OperatorPaths,
    lower_addresses: Mapping[str, str],
    security: TopologySecurity,
    *,
    listen: str = LISTEN,
    metrics_listen: str = "",
) -> NodeConfig:
    """Write ``operator``'s ``node.yaml`` (creating its directory) and return it as loaded.

    ``listen``, ``metrics_listen``: see ``node_config_data``. The file is replaced atomically, so a
    node (re)started meanwhile reads the old or the new one, never half of it.

    The file is read back through ``spfed.config.load_config`` without
    environment overrides, exactly as ``spfed serve`` will read it (the
    launcher starts nodes without ``SPFED__*`` variables).

    Raises:
        KeyError: see ``node_config_data``.
        spfed.config.ConfigError: the generated configuration is invalid.
    """
    data = node_config_data(
        topology,
        operator,
        paths,
        lower_addresses,
        security,
        listen=listen,
        metrics_listen=metrics_listen,
    )
    paths.directory.mkdir(parents=True, exist_ok=True)
    header = f"# Generated by 'spfed topology up' for operator {operator} of {topology.name}.\n"
    tmp = paths.config.with_suffix(".yaml.tmp")
    tmp.write_text(header + yaml.safe_dump(data, sort_keys=False))
    tmp.replace(paths.config)
    return load_config(paths.config, environ={})
