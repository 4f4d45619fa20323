"""``spfed topology up|status|restart|down``: a multi-operator topology as local processes.

Exit codes: 0 done; 1 failed (invalid file, a node that would not start or
restart, a status with an operator not SERVING); 2 usage (e.g. NAME left out
while several topologies run). ``--json`` prints only JSON on stdout. Heavy modules
are imported inside the commands so ``spfed --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from spfed.cli.topology_provision import provision

if TYPE_CHECKING:
    from spfed.topology import OperatorStatus, RestartResult, StopResult, TopologyState

__all__ = ["topology"]

_EXIT_FAILED = 1
_EXIT_INTERRUPTED = 130
_PIPE_WIDTH = 200

_state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where topology states live  [default: $SPFED_STATE_DIR or ./.spfed]",
)
_json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print machine-readable JSON on stdout and nothing else.",
)


class _StderrHandler(logging.Handler):
    """Writes to ``sys.stderr`` as it is when a record comes (click's runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # a log line must never break the command
            self.handleError(record)


def _fail(lines: Sequence[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(_EXIT_FAILED)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _print_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str = ""
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=title, title_justify="left", caption=caption or None, caption_justify="left"
    )
    for header in headers:
        table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    # Piped or captured output has no width to fit; never wrap a table there.
    width = None if sys.stdout.isatty() else _PIPE_WIDTH
    Console(width=width).print(table)


def _pick(state_root: Path | None, name: str | None) -> TopologyState | None:
    """The running topology ``name``, or the only one; None when none runs.

    Raises:
        click.UsageError: NAME left out while several run.
    """
    from spfed.topology import TopologyState

    states = TopologyState.all(state_root)
    if name is not None:
        return next((s for s in states if s.name == name), None)
    if len(states) > 1:
        names = ", ".join(s.name for s in states)
        raise click.UsageError(f"several topologies are running ({names}); name one")
    return states[0] if states else None


def _where(state_root: Path | None) -> str:
    from spfed.topology import state_dir

    return str(state_dir(state_root))


@click.group("topology")
@click.option("--verbose", "-v", is_flag=True, help="Log each step on stderr.")
def topology(verbose: bool) -> None:
    """Bring a multi-operator topology up, show how it is, restart a node, take it down.

    A topology file names the operators, the upper SPs each one serves, their
    PoPs and the descriptors they onboard (see examples/topologies/demo.yaml).
    Each operator runs as one 'spfed serve' process on a fixed port of
    127.0.0.1; its config, database and log live in
    <state dir>/<topology>/<operator>/.
    """
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("spfed topology: %(levelname)s %(message)s"))
    logger = logging.getLogger("spfed.topology")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


@topology.command("up")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_state_dir_option
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds each wave of operators may take to serve.",
)
@_json_option
def up(file: Path, state_dir: Path | None, timeout_s: float, as_json: bool) -> None:
    """Start every operator of FILE, leaves first, and wait until they all serve.

    Returns once every node reports SERVING and every upper SP's catalogue
    shows what its lower SPs offer. On failure everything started is stopped
    and the tail of the failing operator's log is printed.
    """
    from spfed.topology import LaunchError, TopologyFileError
    from spfed.topology import up as start

    began = time.monotonic()
    try:
        state = start(file, state_dir, timeout_s=timeout_s)
    except TopologyFileError as exc:
        _fail(["spfed topology up: invalid topology file", *exc.problems])
    except LaunchError as exc:
        lines = [f"spfed topology up: {exc}"]
        if exc.log_tail:
            lines += [f"--- last lines of {exc.operator}'s log ---", *exc.log_tail, "---"]
        _fail(lines)
    except KeyboardInterrupt:
        click.echo("spfed topology up: interrupted; stopped what was started", err=True)
        sys.exit(_EXIT_INTERRUPTED)
    elapsed = time.monotonic() - began
    if as_json:
        _echo_json({**asdict(state), "elapsed_s": round(elapsed, 2)})
        return
    rows = [
        (
            op.id,
            str(op.level),
            ", ".join(op.parents) or "-",
            op.address,
            ", ".join(f"{pop} ({region})" for pop, region in op.pops.items()) or "-",
            str(op.pid),
        )
        for op in state.operators.values()
    ]
    _print_table(
        f"topology {state.name} is up ({elapsed:.1f} s)",
        ("operator", "level", "parents", "address", "PoPs", "pid"),
        rows,
        caption=f"configs, databases and logs: {state.directory}",
    )


def _status_row(s: OperatorStatus) -> tuple[str, ...]:
    return (
        s.id,
        str(s.level),
        ", ".join(s.parents) or "-",
        s.address or "-",
        s.metrics or "-",
        str(s.pid),
        s.process.value,
        s.health.value if s.health is not None else "-",
        "yes" if s.serving else "no",
    )


