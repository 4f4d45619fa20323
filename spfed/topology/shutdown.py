"""Taking a topology down: stop its processes, forget it, optionally delete its files.

Processes are stopped top nodes first: SIGTERM, a bounded wait, SIGKILL for
stragglers. Before each signal the pid is checked to still run that
operator's ``spfed serve`` (``/proc/<pid>/cmdline``), so a reused pid is never
signalled; a node restarted by hand on its ``node.yaml`` is found by that
command line and stopped too. ``stop_processes`` is also how ``restart``
stops one node. The state file goes once every process is gone; logs and
databases stay unless purged. A purge also drops the databases ``up`` made on
the topology's PostgreSQL server (``spfed.topology.databases``).
"""

from __future__ import annotations

import logging
import shutil
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from spfed.topology import _process
from spfed.topology._lock import exclusive
from spfed.topology.databases import drop_databases
from spfed.topology.dataplane import remove_dataplane
from spfed.topology.errors import AlreadyRunning, LaunchError
from spfed.topology.state import STATE_FILE, OperatorState, TopologyState, topology_directory

__all__ = ["StopOutcome", "StopResult", "down", "purge", "stop_operators", "stop_processes"]

log = logging.getLogger(__name__)

_KILL_WAIT_S = 5.0


class StopOutcome(StrEnum):
    """What ``down`` (or ``restart``) did to one operator's process."""

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
    """One operator's process at ``down`` (or ``restart``)."""

    operator: str
    """Operator id."""
    pid: int
    """The pid signalled (the recorded one unless restarted by hand)."""
    outcome: StopOutcome
    """What happened."""


def stop_processes(
    topology: str, operators: Sequence[OperatorState], timeout_s: float
) -> list[StopResult]:
    """Stop the nodes of ``operators`` together, in that order; one result each, in order.

    Each node is found by its recorded pid or, restarted by hand, by its
    command line (``_process.node_pid``); it gets SIGTERM, all of them then
    share up to ``timeout_s`` to end, and SIGKILL goes to those left. A
    recorded pid that runs something else is left alone (``NOT_OURS``).

    Raises:
        LaunchError: a process survived SIGKILL.
    """
    outcomes: dict[str, StopOutcome] = {}
    pids = {op.id: op.pid for op in operators}
    signalled: list[OperatorState] = []
    for op in operators:
        live = _process.node_pid(op.pid, op.config)
        if live is None and _process.running(op.pid):
            log.warning(
                "event=pid_not_ours topology=%s operator=%s pid=%d", topology, op.id, op.pid
            )
            outcomes[op.id] = StopOutcome.NOT_OURS
        elif live is None or not _process.signal_process(live, signal.SIGTERM):
            outcomes[op.id] = StopOutcome.NOT_RUNNING
        else:
            pids[op.id] = live
            signalled.append(op)
    left = set(_process.wait_gone([pids[o.id] for o in signalled], timeout_s))
    killed = []
    for op in signalled:
        pid = pids[op.id]
        if pid not in left:
            outcomes[op.id] = StopOutcome.STOPPED
        elif _process.is_serve_process(pid, op.config) and _process.signal_process(
            pid, signal.SIGKILL
        ):
            log.warning("event=operator_killed topology=%s operator=%s", topology, op.id)
            outcomes[op.id] = StopOutcome.KILLED
            killed.append(pid)
        else:
            outcomes[op.id] = StopOutcome.STOPPED
    stuck = _process.wait_gone(killed, _KILL_WAIT_S)
    if stuck:
        raise LaunchError(
            f"topology '{topology}': processes {', '.join(map(str, stuck))} survived SIGKILL"
        )
    for op in operators:
        log.info(
            "event=operator_stopped topology=%s operator=%s pid=%d outcome=%s",
            topology,
            op.id,
            pids[op.id],
            outcomes[op.id],
        )
    return [StopResult(o.id, pids[o.id], outcomes[o.id]) for o in operators]


def stop_operators(state: TopologyState, timeout_s: float) -> list[StopResult]:
    """Stop every process of ``state`` and remove its state file; the caller holds the lock.

    See ``down``, which takes the lock and may purge.

    Raises:
        LaunchError: a process survived SIGKILL; the state file is kept.
    """
    ordered = sorted(state.operators.values(), key=lambda o: (o.level, o.id))
    try:
        results = stop_processes(state.name, ordered, timeout_s)
    except LaunchError as exc:
        raise LaunchError(f"{exc}; the state file is kept") from exc
    state.remove()
    return results


def down(state: TopologyState, timeout_s: float = 10.0, *, purge: bool = False) -> list[StopResult]:
    """Stop a topology's processes, top nodes first, and remove its state file.

    Each process gets SIGTERM, then up to ``timeout_s`` to end, then SIGKILL.
    A pid that no longer runs that operator's ``spfed serve`` is left alone.
    Logs and databases stay unless ``purge``, which deletes the working
    directory and drops the databases ``up`` made on the topology's PostgreSQL
    server. Idempotent: stopping a stopped topology reports every operator
    ``NOT_RUNNING``.

    Raises:
        LaunchError: a process survived SIGKILL (the state file is kept),
            another ``up``/``down`` of the topology holds its lock, or a database
            could not be dropped (the directory is kept).
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
    """Drop the databases ``up`` made on the topology's PostgreSQL server, then delete
    ``directory``; if a database cannot be dropped, the directory (and its record of the
    databases) stays, so the purge can be run again.
    """
    if directory.name != name:  # a hand-edited state file must not aim this elsewhere
        raise LaunchError(f"refusing to purge {directory}: it is not a directory named '{name}'")
    if directory.is_dir():
        dropped = drop_databases(directory)
        log.info("event=databases_dropped topology=%s count=%d", name, len(dropped))
    shutil.rmtree(directory, ignore_errors=True)


def purge(state_root: str | Path | None, name: str) -> bool:
    """Delete the working directory of a stopped topology, and drop the databases ``up``
    made on its PostgreSQL server; False if there is no directory.

    Raises:
        AlreadyRunning: it has a state file; ``down`` it first.
        LaunchError: a database could not be dropped (the directory is kept).
    """
    directory = topology_directory(state_root, name)
    if not directory.is_dir():
        return False
    if (directory / STATE_FILE).exists():
        raise AlreadyRunning(f"topology '{name}' is running in {directory}; stop it first")
    _purge_directory(directory, name)
    return True
