"""Bringing a topology up as ``spfed serve`` processes on loopback.

``up`` checks the file, creates ``<state dir>/<name>/`` with one directory per
operator (``node.yaml``, ``spfed.db``, ``node.log``) and the topology's
security material (``security/``: a CA, node certificates for mutual TLS,
identity keys and service accounts between operators, an ``admin`` and the
named customers at each node), and starts the operators
leaves first, wave by wave: an upper SP's configuration names its lower SPs'
addresses, so it starts once they serve. For each node it waits (bounded) for
the ready file and for ``grpc.health.v1`` SERVING; then until every upper SP's
catalogue shows the regions and offers of those below it, so a request sent
right after ``up`` can be placed. The state file is saved after every start,
so ``down`` always finds what was started. If anything fails, everything
started is stopped and ``LaunchError`` carries the tail of the failing
operator's log.

``up`` and ``down`` hold the topology's lock, so two of them never work on
one topology at once. Everything here blocks; call it from a thread when an
event loop runs.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from spfed.topology import _process
from spfed.topology._lock import exclusive
from spfed.topology.configs import OperatorPaths, write_node_config
from spfed.topology.errors import AlreadyRunning, LaunchError
from spfed.topology.loader import load_topology
from spfed.topology.model import Topology
from spfed.topology.probes import (
    CatalogueExpectation,
    Health,
    check_health,
    read_ready_file,
    wait_for_catalogues,
)
from spfed.topology.security import TopologySecurity
from spfed.topology.shutdown import stop_operators
from spfed.topology.state import STATE_FILE, OperatorState, TopologyState, topology_directory

__all__ = ["up"]

log = logging.getLogger(__name__)

_POLL_S = 0.05
_ABORT_STOP_S = 5.0


def _save(state: TopologyState) -> None:
    """Save with operators top nodes first, as the state format promises."""
    ordered = sorted(state.operators.values(), key=lambda o: (o.level, o.id))
    state.operators = {o.id: o for o in ordered}
    state.save()


def _refuse_if_present(directory: Path, name: str) -> None:
    if not (directory / STATE_FILE).exists():
        return
    existing = TopologyState.load(directory)
    alive = [
        o.id
        for o in existing.operators.values()
        if _process.running(o.pid) and _process.is_serve_process(o.pid, o.config)
    ]
    if alive:
        raise AlreadyRunning(
            f"topology '{name}' is already running in {directory}"
            f" (operators: {', '.join(alive)}); stop it with 'spfed topology down {name}'"
        )
    raise AlreadyRunning(
        f"topology '{name}' has a state file in {directory} but none of its processes runs;"
        f" clear it with 'spfed topology down {name}'"
    )


def _failure(op: OperatorState, message: str) -> LaunchError:
    tail = _process.log_tail(Path(op.log))
    return LaunchError(f"{message} (log: {op.log})", operator=op.id, log_tail=tail)


def _wait_serving(
    op: OperatorState,
    paths: OperatorPaths,
    deadline: float,
    timeout_s: float,
    security: TopologySecurity,
) -> str:
    """Wait for ``op``'s ready file and SERVING; returns its address."""
    address = ""
    health = Health.UNREACHABLE
    while True:
        code = _process.exit_code(op.pid)
        if code is not None:
            raise _failure(op, f"operator {op.id} exited with code {code} before serving")
        address = address or read_ready_file(paths.ready_file)
        if address:
            left = deadline - time.monotonic()
            health = check_health(
                address, timeout_s=max(0.2, min(1.0, left)), tls=security.client_tls()
            )
            if health is Health.SERVING:
                return address
        if time.monotonic() >= deadline:
            what = f"report SERVING (health: {health})" if address else "write its ready file"
            raise _failure(op, f"operator {op.id} did not {what} within {timeout_s:g} s")
        time.sleep(_POLL_S)


def _provision(topology: Topology, directory: Path) -> TopologySecurity:
    """Fresh keys, certificates and passwords for every operator (a restarted topology
    gets new ones; its nodes bring their accounts in step at start-up)."""
    old = TopologySecurity.under(directory)
    if old.directory.exists():
        shutil.rmtree(old.directory)
    return TopologySecurity.provision(
        directory,
        topology.name,
        list(topology.operators),
        customers={op: spec.customers for op, spec in topology.operators.items()},
    )