@topology.command("status")
@click.argument("name", required=False)
@_state_dir_option
@_json_option
def status(name: str | None, state_dir: Path | None, as_json: bool) -> None:
    """Show each operator of topology NAME: addresses (API, metrics), process, health, and
    whether it is up.

    NAME may be left out when exactly one topology runs. Exits 1 when none
    runs or an operator is not SERVING.
    """
    from spfed.topology import status as probe

    state = _pick(state_dir, name)
    if state is None:
        what = f"topology '{name}' is not running" if name else "no topology is running"
        _fail([f"spfed topology status: {what} (state dir: {_where(state_dir)})"])
    statuses = probe(state)
    if as_json:
        _echo_json(
            {
                "name": state.name,
                "directory": state.directory,
                "operators": [{**asdict(s), "serving": s.serving} for s in statuses],
            }
        )
    else:
        _print_table(
            f"topology {state.name}",
            (
                "operator",
                "level",
                "parents",
                "address",
                "metrics",
                "pid",
                "process",
                "health",
                "up",
            ),
            [_status_row(s) for s in statuses],
            caption=f"configs, databases and logs: {state.directory}",
        )
    if not all(s.serving for s in statuses):
        sys.exit(_EXIT_FAILED)


def _pick_for(state_root: Path | None, name: str | None, operator: str) -> TopologyState:
    """The running topology that has ``operator``: the one named, else the only one.

    Raises:
        click.UsageError: several running topologies have it and none is named.
        SystemExit: none has it (exit 1, with what runs).
    """
    from spfed.topology import TopologyState

    states = [s for s in TopologyState.all(state_root) if name is None or s.name == name]
    having = [s for s in states if operator in s.operators]
    if len(having) > 1:
        names = ", ".join(s.name for s in having)
        raise click.UsageError(
            f"operator '{operator}' is in several topologies ({names}); pass --topology"
        )
    if having:
        return having[0]
    if not states:
        what = f"topology '{name}' is not running" if name else "no topology is running"
    else:
        known = ", ".join(sorted({op for s in states for op in s.operators}))
        what = f"no running topology has operator '{operator}' (operators: {known})"
    _fail([f"spfed topology restart: {what} (state dir: {_where(state_root)})"])


def _print_restarted(name: str, result: RestartResult, as_json: bool) -> None:
    if as_json:
        _echo_json({"name": name, **asdict(result)})
        return
    was = result.stopped.outcome.value.replace("_", " ")
    click.echo(
        f"{result.operator} of topology {name} serves again on {result.address}"
        f" (pid {result.stopped.pid} {was}, now pid {result.pid}; {result.elapsed_s:.1f} s);"
        " its upper SPs reconnect on their own"
    )


@topology.command("restart")
@click.argument("operator")
@click.option(
    "--topology",
    "name",
    default=None,
    help="The topology the operator is in (needed when several running ones have it).",
)
@_state_dir_option
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds the node may take to serve again.",
)
@click.option(
    "--stop-timeout",
    "stop_timeout_s",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds the node gets after SIGTERM before SIGKILL.",
)
@_json_option
def restart(
    operator: str,
    name: str | None,
    state_dir: Path | None,
    timeout_s: float,
    stop_timeout_s: float,
    as_json: bool,
) -> None:
    """Stop OPERATOR's node and start it again on the same address.

    A node that has died is just started. It comes back from its generated
    config (<state dir>/<topology>/<operator>/node.yaml) with its database,
    so its services stay; its upper SPs reconnect by themselves (within their
    federation.reconnect_max_s). Exits 1 if it does not serve within
    --timeout; it is then stopped, the rest of the topology runs on.
    """
    from spfed.topology import LaunchError
    from spfed.topology import restart as restart_node

    state = _pick_for(state_dir, name, operator)
    try:
        result = restart_node(state, operator, timeout_s=timeout_s, stop_timeout_s=stop_timeout_s)
    except LaunchError as exc:
        lines = [f"spfed topology restart: {exc}"]
        if exc.log_tail:
            lines += [f"--- last lines of {exc.operator}'s log ---", *exc.log_tail, "---"]
        _fail(lines)
    _print_restarted(state.name, result, as_json)


def _print_stopped(name: str, results: Sequence[StopResult], purged: bool, as_json: bool) -> None:
    if as_json:
        _echo_json({"name": name, "operators": [asdict(r) for r in results], "purged": purged})
        return
    _print_table(
        f"topology {name} is down{' (purged)' if purged else ''}",
        ("operator", "pid", "outcome"),
        [(r.operator, str(r.pid), r.outcome.value.replace("_", " ")) for r in results],
    )


@topology.command("down")
@click.argument("name", required=False)
@_state_dir_option
@click.option(
    "--purge",
    is_flag=True,
    help="Also delete its configs, databases and logs, and drop the databases 'up' made on"
    " its PostgreSQL server.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds the nodes get after SIGTERM before SIGKILL.",
)
@_json_option
def down(
    name: str | None, state_dir: Path | None, purge: bool, timeout_s: float, as_json: bool
) -> None:
    """Stop every operator of topology NAME (top nodes first) and forget it.

    NAME may be left out when exactly one topology runs. Stopping a topology
    that is not running succeeds (with --purge, its directory is still
    deleted). Logs and databases are kept unless --purge.
    """
    from spfed.topology import LaunchError
    from spfed.topology import down as stop
    from spfed.topology import purge as purge_directory

    state = _pick(state_dir, name)
    try:
        if state is None:
            purged = purge and name is not None and purge_directory(state_dir, name)
            what = f"topology '{name}' is not running" if name else "no topology is running"
            if as_json:
                _echo_json({"name": name, "operators": [], "purged": purged})
            else:
                click.echo(f"{what}; nothing to stop{' (purged)' if purged else ''}")
            return
        results = stop(state, timeout_s, purge=purge)
    except LaunchError as exc:
        _fail([f"spfed topology down: {exc}"])
    _print_stopped(state.name, results, purge, as_json)


topology.add_command(provision)
