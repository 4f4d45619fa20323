"""Taking a topology down: stop its processes, forget it, optionally delete its files.

Processes are stopped top nodes first: SIGTERM, a bounded wait, SIGKILL for
stragglers. Before each signal the pid is checked to still run that
operator's ``spfed serve`` (``/proc/<pid>/cmdline``), so a reused pid is never
signalled. The state file goes once every process is gone; logs and
databases stay unless purged.
"""

from __future__ import annotations

import logging
import shutil
import signal
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from spfed.topology import _process
from spfed.topology._lock import exclusive
from spfed.topology.dataplane import remove_dataplane
from spfed.topology.errors import AlreadyRunning, LaunchError
from spfed.topology.state import STATE_FILE, OperatorState, TopologyState, topology_directory

__all__ = ["StopOutcome", "StopResult", "down", "purge", "stop_operators"]

log = logging.getLogger(__name__)

_KILL_WAIT_S = 5.0


class StopOutcome(StrEnum):
    """What ``down`` did to one operator's process."""

    STOPPED = "stopped"
    """Ended after SIGTERM."""
    KILLED = "killed"
    """Did not end in time after SIGTERM; ended after SIGKILL."""
    NOT_RUNNING = "not_running"
    """Already gone."""
    NOT_OURS = "not_ours"
    """The pid now belongs to another process, which was left alone."""


@dataclass(frozen=True)
class StopResult:
    """One operator's process at ``down``."""

    operator: str
    """Operator id."""
    pid: int
    """Its pid."""
    outcome: StopOutcome
    """What happened."""


def stop_operators(state: TopologyState, timeout_s: float) -> list[StopResult]:
    """Stop every process of ``state`` and remove its state file; the caller holds the lock.

    See ``down``, which takes the lock and may purge.

    Raises:
        LaunchError: a process survived SIGKILL; the state file is kept.
    """
    ordered = sorted(state.operators.values(), key=lambda o: (o.level, o.id))
    outcomes: dict[str, StopOutcome] = {}
    signalled: list[OperatorState] = []
    for op in ordered:
        if not _process.running(op.pid):
            outcomes[op.id] = StopOutcome.NOT_RUNNING
        elif not _process.is_serve_process(op.pid, op.config):
            log.warning(
                "event=pid_not_ours topology=%s operator=%s pid=%d", state.name, op.id, op.pid
            )
            outcomes[op.id] = StopOutcome.NOT_OURS
        elif _process.signal_process(op.pid, signal.SIGTERM):
            signalled.append(op)
        else:
            outcomes[op.id] = StopOutcome.NOT_RUNNING
    left = set(_process.wait_gone([o.pid for o in signalled], timeout_s))
    killed = []
    for op in signalled:
        if op.pid not in left:
            outcomes[op.id] = StopOutcome.STOPPED
        elif _process.is_serve_process(op.pid, op.config) and _process.signal_process(
            op.pid, signal.SIGKILL
        ):
            log.warning("event=operator_killed topology=%s operator=%s", state.name, op.id)
            outcomes[op.id] = StopOutcome.KILLED
            killed.append(op.pid)
        else:
            outcomes[op.id] = StopOutcome.STOPPED
    stuck = _process.wait_gone(killed, _KILL_WAIT_S)
    if stuck:
        raise LaunchError(
            f"topology '{state.name}': processes {', '.join(map(str, stuck))} survived SIGKILL;"
            " the state file is kept"
        )
    state.remove()
    for op in ordered:
        log.info(
            "event=operator_stopped topology=%s operator=%s pid=%d outcome=%s",
            state.name,
            op.id,
            op.pid,
            outcomes[op.id],
        )
    return [StopResult(o.id, o.pid, outcomes[o.id]) for o in ordered]


def down(state: TopologyState, timeout_s: float = 10.0, *, purge: bool = False) -> list[StopResult]:
    """Stop a topology's processes, top nodes first, and remove its state file.

    Each process gets SIGTERM, then up to ``timeout_s`` to end, then SIGKILL.
    A pid that no longer runs that operator's ``spfed serve`` is left alone.
    Logs and databases stay unless ``purge``. Idempotent: stopping a stopped
    topology reports every operator ``NOT_RUNNING``.

    Raises:
        LaunchError: a process survived SIGKILL (the state file is kept), or
            another ``up``/``down`` of the topology holds its lock.
    """
    directory = Path(state.directory)
    began = time.monotonic()
    if directory.is_dir():
        with exclusive(directory, state.name):
            results = stop_operators(state, timeout_s)
    else:
        results = stop_operators(state, timeout_s)
    if state.dataplane == "netns":
        removed = remove_dataplane(state.name)
        log.info("event=dataplane_removed topology=%s namespaces=%d", state.name, removed)
    if purge:
        _purge_directory(directory, state.name)
    log.info(
        "event=topology_down topology=%s operators=%d elapsed_s=%.2f",
        state.name,
        len(results),
        time.monotonic() - began,
    )
    return results


def _purge_directory(directory: Path, name: str) -> None:
    if directory.name != name:  # a hand-edited state file must not aim this elsewhere
        raise LaunchError(f"refusing to purge {directory}: it is not a directory named '{name}'")
    shutil.rmtree(directory, ignore_errors=True)


def purge(state_root: str | Path | None, name: str) -> bool:
    """Delete the working directory of a stopped topology; False if there is none.

    Raises:
        AlreadyRunning: it has a state file; ``down`` it first.
    """
    directory = topology_directory(state_root, name)
    if not directory.is_dir():
        return False
    if (directory / STATE_FILE).exists():
        raise AlreadyRunning(f"topology '{name}' is running in {directory}; stop it first")
    _purge_directory(directory, name)
    return True