def _start_all(
    topology: Topology, state: TopologyState, timeout_s: float, security: TopologySecurity
) -> None:
    levels = topology.levels()
    addresses: dict[str, str] = {}
    for wave in topology.start_waves():
        started = time.monotonic()
        for op in wave:
            spec = topology.operators[op]
            paths = OperatorPaths.under(state.directory, op)
            lowers = {c: addresses[c] for c in topology.children(op)}
            write_node_config(topology, op, paths, lowers, security)
            paths.ready_file.unlink(missing_ok=True)
            if paths.log.exists():
                paths.log.replace(paths.log.with_name(paths.log.name + ".1"))
            pid = _process.spawn_serve(paths.config, paths.log)
            state.operators[op] = OperatorState(
                id=op,
                address="",
                pid=pid,
                config=str(paths.config),
                log=str(paths.log),
                database=paths.database_url,
                parents=list(spec.parents),
                level=levels[op],
                pops={p.name: p.region for p in spec.pops},
            )
            _save(state)
            log.info("event=operator_spawned topology=%s operator=%s pid=%d", state.name, op, pid)
        deadline = started + timeout_s
        for op in wave:
            paths = OperatorPaths.under(state.directory, op)
            address = _wait_serving(state.operators[op], paths, deadline, timeout_s, security)
            addresses[op] = state.operators[op].address = address
            _save(state)
            log.info(
                "event=operator_serving topology=%s operator=%s address=%s elapsed_s=%.2f",
                state.name,
                op,
                address,
                time.monotonic() - started,
            )


def _wait_catalogues(
    topology: Topology, state: TopologyState, timeout_s: float, security: TopologySecurity
) -> None:
    expectations = [
        CatalogueExpectation(
            op, frozenset(topology.regions_below(op)), tuple(topology.children(op))
        )
        for op in topology.top_down()
    ]
    addresses = {op: o.address for op, o in state.operators.items()}
    tls = security.client_tls()
    unmet = wait_for_catalogues(
        addresses,
        expectations,
        timeout_s,
        connect=lambda op: (tls, security.sign_in(op)),
    )
    if unmet:
        first = unmet[0].partition(":")[0]
        raise _failure(
            state.operators[first],
            f"the catalogues did not settle within {timeout_s:g} s: {'; '.join(unmet)}",
        )


def up(
    file: str | Path,
    state_root: str | Path | None = None,
    *,
    timeout_s: float = 30.0,
    catalogue_timeout_s: float = 10.0,
) -> TopologyState:
    """Start every operator of a topology file; returns the saved state once all serve.

    ``timeout_s`` bounds each wave of starts (the ready file and SERVING);
    ``catalogue_timeout_s`` bounds the wait for the catalogues to settle.

    Raises:
        TopologyFileError: the file is invalid; nothing was started.
        AlreadyRunning: a state file of that topology name exists.
        LaunchError: a node failed to start or the catalogues did not settle;
            everything started was stopped again, the state file removed.
    """
    path = Path(file).absolute()
    topology = load_topology(path)
    directory = topology_directory(state_root, topology.name)
    directory.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with exclusive(directory, topology.name):
        _refuse_if_present(directory, topology.name)
        state = TopologyState(
            name=topology.name,
            file=str(path),
            directory=str(directory),
            dataplane=topology.dataplane,
        )
        _save(state)
        log.info(
            "event=topology_starting topology=%s operators=%d directory=%s",
            topology.name,
            len(topology.operators),
            directory,
        )
        try:
            security = _provision(topology, directory)
            _start_all(topology, state, timeout_s, security)
            _wait_catalogues(topology, state, catalogue_timeout_s, security)
        except BaseException as exc:
            log.info("event=topology_start_failed topology=%s error=%r", topology.name, exc)
            try:
                stop_operators(state, _ABORT_STOP_S)
            except LaunchError as stop_exc:
                if isinstance(exc, LaunchError):
                    raise LaunchError(
                        f"{exc}; then stopping what was started failed: {stop_exc}",
                        operator=exc.operator,
                        log_tail=exc.log_tail,
                    ) from exc
                raise
            raise
    log.info(
        "event=topology_up topology=%s operators=%d elapsed_s=%.2f",
        topology.name,
        len(state.operators),
        time.monotonic() - began,
    )
    return state
