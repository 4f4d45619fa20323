"""The state of running topologies, shared by ``spfed topology`` and every node-facing command.

``spfed topology up`` writes ``<state dir>/<topology>/state.json``; commands
that take ``--node`` accept ``host:port`` or an operator name, resolved
through these files. The state directory is ``$SPFED_STATE_DIR``, else
``./.spfed``.

The format only grows: readers ignore fields they do not know, and new
fields have defaults, so an older state file still loads.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "OperatorState",
    "TopologyState",
    "resolve_node",
    "state_dir",
    "topology_directory",
]

STATE_FILE = "state.json"


def state_dir(explicit: str | Path | None = None) -> Path:
    """Where topology states live: ``explicit``, ``$SPFED_STATE_DIR`` or ``./.spfed``."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("SPFED_STATE_DIR") or ".spfed")


def topology_directory(root: str | Path | None, name: str) -> Path:
    """The working directory of topology ``name`` under ``state_dir(root)``, made absolute."""
    return state_dir(root).absolute() / name


@dataclass
class OperatorState:
    """One running operator (one ``spfed serve`` process)."""

    id: str
    """Operator id."""
    address: str
    """``host:port`` of its API."""
    pid: int
    """Process id."""
    config: str
    """Path of its generated node configuration."""
    log: str
    """Path of its log file."""
    database: str
    """Its storage URL (a password in it is masked)."""
    parents: list[str] = field(default_factory=list)
    """Upper SPs it serves."""
    level: int = 1
    """1 for a top node, 2 for its lower SPs, and so on."""
    pops: dict[str, str] = field(default_factory=dict)
    """Its PoPs: region by PoP name."""
    metrics: str = ""
    """``host:port`` of its Prometheus endpoint (``/metrics``); "" in older states."""


@dataclass
class TopologyState:
    """A running topology."""

    name: str
    """Topology name."""
    file: str
    """The topology file it came from."""
    directory: str
    """Its working directory (configs, databases, logs)."""
    operators: dict[str, OperatorState] = field(default_factory=dict)
    """Running operators by id, top nodes first."""
    dataplane: str = "none"
    """The topology's data plane (``netns``: ``down`` removes its namespaces)."""

    @property
    def path(self) -> Path:
        """The state file."""
        return Path(self.directory) / STATE_FILE

    def save(self) -> None:
        """Write the state file atomically."""
        path = self.path
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    def remove(self) -> None:
        """Delete the state file (the directory stays); nothing happens if it is gone."""
        self.path.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: str | Path) -> TopologyState:
        """Read a state file.

        Raises:
            FileNotFoundError: no topology state there.
        """
        data = json.loads((Path(directory) / STATE_FILE).read_text())
        operators = {
            k: OperatorState(**_known(OperatorState, v)) for k, v in data["operators"].items()
        }
        return cls(**_known(cls, data, exclude="operators"), operators=operators)

    @classmethod
    def all(cls, root: str | Path | None = None) -> list[TopologyState]:
        """Every topology with a state file under the state directory."""
        base = state_dir(root)
        if not base.is_dir():
            return []
        return [cls.load(p.parent) for p in sorted(base.glob(f"*/{STATE_FILE}"))]


def _known(cls: type, data: dict[str, Any], exclude: str = "") -> dict[str, Any]:
    names = {f.name for f in fields(cls)} - {exclude}
    return {k: v for k, v in data.items() if k in names}


def resolve_node(
    target: str, *, topology: str | None = None, root: str | Path | None = None
) -> str:
    """``host:port`` for ``target``: an address as is, or an operator of a running topology.

    Raises:
        LookupError: no running topology has that operator (the message lists
            the operators there are), it is ambiguous across topologies, or it
            is still starting.
    """
    if ":" in target:
        return target
    states = [s for s in TopologyState.all(root) if topology is None or s.name == topology]
    found = [s.operators[target] for s in states if target in s.operators]
    if len(found) == 1:
        if not found[0].address:
            raise LookupError(f"operator '{target}' is still starting (no address yet)")
        return found[0].address
    if len(found) > 1:
        names = ", ".join(s.name for s in states if target in s.operators)
        raise LookupError(
            f"operator '{target}' is in several topologies ({names}); pass --topology"
        )
    known = sorted({op for s in states for op in s.operators})
    where = (
        f" (running operators: {', '.join(known)})" if known else " (no topology is running here)"
    )
    raise LookupError(f"'{target}' is neither host:port nor a running operator{where}")
