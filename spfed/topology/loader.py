"""Reading and checking a topology file.

``load_topology`` reports every problem it finds, one per line, as
``<file>: <field path>: <problem>``, e.g.::

    demo.yaml: operators.wholesale-eu.parents.0: unknown operator 'retial' (operators: ...)
    demo.yaml: operators: the parents form a cycle: a -> b -> a (each a parent of the next)

Checked: the schema (types, names, positive capacities), parents (known, not
itself, not repeated, no cycle), PoP names unique per operator, VIM drivers
that are installed, every
operator having PoPs or lower SPs, descriptor files that exist and are valid
together (as the node will load them), settings that the node
configuration accepts and that leave the launcher's own fields alone, and
storage: an operator's own ``storage.url`` and the topology's PostgreSQL
server (``storage.postgresql``) must parse and have their driver installed
(nothing is connected to), and no two operators may get one database name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from lower_sp.local.vim import VimDriverRegistry
from spfed.config import ConfigError, parse_config
from spfed.descriptors import validate_files
from spfed.topology import _graph
from spfed.topology._schema import schema_problems
from spfed.topology._yaml import read_yaml
from spfed.topology.configs import OperatorPaths, node_config_data, owned_settings_in
from spfed.topology.databases import database_name, own_storage_url, topology_databases
from spfed.topology.errors import TopologyFileError
from spfed.topology.model import OperatorSpec, StorageSpec, Topology

__all__ = ["load_topology", "parse_topology"]

_ADAPTER: TypeAdapter[Topology] = TypeAdapter(Topology)
_RESERVED = "local"
_PLACEHOLDER_ADDRESS = "127.0.0.1:1"


def _parent_problems(topology: Topology) -> list[str]:
    problems = []
    known = ", ".join(sorted(topology.operators))
    for op, spec in topology.operators.items():
        for i, parent in enumerate(spec.parents):
            where = f"operators.{op}.parents.{i}"
            if parent == op:
                problems.append(f"{where}: an operator cannot be its own parent")
            elif parent not in topology.operators:
                problems.append(f"{where}: unknown operator '{parent}' (operators: {known})")
            elif spec.parents.index(parent) < i:
                problems.append(f"{where}: '{parent}' is listed twice")
    parents = {op: [p for p in ps if p != op] for op, ps in topology.parents.items()}
    cycle = _graph.find_cycle(parents)
    if cycle:
        problems.append(
            f"operators: the parents form a cycle: {' -> '.join(cycle)} (each a parent of the next)"
        )
    return problems


def _pop_problems(
    op: str, spec: OperatorSpec, has_children: bool, drivers: tuple[str, ...]
) -> list[str]:
    names = [p.name for p in spec.pops]
    problems = [
        f"operators.{op}.pops.{i}.name: PoP name '{name}' is used twice"
        for i, name in enumerate(names)
        if names.index(name) < i
    ]
    problems += [
        f"operators.{op}.pops.{i}.driver: unknown VIM driver '{pop.driver}'"
        f" (installed: {', '.join(drivers)})"
        for i, pop in enumerate(spec.pops)
        if pop.driver not in drivers
    ]
    if not spec.pops and not has_children:
        problems.append(
            f"operators.{op}: has no PoPs and no lower SPs, so it could deliver nothing"
        )
    return problems


def _descriptor_problems(op: str, spec: OperatorSpec, base: Path) -> tuple[list[str], list[str]]:
    """Problems, and the absolute paths of the operator's descriptors."""
    problems = []
    resolved: dict[str, str] = {}
    for i, given in enumerate(spec.descriptors):
        path = (base / given).resolve()
        if not path.exists():
            problems.append(
                f"operators.{op}.descriptors.{i}: no such file or directory: {given} ({path})"
            )
        resolved[str(path)] = given
    if problems or not resolved:
        return problems, list(resolved)
    report = validate_files(list(resolved))
    for p in report.problems:
        shown = replace(p, file=resolved.get(p.file, p.file))
        problems.append(f"operators.{op}.descriptors: {shown.path}: {p.description}")
    return problems, list(resolved)


def _settings_problems(topology: Topology, op: str) -> list[str]:
    settings = topology.operators[op].settings
    owned = owned_settings_in(settings)
    problems = [
        f"operators.{op}.settings.{field}: set by the topology launcher; it cannot be overridden"
        for field in owned
    ]
    if owned or not settings:
        return problems
    addresses = dict.fromkeys(topology.children(op), _PLACEHOLDER_ADDRESS)
    paths = OperatorPaths(Path("/spfed-check") / op)
    data = node_config_data(topology, op, paths, addresses, None)
    try:
        parse_config(data, environ={})
    except ConfigError as exc:
        problems += [f"operators.{op}.settings.{line}" for line in str(exc).splitlines()]
        return problems
    own = own_storage_url(topology.operators[op])
    if own is not None:
        from spfed.storage.servers import url_problem

        problem = url_problem(own)
        if problem is not None:
            problems.append(f"operators.{op}.settings.storage.url: {problem}")
    return problems


def _storage_problems(topology: Topology) -> list[str]:
    """The topology's PostgreSQL server: a usable URL, and a database name per operator."""
    server = topology.storage.postgresql
    if not server:
        return []
    from spfed.storage.servers import postgresql_server_problem

    problem = postgresql_server_problem(server)
    if problem is not None:
        return [f"storage.postgresql: {problem}"]
    names: dict[str, str] = {}
    problems = []
    for op in topology_databases(topology):
        name = database_name(topology.name, op)
        if name in names:
            problems.append(
                f"operators.{op}: its database {name} would also be operator"
                f" {names[name]}'s; rename one of them"
            )
        names.setdefault(name, op)
    return problems


def parse_topology(data: Any, *, base: Path, source: str) -> Topology:
    """Validate a topology mapping; descriptor paths are resolved against ``base``.

    Raises:
        TopologyFileError: one ``<source>: <path>: <problem>`` line per problem.
    """
    if not isinstance(data, Mapping):
        raise TopologyFileError([f"{source}: the top level must be a mapping"])
    try:
        topology = _ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        raise TopologyFileError([f"{source}: {line}" for line in schema_problems(exc)]) from None
    problems: list[str] = []
    if _RESERVED in topology.operators:
        problems.append(f"operators.{_RESERVED}: the name '{_RESERVED}' is reserved")
    problems += _parent_problems(topology)
    storage_problems = _storage_problems(topology)
    # Without a usable server, the settings are checked as if the topology named none.
    checked = replace(topology, storage=StorageSpec()) if storage_problems else topology
    operators: dict[str, OperatorSpec] = {}
    drivers = VimDriverRegistry.default().names()
    for op, spec in topology.operators.items():
        problems += _pop_problems(op, spec, bool(topology.children(op)), drivers)
        descriptor_problems, paths = _descriptor_problems(op, spec, base)
        problems += descriptor_problems
        operators[op] = replace(spec, descriptors=tuple(paths))
        problems += _settings_problems(checked, op)
    problems += storage_problems
    topology = replace(topology, operators=operators)
    if problems:
        raise TopologyFileError([f"{source}: {line}" for line in problems])
    return topology


def load_topology(path: str | Path) -> Topology:
    """Read and check a topology file; descriptor paths become absolute.

    Raises:
        TopologyFileError: the file is unreadable or invalid; one line per
            problem, each starting with the file name.
    """
    path = Path(path)
    try:
        data = read_yaml(path)
    except ValueError as exc:
        raise TopologyFileError([f"{path}: {exc}"]) from None
    return parse_topology(data, base=path.parent, source=str(path))
