"""Bringing a topology up as ``spfed serve`` processes on loopback.

``up`` checks the file, creates ``<state dir>/<name>/`` with one directory per
operator (``node.yaml``, ``spfed.db``, ``node.log``) and the topology's
security material (``security/``: a CA, node certificates for mutual TLS,
identity keys and service accounts between operators, an ``admin`` and the
named customers at each node), creates the operators' databases on the
topology's PostgreSQL server if it names one (``spfed.topology.databases``),
and starts the operators
leaves first, wave by wave: an upper SP's configuration names its lower SPs'
addresses, so it starts once they serve. Each node gets a fixed port on
127.0.0.1, picked free just before it starts and recorded in its
configuration and the state, so a restarted node (``spfed topology restart``,
or ``spfed serve`` on its ``node.yaml``) is where its upper SPs expect it; a
node that could not bind its port because another process took it first is
started again on a new one, before any upper SP's configuration names it.
For each node it waits (bounded) for the ready file and for
``grpc.health.v1`` SERVING; then until every upper SP's
catalogue shows the regions and offers of those below it, so a request sent
right after ``up`` can be placed. The state file is saved after every start,
so ``down`` always finds what was started. If anything fails, everything
started is stopped and ``LaunchError`` carries the tail of the failing
operator's log.

``up``, ``restart`` and ``down`` hold the topology's lock, so two of them
never work on one topology at once. Everything here blocks; call it from a
thread when an event loop runs.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from spfed.storage.servers import masked
from spfed.topology import _process, _starting
from spfed.topology._lock import exclusive
from spfed.topology._ports import address_of, pick_free_port, port_of, port_taken
from spfed.topology.configs import OperatorPaths, storage_url, write_node_config
from spfed.topology.databases import create_databases
from spfed.topology.errors import AlreadyRunning, LaunchError
from spfed.topology.loader import load_topology
from spfed.topology.model import Topology
from spfed.topology.probes import CatalogueExpectation, wait_for_catalogues
from spfed.topology.security import TopologySecurity
from spfed.topology.shutdown import stop_operators
from spfed.topology.state import STATE_FILE, OperatorState, TopologyState, topology_directory

__all__ = ["up"]

log = logging.getLogger(__name__)

_ABORT_STOP_S = 5.0
_PORT_ATTEMPTS = 3
"""Starts of one node when other processes keep taking the port picked for it."""


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
        o.id for o in existing.operators.values() if _process.node_pid(o.pid, o.config) is not None
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


def _configure(
    topology: Topology,
    op: str,
    paths: OperatorPaths,
    addresses: dict[str, str],
    security: TopologySecurity,
    metrics: dict[str, str],
) -> tuple[str, str]:
    """Give ``op`` two free fixed ports (API, metrics) and write its configuration;
    returns its API and metrics addresses.

    ``addresses`` holds every API address handed out so far (its lower SPs' among
    them, which its configuration names), ``metrics`` every metrics address; ``op``'s
    are added.
    """
    taken = {port_of(a) for a in (*addresses.values(), *metrics.values())}
    address = address_of(pick_free_port(avoid=taken))
    metrics_address = address_of(pick_free_port(avoid=taken | {port_of(address)}))
    addresses[op] = address
    metrics[op] = metrics_address
    lowers = {c: addresses[c] for c in topology.children(op)}
    write_node_config(
        topology, op, paths, lowers, security, listen=address, metrics_listen=metrics_address
    )
    return address, metrics_address


def _spawn(state: TopologyState, op: str, paths: OperatorPaths) -> None:
    pid = _starting.spawn(paths)
    state.operators[op].pid = pid
    _save(state)
    log.info(
        "event=operator_spawned topology=%s operator=%s pid=%d address=%s",
        state.name,
        op,
        pid,
        state.operators[op].address,
    )


def _serve(
    topology: Topology,
    state: TopologyState,
    op: str,
    addresses: dict[str, str],
    deadline: float,
    timeout_s: float,
    security: TopologySecurity,
    metrics: dict[str, str],
) -> None:
    """Wait until ``op`` serves; if it ended because another process took its port
    between ``_configure`` and its bind, start it again on a new port (bounded).

    Its upper SPs start in later waves, so their configurations get whichever
    address it ends up with.
    """
    paths = OperatorPaths.under(state.directory, op)
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        entry = state.operators[op]
        try:
            _starting.wait_serving(entry, paths, deadline, timeout_s, security)
            return
        except _starting.ExitedEarly:
            port = port_of(entry.address)
            taken = port_taken(port) or bool(entry.metrics and port_taken(port_of(entry.metrics)))
            if attempt == _PORT_ATTEMPTS or not taken:
                raise
            log.warning(
                "event=port_taken topology=%s operator=%s port=%d attempt=%d",
                state.name,
                op,
                port,
                attempt,
            )
        entry.address, entry.metrics = _configure(topology, op, paths, addresses, security, metrics)
        _spawn(state, op, paths)


def _start_all(
    topology: Topology, state: TopologyState, timeout_s: float, security: TopologySecurity
) -> None:
    levels = topology.levels()
    addresses: dict[str, str] = {}
    metrics: dict[str, str] = {}
    for wave in topology.start_waves():
        started = time.monotonic()
        for op in wave:
            spec = topology.operators[op]
            paths = OperatorPaths.under(state.directory, op)
            address, metrics_address = _configure(topology, op, paths, addresses, security, metrics)
            if paths.log.exists():
                paths.log.replace(paths.log.with_name(paths.log.name + ".1"))
            state.operators[op] = OperatorState(
                id=op,
                address=address,
                pid=0,
                config=str(paths.config),
                log=str(paths.log),
                database=masked(storage_url(topology, op, paths)),
                parents=list(spec.parents),
                level=levels[op],
                pops={p.name: p.region for p in spec.pops},
                metrics=metrics_address,
            )
            _spawn(state, op, paths)
        deadline = started + timeout_s
        for op in wave:
            _serve(topology, state, op, addresses, deadline, timeout_s, security, metrics)
            log.info(
                "event=operator_serving topology=%s operator=%s address=%s elapsed_s=%.2f",
                state.name,
                op,
                state.operators[op].address,
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
        raise _starting.failure(
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
            create_databases(topology, directory)
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
