"""Restarting one node of a running topology at the address its upper SPs know.

``restart`` stops the operator's node the way ``down`` does (SIGTERM, a
bounded wait, SIGKILL), or finds it already gone, then starts ``spfed serve``
again on its generated ``node.yaml`` and waits until it serves. The node
keeps its fixed port (``up`` wrote it into the configuration) and its SQLite
database, so its services, catalogue version numbers and accounts carry
over. Its upper SPs need nothing: their subscriptions to its catalogue and
their channels to it reconnect on their own, within
``federation.reconnect_max_s`` of their configuration.

It holds the topology's lock, like ``up`` and ``down``, and blocks.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from spfed.config import ConfigError, load_config
from spfed.topology import _starting
from spfed.topology._lock import exclusive
from spfed.topology._ports import port_of, port_taken
from spfed.topology.configs import OperatorPaths
from spfed.topology.errors import LaunchError
from spfed.topology.security import TopologySecurity
from spfed.topology.shutdown import StopResult, stop_processes
from spfed.topology.state import OperatorState, TopologyState

__all__ = ["RestartResult", "restart"]

log = logging.getLogger(__name__)

_ABORT_STOP_S = 5.0


@dataclass(frozen=True)
class RestartResult:
    """One node restarted."""

    operator: str
    """Operator id."""
    address: str
    """``host:port`` it serves on again (the same as before)."""
    stopped: StopResult
    """What happened to the process that ran before (``not_running``: it had died)."""
    pid: int
    """The new process."""
    elapsed_s: float
    """From the lock taken to SERVING."""


def _fixed_address(op: OperatorState) -> str:
    """The address the node's generated configuration listens on.

    Raises:
        LaunchError: no readable, valid configuration, or one without a fixed
            port (written by an older ``up``).
    """
    try:
        listen = load_config(op.config, environ={}).server.listen
    except ConfigError as exc:
        raise LaunchError(f"cannot restart {op.id}: {exc}", operator=op.id) from exc
    if port_of(listen) == 0:
        raise LaunchError(
            f"cannot restart {op.id}: its configuration {op.config} has no fixed port (it was"
            " written by an older 'spfed topology up'); bring the topology down and up again",
            operator=op.id,
        )
    return listen


def _start(
    state: TopologyState, op: OperatorState, timeout_s: float, security: TopologySecurity
) -> int:
    """Start ``op`` again and wait until it serves at ``op.address``; returns its pid.

    Raises:
        LaunchError: it did not serve in time or exited first; a process still
            running is stopped, and the state records it gone.
    """
    paths = OperatorPaths.under(state.directory, op.id)
    began = time.monotonic()
    op.pid = _starting.spawn(paths)
    state.save()  # from here on, 'down' finds the new process whatever happens next
    log.info(
        "event=operator_spawned topology=%s operator=%s pid=%d address=%s",
        state.name,
        op.id,
        op.pid,
        op.address,
    )
    try:
        _starting.wait_serving(op, paths, began + timeout_s, timeout_s, security)
    except LaunchError:
        stop_processes(state.name, [op], _ABORT_STOP_S)
        raise
    return op.pid


def restart(
    state: TopologyState,
    operator: str,
    *,
    timeout_s: float = 30.0,
    stop_timeout_s: float = 10.0,
) -> RestartResult:
    """Stop ``operator``'s node (if it runs) and start it again at the same address.

    The state is read again under the lock (``state`` only names the
    topology) and saved with the new pid. ``stop_timeout_s`` is the time
    after SIGTERM before SIGKILL; ``timeout_s`` bounds the wait for the ready
    file and SERVING.

    Raises:
        LaunchError: the topology is not running any more or has no such
            operator; the configuration has no fixed port; another process
            took the node's port while it was down; the node did not serve in
            time (it is then stopped; the rest of the topology runs on); the
            old process survived SIGKILL; or another ``up``/``restart``/``down``
            of the topology holds its lock.
    """
    directory = Path(state.directory)
    began = time.monotonic()
    with exclusive(directory, state.name):
        try:
            current = TopologyState.load(directory)
        except FileNotFoundError:
            raise LaunchError(f"topology '{state.name}' is not running") from None
        op = current.operators.get(operator)
        if op is None:
            raise LaunchError(
                f"topology '{state.name}' has no operator '{operator}'"
                f" (operators: {', '.join(current.operators)})"
            )
        op.address = _fixed_address(op)
        (stopped,) = stop_processes(current.name, [op], stop_timeout_s)
        if port_taken(port_of(op.address)):
            raise LaunchError(
                f"cannot restart {operator}: another process listens on {op.address}, its"
                " address, which its upper SPs' configurations name",
                operator=operator,
            )
        pid = _start(current, op, timeout_s, TopologySecurity.under(directory))
        current.save()
    elapsed = time.monotonic() - began
    log.info(
        "event=operator_restarted topology=%s operator=%s address=%s pid=%d was=%s elapsed_s=%.2f",
        current.name,
        operator,
        op.address,
        pid,
        stopped.outcome,
        elapsed,
    )
    return RestartResult(operator, op.address, stopped, pid, round(elapsed, 2))
