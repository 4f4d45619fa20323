"""``spfed service``: instantiate, list, show, watch and terminate services on a node.

Every command takes ``--node`` (an address, or an operator of a running
topology) and ``--json``, which prints machine-readable JSON on stdout and
nothing else. Exit status: 0 when the command did what was asked, 1 when
the node refused or the service failed (the error lines go to stderr) or
the node cannot be reached, 2 for usage errors and invalid descriptors.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import click

from spfed.cli._options import (
    NAP,
    RULE,
    call_node,
    json_option,
    node_options,
    offers_may_resolve,
    placement_from,
    recheck_with_offers,
    report_invalid,
    service_descriptors,
)

if TYPE_CHECKING:
    from rich.console import Console

    from spfed.cli._access import NodeTarget
    from spfed.client import PlatformClient
    from spfed.model import (
        Nap,
        Operation,
        PlacementRule,
        ServiceRecord,
        ServiceState,
    )

__all__ = ["service"]


@click.group("service")
def service() -> None:
    """Instantiate, list, show, watch and terminate services on a node."""


def _console() -> Console:
    from spfed.cli._render import make_console

    return make_console()


def _settled_status(record: ServiceRecord, wanted: ServiceState, *, as_json: bool) -> int:
    """Print the outcome of a followed operation; 0 when ``record`` is in ``wanted``."""
    from spfed.cli._render import error_lines, json_text, service_tree, state_text

    if as_json:
        click.echo(json_text(record))
    else:
        console = _console()
        console.print(service_tree(record))
        console.print(f"service {record.id} is ", state_text(record.state), sep="", end="\n")
    if record.error is not None:
        for line in error_lines(record.error):
            click.echo(line, err=True)
    if record.state is not wanted and record.error is None:
        click.echo(f"the watch ended with the service {record.state.value}", err=True)
    return 0 if record.state is wanted else 1


def _started(operation: Operation, node: str, *, as_json: bool) -> int:
    """``--no-wait``: say what was started and how to follow it."""
    from spfed.cli._render import json_text

    if as_json:
        click.echo(json_text(operation))
    else:
        click.echo(
            f"{operation.kind.value} operation {operation.id} started on service"
            f" {operation.service_id}\nfollow it: spfed service watch {operation.service_id}"
            f" --node {node} --until-settled"
        )
    return 0


async def _follow_operation(
    client: PlatformClient, operation: Operation, node: str, *, as_json: bool
) -> ServiceRecord:
    """Follow an operation's events to the end, showing progress unless ``as_json``."""
    import asyncio

    from spfed.cli._render import follow

    console = _console()
    try:
        if as_json:
            events = client.watch_service(operation.service_id, until_settled=True)
            async for _ in events:
                pass
            return await client.get_service(operation.service_id)
        return await follow(client, operation.service_id, console, operation_id=operation.id)
    except asyncio.CancelledError:
        click.echo(
            f"\nstopped following; the operation goes on. Follow it again with:\n"
            f"  spfed service watch {operation.service_id} --node {node} --until-settled",
            err=True,
        )
        raise


@service.command("instantiate")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    metavar="NSD_FILE [DESCRIPTOR_FILE]...",
    type=click.Path(exists=True, path_type=Path),
)
@node_options
@click.option("--nsd", metavar="VENDOR/NAME/VERSION", help="The NSD to instantiate, if several.")
@click.option("--name", default="", help="A label for the service.")
@click.option("--request-id", help="Idempotency key; reuse it to retry safely. [default: new uuid]")
@click.option(
    "--placement",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML placement file: rules: {MEMBER: {region, operator, pop}}, default_region.",
)
@click.option(
    "--rule",
    "rules",
    type=RULE,
    multiple=True,
    metavar="MEMBER=region:X[,operator:Y][,pop:Z]",
    help="Where a member may go, e.g. vnf_fw=region:nl or ns_cdn=region:be,operator:wholesale-eu;"
    " repeatable, overrides the placement file.",
)
@click.option("--default-region", metavar="REGION", help="Region of members without a rule.")
@click.option(
    "--ingress",
    "ingresses",
    type=NAP,
    multiple=True,
    help="A customer's access point, e.g. nl=192.0.2.10/32 (5GTANGO {location, nap}); the"
    " address goes on the service's first point (or @POINT), the function behind it in that"
    " region; repeatable.",
)
@click.option(
    "--egress",
    "egresses",
    type=NAP,
    multiple=True,
    help="Like --ingress, for where traffic leaves (the last point of the chain).",
)
@click.option("--ipv6", is_flag=True, help="Plan the service's addresses in IPv6.")
@json_option
@click.option("--no-wait", is_flag=True, help="Return once the node admitted the request.")
def instantiate(
    files: tuple[Path, ...],
    node: NodeTarget,
    nsd: str | None,
    name: str,
    request_id: str | None,
    placement: Path | None,
    rules: tuple[tuple[str, PlacementRule], ...],
    default_region: str | None,
    ingresses: tuple[Nap, ...],
    egresses: tuple[Nap, ...],
    ipv6: bool,
    as_json: bool,
    no_wait: bool,
) -> None:
    """Instantiate a service from descriptor files.

    NSD_FILE holds the NSD to instantiate (or --nsd picks one among the
    files); every VNFD among the files is sent, and the other NSDs go as
    nested services. Every file is validated first, as by spfed validate,
    except that a function or nested service none of the files define may
    be one the node offers; any problem is printed and nothing is sent
    (exit 2). The request id (printed) makes a retry safe: run again with
    --request-id to resume following the same service.

    Shows the progress of every operator involved, then the service tree.
    Exits 0 when the service is ACTIVE, 1 when it FAILED.
    """
    from spfed.descriptors import validate_files
    from spfed.model import AddressConstraints, InstantiateRequest, ServiceState

    report = validate_files(files)
    if not report.ok and not offers_may_resolve(report):
        raise SystemExit(report_invalid(report, as_json=as_json))
    descriptors = service_descriptors(report, files, nsd)
    request = InstantiateRequest(
        request_id=request_id or str(uuid.uuid4()),
        name=name,
        descriptors=descriptors,
        placement=placement_from(placement, rules, default_region),
        addressing=AddressConstraints(
            ingresses=ingresses, egresses=egresses, ip_version=6 if ipv6 else 0
        ),
    )

    async def work(client: PlatformClient) -> int:
        if not report.ok:  # members none of the files define: does the node offer them?
            rechecked = recheck_with_offers(report, await client.get_catalogue())
            if not rechecked.ok:
                return report_invalid(rechecked, as_json=as_json)
        if not as_json:  # said before sending: if the answer is lost, the id makes a retry safe
            ref, rid = descriptors.nsd.ref, request.request_id
            click.echo(f"instantiating {ref} on {node.node}, request id {rid}")
        operation = await client.instantiate(request)
        if no_wait:
            return _started(operation, node.node, as_json=as_json)
        record = await _follow_operation(client, operation, node.node, as_json=as_json)
        return _settled_status(record, ServiceState.ACTIVE, as_json=as_json)

    call_node(node, work, as_json=as_json, error_extra={"request_id": request.request_id})


