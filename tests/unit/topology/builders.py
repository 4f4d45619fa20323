"""Topology mappings for tests, and the paths of the examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
DEMO = EXAMPLES / "topologies" / "demo.yaml"
DEMO_PLACEMENT = EXAMPLES / "topologies" / "demo-placement.yaml"
BASE = EXAMPLES / "topologies"
"""Descriptor paths in test topologies are relative to this, as in the demo."""

CAPACITY = {"vcpus": 8, "memory_mib": 16384, "disk_gib": 100}


def pop(name: str, region: str, **capacity: Any) -> dict[str, Any]:
    """A PoP entry."""
    return {"name": name, "region": region, "capacity": {**CAPACITY, **capacity}}


def operator(
    *parents: str, pops: list[dict[str, Any]] | None = None, **rest: Any
) -> dict[str, Any]:
    """An operator entry with one PoP unless ``pops`` says otherwise."""
    entry: dict[str, Any] = {"pops": [pop("p1", "r1")] if pops is None else pops, **rest}
    if parents:
        entry["parents"] = list(parents)
    return entry


def topology(name: str = "t", **operators: dict[str, Any]) -> dict[str, Any]:
    """A topology mapping; operator ids with '_' become '-'."""
    return {"name": name, "operators": {k.replace("_", "-"): v for k, v in operators.items()}}
