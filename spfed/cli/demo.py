"""``spfed demo``: the federation end to end, on 4 operators and 3 levels.

1. ``spfed topology up examples/topologies/demo.yaml``: four ``spfed serve``
   processes on loopback.
2. The top node's catalogue: what retail can sell, re-published from below.
3. Instantiate the secure-chain service through retail, with live progress:
   the firewall lands on retail, the DPI on wholesale-us, the NAT on
   wholesale-eu, and the nested edge CDN on edge-be through wholesale-eu.
4. The service tree: which operator, which PoP, which prefixes.
5. Terminate, and show every PoP back at its starting capacity.
6. ``spfed topology down``, whatever happened.

With ``--json`` the narrative goes to stderr and stdout gets one JSON summary:
the topology, the service, the checks (address plan, capacities) and ``ok``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from spfed.cli._examples import EXAMPLES

if TYPE_CHECKING:
    from rich.console import Console

    from spfed.errors import SpfedError
    from spfed.model import Catalogue, ErrorStatus, InstantiateRequest, Resources, ServiceRecord
    from spfed.topology import Topology, TopologyState

__all__ = ["demo"]

SERVICE_FILES = (
    "nsd-secure-chain.yml",
    "vnfd-firewall.yml",
    "vnfd-dpi.yml",
    "vnfd-legacy-nat.yml",
)
# Exact capacity figures in the catalogues, so the demo can show every PoP
# back at its start; nodes inherit these from the launcher's environment.
_CUSTOMER = "acme"
"""The demo's customer at the top node (the topology file names it), if there is one."""
ADMIN = "admin"
"""Every topology node's operator user."""
DEMO_ENVIRONMENT = {
    "SPFED__CATALOGUE__CAPACITY_STEP_PERCENT": "0",
    "SPFED__CATALOGUE__REPUBLISH_DEBOUNCE_S": "0.02",
}


@click.command()
@click.option(
    "--topology",
    "topology_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=EXAMPLES / "topologies" / "demo.yaml",
    show_default=True,
    help="The topology to bring up.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the topology keeps configs, databases and logs (default: a temporary one).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON summary on stdout (the service, each check, the time taken) and the"
    " demo's narrative on stderr.",
)
def demo(topology_file: Path, state_dir: Path | None, as_json: bool) -> None:
    """Bring up 4 operators on 3 levels, run a service across them, tear it all down."""
    os.environ.update(DEMO_ENVIRONMENT)
    summary: dict[str, Any] = {"topology_file": str(topology_file)}
    with tempfile.TemporaryDirectory(prefix="spfed-demo-") as scratch:
        try:
            code = asyncio.run(
                _demo(topology_file, state_dir or Path(scratch), summary, stderr=as_json)
            )
        except Exception as exc:
            if not as_json:
                raise
            code = 1
            summary["error"] = _error_json(exc)
    summary["ok"] = code == 0
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    sys.exit(code)


def _error_json(exc: Exception) -> dict[str, Any]:
    """The ``error`` member of the summary: a domain error's JSON form, else the exception."""
    from spfed.cli._render import error_json
    from spfed.errors import SpfedError
    from spfed.topology import LaunchError, TopologyFileError

    if isinstance(exc, SpfedError):
        return dict(error_json(exc)["error"])
    if isinstance(exc, TopologyFileError):
        return {"code": "INVALID_ARGUMENT", "message": "\n".join(exc.problems)}
    if isinstance(exc, LaunchError):
        return {"code": "UNAVAILABLE", "message": str(exc), "log_tail": list(exc.log_tail)}
    return {"code": "UNKNOWN", "message": f"{type(exc).__name__}: {exc}"}


async def _demo(
    topology_file: Path, state_root: Path, summary: dict[str, Any], *, stderr: bool = False
) -> int:
    from spfed.cli._render import make_console
    from spfed.topology import down, load_topology, up

    console = make_console(stderr=stderr)
    began = time.monotonic()
    topology = load_topology(topology_file)
    console.rule(f"[bold]1. spfed topology up {topology_file.name}")
    state = await asyncio.to_thread(up, topology_file, state_root)
    summary["topology"] = state.name
    summary["operators"] = [
        {"id": op.id, "level": op.level, "parents": op.parents, "address": op.address}
        for op in state.operators.values()
    ]
    try:
        _print_topology(console, topology, state)
        code = await _run(console, topology, state, summary)
    finally:
        console.rule("[bold]6. spfed topology down")
        results = await asyncio.to_thread(down, state)
        for result in results:
            console.print(f"  {result.operator:<14} {result.outcome.value}")
        summary["down"] = {r.operator: r.outcome.value for r in results}
    elapsed = time.monotonic() - began
    summary["elapsed_s"] = round(elapsed, 2)
    console.print(f"\n[bold]demo finished in {elapsed:.1f} s[/]")
    return code