async def _with_parts(client: PlatformClient, records: list[ServiceRecord]) -> list[ServiceRecord]:
    """The records with their parts: a listing leaves them out, so read each service."""
    import asyncio

    from spfed.errors import NotFound

    limit = asyncio.Semaphore(8)

    async def full(record: ServiceRecord) -> ServiceRecord:
        async with limit:
            try:
                return await client.get_service(record.id)
            except NotFound:  # gone since the listing
                return record

    return list(await asyncio.gather(*(full(r) for r in records)))


@service.command("list")
@node_options
@click.option("--all", "include_inactive", is_flag=True, help="Include terminated services.")
@json_option
def list_services(node: NodeTarget, include_inactive: bool, as_json: bool) -> None:
    """List the node's services, newest first.

    One row per service: id, name, descriptor, state, created, parts.
    Terminated services only with --all.
    """

    async def work(client: PlatformClient) -> int:
        from spfed.cli._render import json_text, services_table

        records = await client.list_services(include_inactive=include_inactive)
        if as_json:
            click.echo(json_text(records))
        elif not records:
            click.echo("no services" if include_inactive else "no active services (--all for all)")
        else:
            _console().print(services_table(await _with_parts(client, records)))
        return 0

    call_node(node, work, as_json=as_json)


@service.command("show")
@click.argument("service_id")
@node_options
@json_option
def show(service_id: str, node: NodeTarget, as_json: bool) -> None:
    """Show a service as a tree across every operator it reaches, and its address plan.

    Each operator shows its state and address space; each part its PoP or
    lower SP, members and address constraints; each VNF its units and ports.
    The address plan lists every interface (address, VNI, MAC, port id and
    the operator that chose them), sorted by link, and checks it end to end.
    """

    async def work(client: PlatformClient) -> int:
        from spfed.cli._address_plan import print_address_plan
        from spfed.cli._render import error_lines, json_text, service_tree

        record = await client.get_service(service_id)
        if as_json:
            click.echo(json_text(record))
        else:
            console = _console()
            console.print(service_tree(record))
            print_address_plan(console, record)
            if record.error is not None:
                for line in error_lines(record.error):
                    click.echo(line, err=True)
        return 0

    call_node(node, work, as_json=as_json)


@service.command("watch")
@click.argument("service_id")
@node_options
@click.option(
    "--after",
    "after",
    type=click.IntRange(min=0),
    default=0,
    metavar="SEQ",
    help="Only events after this sequence number.",
)
@click.option("--until-settled", is_flag=True, help="End once the service is settled at the node.")
@json_option
def watch(
    service_id: str,
    node: NodeTarget,
    after: int,
    until_settled: bool,
    as_json: bool,
) -> None:
    """Stream a service's lifecycle events.

    Events come from every operator below the node too: one line per event
    (sequence, time, operator path, what happened), or one JSON object per
    line with --json. Runs until Ctrl-C, or with --until-settled until the
    service is ACTIVE, TERMINATED or FAILED.
    """

    async def work(client: PlatformClient) -> int:
        from spfed.cli._render import event_line, json_text

        console = _console()
        events = client.watch_service(service_id, after=after, until_settled=until_settled)
        async for event in events:
            if as_json:
                click.echo(json_text(event, indent=None))
            else:
                console.print(event_line(event), soft_wrap=True)
        return 0

    call_node(node, work, as_json=as_json, on_interrupt=0)


@service.command("terminate")
@click.argument("service_id")
@node_options
@click.option("--request-id", default="", help="Idempotency key of the termination.")
@json_option
@click.option("--no-wait", is_flag=True, help="Return once the node accepted the termination.")
def terminate(
    service_id: str,
    node: NodeTarget,
    request_id: str,
    as_json: bool,
    no_wait: bool,
) -> None:
    """Terminate a service everywhere it runs.

    Shows the progress of every operator involved, then the tree. Exits 0
    when the service is TERMINATED, 1 otherwise.
    """
    from spfed.model import ServiceState

    async def work(client: PlatformClient) -> int:
        operation = await client.terminate(service_id, request_id)
        if no_wait:
            return _started(operation, node.node, as_json=as_json)
        record = await _follow_operation(client, operation, node.node, as_json=as_json)
        return _settled_status(record, ServiceState.TERMINATED, as_json=as_json)

    call_node(node, work, as_json=as_json)
