"""``spfed demo-dataplane``: an end-to-end slice across three operators, with real packets.

Needs root.

1. ``spfed topology up examples/topologies/dataplane.yaml``: three operators on
   two levels with ``dataplane: netns``: VNFs in network namespaces, WANs of
   VXLAN segments between gateway namespaces, a border gateway per neighbour.
2. Create the slice ``examples/slices/nst-three-operators.yml`` through
   retail: a firewall service (placed at retail), a DPI service (wholesale-us)
   and a NAT service (wholesale-eu), joined by two slice links, with the
   customer's ingress NAP on the firewall and egress NAP on the NAT.
3. Plug the customer in: a namespace on each NAP. Send ICMP and UDP from the
   ingress namespace to the egress address, and trace the route: every
   function answers, in order, each at its own operator.
4. Delete the slice, unplug the customer, ``spfed topology down`` (which
   removes the data plane), and check that nothing of it is left.

With ``--json`` the narrative goes to stderr and stdout gets one JSON summary:
the slice, the packets (ICMP, the route, UDP), what was left behind, ``ok``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from spfed.cli._examples import EXAMPLES

if TYPE_CHECKING:
    from rich.console import Console

    from spfed.client import PlatformClient
    from spfed.model import CreateSliceRequest, ServiceRecord, SliceRecord
    from spfed.topology import TopologyState
    from spfed.topology.access import CustomerAccess

__all__ = ["demo_dataplane"]

SLICE = EXAMPLES / "slices" / "nst-three-operators.yml"
SLICE_FILES = (
    EXAMPLES / "slices" / "nsd-fw-hop.yml",
    EXAMPLES / "slices" / "nsd-dpi-hop.yml",
    EXAMPLES / "slices" / "nsd-nat-hop.yml",
    EXAMPLES / "descriptors" / "vnfd-firewall.yml",
    EXAMPLES / "descriptors" / "vnfd-dpi.yml",
    EXAMPLES / "descriptors" / "vnfd-legacy-nat.yml",
)
PLACEMENT = {"fw": "nl", "dpi": "us", "nat": "de"}
"""Region of each subnet's service."""
INGRESS = ("nl", "192.0.2.10")
EGRESS = ("de", "198.51.100.20")
SETTLE_POLLS = 600
"""Polls of 0.1 s while the slice is CREATING or DELETING."""
UDP_PORT = 40_000
_CUSTOMER = "acme"


@click.command("demo-dataplane")
@click.option(
    "--topology",
    "topology_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=EXAMPLES / "topologies" / "dataplane.yaml",
    show_default=True,
    help="A topology with `dataplane: netns`.",
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
    help="Print a JSON summary on stdout (the slice, the packets, what was left) and the"
    " demo's narrative on stderr.",
)
def demo_dataplane(topology_file: Path, state_dir: Path | None, as_json: bool) -> None:
    """Send real packets through a slice that spans three operators (needs root)."""
    if os.geteuid() != 0:
        message = (
            "spfed demo-dataplane needs root: it builds network namespaces, veth pairs and"
            " VXLAN tunnels (try: sudo make demo-dataplane)"
        )
        click.echo(message, err=True)
        if as_json:
            click.echo(json.dumps({"error": {"code": "PERMISSION_DENIED", "message": message}}))
        sys.exit(2)
    summary: dict[str, Any] = {"topology_file": str(topology_file)}
    with tempfile.TemporaryDirectory(prefix="spfed-dataplane-") as scratch:
        code = asyncio.run(_demo(topology_file, state_dir or Path(scratch), summary, as_json))
    summary["ok"] = code == 0
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    sys.exit(code)


async def _demo(
    topology_file: Path, state_root: Path, summary: dict[str, Any], stderr: bool = False
) -> int:
    from spfed.cli._render import make_console
    from spfed.netns import inventory
    from spfed.topology import down, load_topology, up
    from spfed.topology.dataplane import netns_prefix

    console = make_console(stderr=stderr)
    began = time.monotonic()
    topology = load_topology(topology_file)
    if topology.dataplane != "netns":
        console.print(f"[red]{topology_file} has no `dataplane: netns`")
        summary["error"] = {"message": f"{topology_file} has no `dataplane: netns`"}
        return 2
    prefix = netns_prefix(topology.name)
    console.rule(f"[bold]1. spfed topology up {topology_file.name} (data plane: netns)")
    state = await asyncio.to_thread(up, topology_file, state_root)
    summary["topology"] = state.name
    summary["operators"] = {op_id: op.address for op_id, op in state.operators.items()}
    try:
        for op_id, op in state.operators.items():
            console.print(f"  {op_id:<14} level {op.level}  {op.address}")
        code = await _steps(console, state, prefix, summary)
    finally:
        console.rule("[bold]5. spfed topology down")
        for result in await asyncio.to_thread(down, state):
            console.print(f"  {result.operator:<14} {result.outcome.value}")
    left = await inventory(prefix)
    summary["left_behind"] = "" if left.empty else str(left)
    if left.empty:
        console.print(f"[green]no namespace or link of {prefix} is left")
    else:
        console.print(f"[red]left behind: {left}")
        code = code or 1
    elapsed = time.monotonic() - began
    summary["elapsed_s"] = round(elapsed, 2)
    console.print(f"\n[bold]demo finished in {elapsed:.1f} s[/]")
    return code