async def _run(
    console: Console, topology: Topology, state: TopologyState, summary: dict[str, Any]
) -> int:
    capacities = _Capacities(topology, state)
    try:
        return await _steps(console, topology, state, capacities, summary)
    finally:
        await capacities.close()


async def _steps(
    console: Console,
    topology: Topology,
    state: TopologyState,
    capacities: _Capacities,
    summary: dict[str, Any],
) -> int:
    """The demo's steps 2 to 5; what each showed goes into ``summary`` too."""
    from spfed.cli._address_plan import print_address_plan
    from spfed.cli._render import follow, service_tree
    from spfed.client import PlatformClient
    from spfed.errors import SpfedError
    from spfed.model import Resources, ServiceState
    from spfed.topology.security import TopologySecurity

    security = TopologySecurity.under(state.directory)
    top = next(iter(state.operators.values()))
    customer = _CUSTOMER if _CUSTOMER in topology.operators[top.id].customers else ADMIN
    async with PlatformClient(
        top.address,
        node_id=top.id,
        tls=security.client_tls(),
        sign_in=security.sign_in(top.id, customer),
    ) as client:
        console.rule(f"[bold]2. What {top.id} sells (its catalogue, re-published from below)")
        _print_catalogue(console, await client.get_catalogue())
        before = await capacities.read()
        _print_capacity(console, "PoP capacity before", topology, before, before)

        console.rule(f"[bold]3. Instantiate the secure chain through {top.id}")
        try:
            op = await client.instantiate(_request())
        except SpfedError as error:
            return _failed(console, summary, error, "instantiation refused")
        console.print(f"service {op.service_id}, operation {op.id}, owned by {customer}")
        summary["service"] = {"id": op.service_id, "operation": op.id, "owner": customer}
        record = await follow(client, op.service_id, console, operation_id=op.id)
        summary["service"]["instantiated"] = record.state.value
        if record.state is not ServiceState.ACTIVE:
            return _failed(console, summary, record.error, "failed")
        summary["service"]["operators"] = _levels(record)

        console.rule("[bold]4. The service tree and its address plan")
        console.print(service_tree(record))
        _print_spread(console, record)
        plan_holds = print_address_plan(console, record)
        held = _held(record)
        expected = {pop: free - held.get(pop, Resources()) for pop, free in before.items()}
        during = await capacities.settled(expected)
        _print_capacity(console, "PoP capacity in use", topology, before, during)
        summary["checks"] = {
            "address_plan_holds": plan_holds,
            "catalogues_show_the_service": during == expected,
        }
        if during != expected:
            console.print("[red]some PoP's catalogue does not show what the service holds")
        if not plan_holds or during != expected:
            return 1

        console.rule("[bold]5. Terminate")
        term = await client.terminate(op.service_id, f"demo-terminate-{op.service_id}")
        record = await follow(client, op.service_id, console, operation_id=term.id)
        summary["service"]["terminated"] = record.state.value
        if record.state is not ServiceState.TERMINATED:
            return _failed(console, summary, record.error, "termination failed")
        after = await capacities.settled(before)
        _print_capacity(console, "PoP capacity after", topology, before, after)
        summary["checks"]["capacity_back_after_terminate"] = after == before
        if after != before:
            console.print("[red]some PoP did not get its capacity back")
            return 1
        console.print("[green]every PoP is back at its starting capacity")
    return 0


def _failed(
    console: Console, summary: dict[str, Any], error: SpfedError | ErrorStatus | None, what: str
) -> int:
    """Show why a step failed (``what`` when there is no error to show); the exit status, 1."""
    from spfed.cli._render import error_json, error_lines

    for line in error_lines(error) if error is not None else [what]:
        console.print(f"[red]{line}")
    summary["error"] = error_json(error)["error"] if error is not None else {"message": what}
    return 1


def _request() -> InstantiateRequest:
    from spfed.descriptors import load_files
    from spfed.model import DescriptorRef, InstantiateRequest, ServiceDescriptors
    from spfed.topology import load_placement

    files = load_files([EXAMPLES / "descriptors" / f for f in SERVICE_FILES], resolve=False)
    nsd = files.find_nsd(DescriptorRef("eu.spfed.demo", "secure-chain", "1.0"))
    assert nsd is not None
    return InstantiateRequest(
        request_id=f"demo-{os.getpid()}-{time.time_ns()}",
        name="secure chain for ACME",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=files.vnfds),
        placement=load_placement(EXAMPLES / "topologies" / "demo-placement.yaml"),
    )


