"""How the operators of a running topology are: process, addresses and health."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from spfed.errors import FailedPrecondition
from spfed.tls import ClientTls
from spfed.topology import _process
from spfed.topology.probes import Health, check_health
from spfed.topology.security import TopologySecurity
from spfed.topology.state import OperatorState, TopologyState

__all__ = ["OperatorStatus", "ProcessState", "status"]

_MAX_PROBES = 8


class ProcessState(StrEnum):
    """Whether an operator's process runs."""

    RUNNING = "running"
    """Its ``spfed serve`` runs (under the recorded pid, or another after a restart by hand)."""
    GONE = "gone"
    """No process has its pid."""
    FOREIGN = "foreign"
    """Its pid now belongs to some other process, and its node does not run."""


@dataclass(frozen=True)
class OperatorStatus:
    """One operator of a running topology."""

    id: str
    """Operator id."""
    level: int
    """1 for a top node, 2 below it, and so on."""
    parents: tuple[str, ...]
    """Upper SPs it serves."""
    address: str
    """``host:port`` of its API: fixed for the topology's life ("" only in states written
    before ports were fixed, while starting)."""
    pid: int
    """Process id: the running node's (also when restarted by hand), else the recorded one."""
    process: ProcessState
    """Whether the process runs."""
    health: Health | None
    """What its health service says; ``None`` when the process does not run."""
    metrics: str = ""
    """``host:port`` of its Prometheus endpoint (``GET /metrics``); "" in older states."""

    @property
    def serving(self) -> bool:
        """Whether it runs and reports SERVING."""
        return self.process is ProcessState.RUNNING and self.health is Health.SERVING


def _one(op: OperatorState, timeout_s: float, tls: ClientTls | None) -> OperatorStatus:
    # A node restarted by hand on its node.yaml runs under a pid the state does not know.
    pid = _process.node_pid(op.pid, op.config)
    if pid is not None:
        process = ProcessState.RUNNING
    elif _process.running(op.pid):
        process = ProcessState.FOREIGN
    else:
        process = ProcessState.GONE
    health = None
    if process is ProcessState.RUNNING:
        health = check_health(op.address, timeout_s, tls) if op.address else Health.UNREACHABLE
    return OperatorStatus(
        id=op.id,
        level=op.level,
        parents=tuple(op.parents),
        address=op.address,
        pid=op.pid if pid is None else pid,
        process=process,
        health=health,
        metrics=op.metrics,
    )


def status(state: TopologyState, *, timeout_s: float = 1.0) -> list[OperatorStatus]:
    """Every operator's status, top nodes first; health checks run in parallel.

    Each health check has a deadline of ``timeout_s``; a node that does not
    answer in time is ``UNREACHABLE``. Never raises for a node's state.
    """
    ordered = sorted(state.operators.values(), key=lambda o: (o.level, o.id))
    if not ordered:
        return []
    try:
        tls: ClientTls | None = TopologySecurity.under(state.directory).client_tls()
    except FailedPrecondition:
        tls = None  # no material (yet): the probes then report UNREACHABLE
    with ThreadPoolExecutor(max_workers=min(_MAX_PROBES, len(ordered))) as pool:
        return list(pool.map(lambda op: _one(op, timeout_s, tls), ordered))
