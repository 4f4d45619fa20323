"""Placement files: the placement constraints of a service, in YAML.

::

    default_region: nl          # members without a rule go there ("" = anywhere)
    rules:
      vnf_dpi: {region: us}     # a region...
      vnf_nat: {operator: wholesale-eu}   # ...a direct lower SP (or "local")...
      vnf_fw: {pop: ams}        # ...or a PoP of the receiving node

Keys of ``rules`` are member ids of the service (``vnf_id`` or ``ns_id``).
Whether they name real members, lower SPs and PoPs only the receiving node
can tell; this loader checks the shape. ``load_placement`` returns the
domain ``spfed.model.PlacementConstraints`` the API takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config

from spfed.model import LOCAL_OPERATOR, PlacementConstraints, PlacementRule
from spfed.topology._schema import schema_problems
from spfed.topology._yaml import read_yaml
from spfed.topology.errors import PlacementFileError

__all__ = ["load_placement", "parse_placement"]

_Word = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9\-_.:/]*$", max_length=128)]
_Optional = Annotated[str, Field(pattern=r"^([A-Za-z0-9][A-Za-z0-9\-_.]*)?$", max_length=63)]


@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True)
class _RuleSpec:
    region: _Optional = ""
    operator: _Optional = ""
    pop: _Optional = ""


@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True)
class _PlacementSpec:
    rules: dict[_Word, _RuleSpec] = field(default_factory=dict)
    default_region: _Optional = ""


_ADAPTER: TypeAdapter[_PlacementSpec] = TypeAdapter(_PlacementSpec)


def parse_placement(data: Any, *, source: str = "placement") -> PlacementConstraints:
    """Validate a placement mapping (``None`` means no constraints).

    Raises:
        PlacementFileError: one ``<source>: <path>: <problem>`` line per problem.
    """
    if data is None:
        return PlacementConstraints()
    if not isinstance(data, Mapping):
        raise PlacementFileError([f"{source}: the top level must be a mapping"])
    try:
        spec = _ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        raise PlacementFileError(
            [f"{source}: {line}" for line in schema_problems(exc, key_kind="member id")]
        ) from None
    problems = []
    for member, rule in spec.rules.items():
        where = f"rules.{member}"
        if not (rule.region or rule.operator or rule.pop):
            problems.append(f"{where}: give at least one of region, operator, pop")
        if rule.pop and rule.operator not in ("", LOCAL_OPERATOR):
            problems.append(
                f"{where}.pop: a PoP pin is a PoP of the receiving node;"
                f" it needs operator '' or '{LOCAL_OPERATOR}', not '{rule.operator}'"
            )
    if problems:
        raise PlacementFileError([f"{source}: {line}" for line in problems])
    return PlacementConstraints(
        rules={
            member: PlacementRule(region=r.region, operator=r.operator, pop=r.pop)
            for member, r in spec.rules.items()
        },
        default_region=spec.default_region,
    )


def load_placement(path: str | Path) -> PlacementConstraints:
    """Read a placement file into the constraints of an instantiation request.

    Raises:
        PlacementFileError: unreadable or invalid; every line starts with the
            file name.
    """
    path = Path(path)
    try:
        data = read_yaml(path)
    except ValueError as exc:
        raise PlacementFileError([f"{path}: {exc}"]) from None
    return parse_placement(data, source=str(path))