def _held(record: ServiceRecord) -> dict[str, Resources]:
    """What the service's units hold on each PoP, over the whole tree."""
    from spfed.model import Resources

    held: dict[str, Resources] = {}
    for part in record.parts:
        for vnf in part.vnfs:
            for unit in vnf.units:
                held[vnf.pop] = held.get(vnf.pop, Resources()) + unit.resources
        if part.remote is not None:
            for pop, used in _held(part.remote).items():
                held[pop] = held.get(pop, Resources()) + used
    return held


class _Capacities:
    """Free capacity of every PoP, read from its operator's own catalogue (as its admin).

    One signed-in client per operator for the whole demo.
    """

    def __init__(self, topology: Topology, state: TopologyState) -> None:
        from spfed.client import PlatformClient
        from spfed.topology.security import TopologySecurity

        security = TopologySecurity.under(state.directory)
        tls = security.client_tls()
        self._topology = topology
        self._clients = {
            op_id: PlatformClient(
                state.operators[op_id].address,
                node_id=op_id,
                tls=tls,
                sign_in=security.sign_in(op_id),
            )
            for op_id in topology.operators
        }

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()

    async def read(self) -> dict[str, Resources]:
        out: dict[str, Resources] = {}
        for op_id, op in self._topology.operators.items():
            catalogue = await self._clients[op_id].get_catalogue()
            for pop in op.pops:
                out[pop.name] = catalogue.free_in(pop.region)
        return out

    async def settled(self, target: Mapping[str, Resources]) -> dict[str, Resources]:
        """Capacities once catalogues have caught up with ``target`` (bounded wait)."""
        current = await self.read()
        for _ in range(50):
            if current == target:
                break
            await asyncio.sleep(0.1)
            current = await self.read()
        return current


def _print_topology(console: Console, topology: Topology, state: TopologyState) -> None:
    from rich.table import Table

    table = Table(
        title=f"topology {state.name}: {len(state.operators)} operators", title_justify="left"
    )
    for column in ("operator", "level", "serves", "address", "PoPs"):
        table.add_column(column)
    for op_id, op in state.operators.items():
        pops = ", ".join(f"{p.name} ({p.region})" for p in topology.operators[op_id].pops)
        table.add_row(op_id, str(op.level), ", ".join(op.parents) or "customers", op.address, pops)
    console.print(table)


def _print_catalogue(console: Console, catalogue: Catalogue) -> None:
    from rich.table import Table

    until = f"{catalogue.valid_until:%H:%M:%S}" if catalogue.valid_until else "-"
    table = Table(
        title=f"{catalogue.publisher} catalogue, version {catalogue.version}, signed,"
        f" valid until {until} UTC",
        title_justify="left",
    )
    for column in ("offer", "kind", "regions", "per instance", "price"):
        table.add_column(column)
    for offer in catalogue.offers:
        table.add_row(
            str(offer.descriptor),
            offer.kind.value.replace("_", " "),
            ", ".join(offer.regions),
            str(offer.resources),
            str(offer.price) if offer.price else "on request",
        )
    console.print(table)
    for sla in catalogue.sla:
        console.print(
            f"  SLA {sla.region} → {sla.toward}: {sla.latency_ms} ms, {sla.bandwidth_mbps} Mbit/s"
        )


def _levels(record: ServiceRecord) -> dict[str, int]:
    """The operators a service reaches, each with its level (1: the node asked)."""
    levels: dict[str, int] = {}

    def walk(node: ServiceRecord, level: int) -> None:
        levels[node.operator] = level
        for part in node.parts:
            if part.remote is not None:
                walk(part.remote, level + 1)

    walk(record, 1)
    return levels


def _print_spread(console: Console, record: ServiceRecord) -> None:
    levels = _levels(record)
    spread = ", ".join(f"{op} (level {lvl})" for op, lvl in levels.items())
    console.print(f"[bold]{len(levels)} operators on {max(levels.values())} levels:[/] {spread}")


def _print_capacity(
    console: Console,
    title: str,
    topology: Topology,
    start: Mapping[str, Resources],
    now: Mapping[str, Resources],
) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("operator", "PoP", "free vCPU", "free MiB", "free GiB", "in use"):
        table.add_column(column)
    for op_id, op in topology.operators.items():
        for pop in op.pops:
            free, was = now[pop.name], start[pop.name]
            mark = "" if free == was else str(was - free)
            table.add_row(
                op_id, pop.name, str(free.vcpus), str(free.memory_mib), str(free.disk_gib), mark
            )
    console.print(table)
