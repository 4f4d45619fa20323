"""Starting one node of a topology from its generated configuration and waiting until it serves.

Shared by ``up`` (every node, leaves first) and ``restart`` (one node). A
start is over when the node has written its ready file and its health
service reports SERVING at the address its configuration names; it fails
when the process exits first or the deadline passes, with the tail of its
log.
"""

from __future__ import annotations

import time
from pathlib import Path

from spfed.topology import _process
from spfed.topology.configs import OperatorPaths
from spfed.topology.errors import LaunchError
from spfed.topology.probes import Health, check_health, read_ready_file
from spfed.topology.security import TopologySecurity
from spfed.topology.state import OperatorState

__all__ = ["ExitedEarly", "failure", "spawn", "wait_serving"]

_POLL_S = 0.05


class ExitedEarly(LaunchError):
    """The node's process ended before it served (``up`` may retry it on another port)."""


def failure(op: OperatorState, message: str) -> LaunchError:
    """A ``LaunchError`` about ``op`` carrying the tail of its log."""
    tail = _process.log_tail(Path(op.log))
    return LaunchError(f"{message} (log: {op.log})", operator=op.id, log_tail=tail)


def spawn(paths: OperatorPaths) -> int:
    """Start ``spfed serve`` on ``paths.config`` (its log appended to); returns the pid.

    The old ready file goes first, so that only the new process's counts.

    Raises:
        OSError: the process could not be started.
    """
    paths.ready_file.unlink(missing_ok=True)
    return _process.spawn_serve(paths.config, paths.log)


def wait_serving(
    op: OperatorState,
    paths: OperatorPaths,
    deadline: float,
    timeout_s: float,
    security: TopologySecurity,
) -> str:
    """Wait (until the monotonic ``deadline``) for ``op``'s ready file and SERVING.

    Returns the address the node wrote, which is ``op.address`` (its
    configuration's fixed one). ``timeout_s`` only words the error.

    Raises:
        ExitedEarly: the process ended before serving.
        LaunchError: the deadline passed, or the node serves elsewhere than
            ``op.address``.
    """
    address = ""
    health = Health.UNREACHABLE
    while True:
        code = _process.exit_code(op.pid)
        if code is None and not _process.running(op.pid):
            code = -1  # not our child (a restart from another process): gone, code unknown
        if code is not None:
            tail = _process.log_tail(Path(op.log))
            raise ExitedEarly(
                f"operator {op.id} exited with code {code} before serving (log: {op.log})",
                operator=op.id,
                log_tail=tail,
            )
        address = address or read_ready_file(paths.ready_file)
        if address and op.address and address != op.address:
            raise failure(op, f"operator {op.id} serves on {address}, not on {op.address}")
        if address:
            left = deadline - time.monotonic()
            health = check_health(
                address, timeout_s=max(0.2, min(1.0, left)), tls=security.client_tls()
            )
            if health is Health.SERVING:
                return address
        if time.monotonic() >= deadline:
            what = f"report SERVING (health: {health})" if address else "write its ready file"
            raise failure(op, f"operator {op.id} did not {what} within {timeout_s:g} s")
        time.sleep(_POLL_S)