async def _steps(
    console: Console, state: TopologyState, prefix: str, summary: dict[str, Any]
) -> int:
    from spfed.cli._address_plan import print_address_plan
    from spfed.cli._render import error_lines, service_tree
    from spfed.cli.slice import slice_lines
    from spfed.client import PlatformClient
    from spfed.model import SliceState
    from spfed.netns import Fabric
    from spfed.topology.access import attach_customer, detach_customer
    from spfed.topology.security import TopologySecurity

    security = TopologySecurity.under(state.directory)
    top = next(iter(state.operators.values()))
    fabric = Fabric(prefix)
    async with PlatformClient(
        top.address,
        node_id=top.id,
        tls=security.client_tls(),
        sign_in=security.sign_in(top.id, _CUSTOMER),
    ) as client:
        console.rule(f"[bold]2. Create the slice {SLICE.name} through {top.id}")
        created = await client.create_slice(_request())
        made = await _settled(client, created.id)
        console.print("\n".join(slice_lines(made)))
        summary["slice"] = {"id": made.id, "created": made.state.value}
        if made.state is not SliceState.ACTIVE:
            for line in error_lines(made.error) if made.error else ["failed"]:
                console.print(f"[red]{line}")
            return 1
        services = [await client.get_service(s.service_id) for s in made.subnets]
        for record in services:
            console.print(service_tree(record))
            if not print_address_plan(console, record):
                return 1

        console.rule("[bold]3. Real packets: the customer's ingress to its egress")
        accesses = [a for record in services for a in await attach_customer(fabric, record)]
        try:
            code = await _probe(console, services, accesses, summary)
        finally:
            await detach_customer(fabric, accesses)

        console.rule("[bold]4. Delete the slice")
        await client.delete_slice(made.id)
        gone = await _settled(client, made.id)
        console.print("\n".join(slice_lines(gone)))
        summary["slice"]["deleted"] = gone.state.value
        if gone.state is not SliceState.DELETED:
            return 1
    return code


async def _settled(client: PlatformClient, slice_id: str) -> SliceRecord:
    """The slice once it is no longer CREATING or DELETING (bounded)."""
    from spfed.model import SliceState

    record = await client.get_slice(slice_id)
    for _ in range(SETTLE_POLLS):
        if record.state not in (SliceState.CREATING, SliceState.DELETING):
            break
        await asyncio.sleep(0.1)
        record = await client.get_slice(slice_id)
    return record


async def _probe(
    console: Console,
    services: list[ServiceRecord],
    accesses: list[CustomerAccess],
    summary: dict[str, Any],
) -> int:
    from spfed.netns import ping, trace, udp_probe

    ingress = next((a for a in accesses if a.address == INGRESS[1]), None)
    egress = next((a for a in accesses if a.address == EGRESS[1]), None)
    if ingress is None or egress is None:
        console.print("[red]the customer's NAPs are not where the plan says")
        return 1
    console.print(
        f"customer ingress {ingress.address} (namespace {ingress.namespace.name}),"
        f" egress {egress.address} (namespace {egress.namespace.name})"
    )
    owners = {a: who for record in services for a, who in _port_owners(record)}
    pinged = await ping(ingress.namespace.name, egress.address, count=3, timeout_s=2.0)
    console.print(f"ICMP echo {ingress.address} → {egress.address}: {pinged.received}/3 answered")
    traced = await trace(ingress.namespace.name, egress.address, max_hops=8, timeout_s=2.0)
    console.print("route, hop by hop (each function answers from its upstream port):")
    for ttl, router in enumerate(traced.routers, start=1):
        who = owners.get(router or "", ("?", "?"))
        console.print(f"  {ttl}  {router or '*':<16} {who[1]:<10} at {who[0]}")
    console.print(f"  {len(traced.routers) + 1}  {egress.address:<16} the customer's egress")
    udp = await udp_probe(ingress.namespace.name, egress.namespace.name, egress.address, UDP_PORT)
    console.print(f"UDP {ingress.address} → {egress.address}:{UDP_PORT}: {udp.delivered}/5 arrived")
    ok = pinged.received == 3 and traced.reached and udp.delivered == 5
    summary["packets"] = {
        "icmp_answered": pinged.received,
        "route": [owners.get(r or "", ("?", "?"))[1] for r in traced.routers],
        "reached": traced.reached,
        "udp_delivered": udp.delivered,
        "in_order": ok,
    }
    console.print("[green]packets cross the chain, in order" if ok else "[red]packets were lost")
    return 0 if ok else 1


def _port_owners(record: ServiceRecord) -> Iterator[tuple[str, tuple[str, str]]]:
    """Each port address of the tree with (operator, function)."""
    for part in record.parts:
        for vnf in part.vnfs:
            for unit in vnf.units:
                for port in unit.ports:
                    if port.address:
                        address = str(ipaddress.ip_interface(port.address).ip)
                        yield address, (record.operator, vnf.vnf_id)
        if part.remote is not None:
            yield from _port_owners(part.remote)


def _request() -> CreateSliceRequest:
    import yaml

    from spfed.descriptors import load_files, parse_document
    from spfed.model import CreateSliceRequest, PlacementConstraints, SliceTemplate

    files = load_files(list(SLICE_FILES), resolve=False)
    template = parse_document(yaml.safe_load(SLICE.read_text()))
    assert isinstance(template, SliceTemplate)
    return CreateSliceRequest(
        request_id=f"demo-dataplane-{os.getpid()}-{time.time_ns()}",
        template=template,
        name="three-operator slice for ACME",
        nsds=files.nsds,
        vnfds=files.vnfds,
        placement={s: PlacementConstraints(default_region=r) for s, r in PLACEMENT.items()},
    )
