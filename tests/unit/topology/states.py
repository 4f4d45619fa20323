"""Fake topology states for tests that start no process."""

from __future__ import annotations

from pathlib import Path

from spfed.topology import OperatorState, TopologyState

NO_SUCH_PID = 2**22 + 7
"""Above the largest pid Linux hands out (pid_max is at most 2**22)."""


def fake_state(root: Path, name: str = "demo", **pids: int) -> TopologyState:
    """A saved state under ``root`` with one operator per keyword (``id=pid``)."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    state = TopologyState(name=name, file=f"/nowhere/{name}.yaml", directory=str(directory))
    for level, (key, pid) in enumerate(pids.items(), start=1):
        op = key.replace("_", "-")
        state.operators[op] = OperatorState(
            id=op,
            address=f"127.0.0.1:{40000 + level}",
            pid=pid,
            config=str(directory / op / "node.yaml"),
            log=str(directory / op / "node.log"),
            database=f"sqlite:///{directory / op / 'spfed.db'}",
            level=level,
        )
    state.save()
    return state
