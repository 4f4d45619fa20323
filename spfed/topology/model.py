"""The topology file's model: typed, frozen dataclasses validated with pydantic.

A topology names the operators, the upper SPs each one serves (``parents``;
together a DAG), their PoPs, the descriptors each one onboards, and optional
per-operator ``settings`` merged into the node configuration generated for it::

    name: demo
    operators:
      retail:
        pops: [{name: ams, region: nl, capacity: {vcpus: 16, memory_mib: 32768}}]
      wholesale-eu:
        parents: [retail]
        pops: [{name: fra, region: de, capacity: {vcpus: 32, memory_mib: 65536}}]
        descriptors: [../descriptors/vnfd-legacy-nat.yml]
        settings: {logging: {level: DEBUG}}
    storage: {postgresql: "postgresql+psycopg://spfed@127.0.0.1:5432"}   # optional

``spfed.topology.load_topology`` reads and checks a file; a ``Topology`` it
returns is valid (known parents, no cycle, descriptor files that exist, with
absolute paths), which the graph helpers below rely on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, with_config

from spfed.topology import _graph

__all__ = ["CapacitySpec", "OperatorSpec", "PopSpec", "StorageSpec", "Topology"]

_STRICT = ConfigDict(extra="forbid")
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-_.]*$", max_length=63)]


@with_config(_STRICT)
@dataclass(frozen=True)
class CapacitySpec:
    """Compute capacity of one PoP."""

    vcpus: Annotated[int, Field(gt=0)]
    """Virtual CPUs."""
    memory_mib: Annotated[int, Field(gt=0)]
    """Memory in MiB."""
    disk_gib: Annotated[int, Field(ge=0)] = 0
    """Disk in GiB."""


@with_config(_STRICT)
@dataclass(frozen=True)
class PopSpec:
    """One PoP of an operator."""

    name: Name
    """PoP name, unique within the operator."""
    region: Name
    """Region it is in; placement rules match on it."""
    capacity: CapacitySpec
    """Its capacity."""
    driver: str = "emulated"
    """VIM driver (``spfed.vim_drivers`` entry point)."""
    options: dict[str, str] = field(default_factory=dict)
    """Driver options."""


@with_config(_STRICT)
@dataclass(frozen=True)
class OperatorSpec:
    """One operator: one service platform, one ``spfed serve`` process."""

    parents: tuple[Name, ...] = ()
    """Upper SPs it serves (none for a top node)."""
    pops: tuple[PopSpec, ...] = ()
    """Its own PoPs."""
    descriptors: tuple[str, ...] = ()
    """NSD/VNFD files or directories it onboards (relative to the topology file)."""
    customers: tuple[Name, ...] = ()
    """Customer accounts (users) it gets, with generated passwords; every node also
    gets an ``admin`` (operator role) and a service account per upper SP."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Node configuration sections merged into the generated ``node.yaml``."""
    description: str = ""
    """Free text."""


@with_config(_STRICT)
@dataclass(frozen=True)
class StorageSpec:
    """Where the operators' databases are, topology-wide (default: SQLite, one file each)."""

    postgresql: str = ""
    """SQLAlchemy URL of a PostgreSQL server, e.g. ``postgresql+psycopg://spfed@127.0.0.1:5432``:
    every operator without a ``storage.url`` of its own gets a database there, named
    ``spfed_<topology>_<operator>``, made by ``up`` and dropped by ``down --purge``."""


@with_config(_STRICT)
@dataclass(frozen=True)
class Topology:
    """A federation of operators, as one topology file describes it."""

    name: Name
    """Topology name; also the name of its working directory."""
    operators: Annotated[dict[Name, OperatorSpec], Field(min_length=1)]
    """Operators by id."""
    description: str = ""
    """Free text."""
    dataplane: Literal["none", "netns"] = "none"
    """``netns``: VNFs run in network namespaces and WAN links carry VXLAN, so packets
    really flow (needs root); ``none``: addresses and bookings only."""
    storage: StorageSpec = field(default_factory=StorageSpec)
    """The operators' databases (see ``StorageSpec``)."""

    @property
    def parents(self) -> dict[str, tuple[str, ...]]:
        """Parents by operator."""
        return {op: spec.parents for op, spec in self.operators.items()}

    def children(self, operator: str) -> list[str]:
        """The lower SPs of ``operator`` (those naming it as a parent), in name order."""
        return _graph.children_of(self.parents, operator)

    def levels(self) -> dict[str, int]:
        """1 for top nodes, else one more than the deepest parent."""
        return _graph.levels(self.parents)

    def top_down(self) -> list[str]:
        """Operators, parents before their lower SPs."""
        return _graph.top_down(self.parents)

    def start_waves(self) -> list[list[str]]:
        """Start order: leaves first; each wave only needs the addresses of earlier ones."""
        return _graph.start_waves(self.parents)

    def regions_below(self, operator: str) -> set[str]:
        """Regions of the PoPs of ``operator`` and of every operator below it.

        Its published catalogue must show capacity in each of them.
        """
        return {
            pop.region
            for op in _graph.subtree(self.parents, operator)
            for pop in self.operators[op].pops
        }
