"""``spfed slice``: create, list, show and delete network slices at a node.

``create`` sends a slice template (NST) with the NSDs and VNFDs of the files
given, and by default follows the slice until it is ACTIVE or FAILED.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from spfed.cli._options import (
    call_node,
    json_option,
    node_options,
    offers_may_resolve,
    report_invalid,
)

if TYPE_CHECKING:
    from spfed.cli._access import NodeTarget
    from spfed.client import PlatformClient
    from spfed.model import PlacementConstraints, SliceRecord

__all__ = ["slice_group", "slice_lines"]

_BUSY = ("CREATING", "DELETING")
_POLL_S = 0.2
_WAIT_S = 600.0
"""How long ``create`` and ``delete`` follow a slice before they return it as it is."""


@click.group("slice")
def slice_group() -> None:
    """Create, list, show and delete network slices."""


def _placement(file: Path | None) -> dict[str, PlacementConstraints]:
    """Per-subnet placement from a YAML file: {SUBNET: {rules: {...}, default_region}}."""
    import yaml

    from spfed.bounded_yaml import load_yaml, read_limited
    from spfed.model.limits import DescriptorLimits
    from spfed.topology.errors import PlacementFileError
    from spfed.topology.placement import parse_placement

    if file is None:
        return {}
    try:
        data: Any = load_yaml(read_limited(file, DescriptorLimits()), DescriptorLimits()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        # One line: PyYAML's own message spans several.
        raise click.BadParameter(
            f"{file}: {' '.join(str(exc).split())}", param_hint="'--placement'"
        ) from exc
    if not isinstance(data, dict):
        raise click.BadParameter("a mapping of subnet id to placement", param_hint="'--placement'")
    try:
        return {str(k): parse_placement(v, source=f"{file}: {k}") for k, v in data.items()}
    except PlacementFileError as exc:
        raise click.BadParameter(str(exc), param_hint="'--placement'") from exc


def slice_lines(record: SliceRecord) -> list[str]:
    """A slice as text: its subnets and services, its links with address, VNI and WAN."""
    from spfed.cli._render import error_lines

    out = [
        f"slice {record.id}  {record.name}  {record.template}  {record.state.value}",
        f"  owner {record.owner}, created {record.create_time:%Y-%m-%d %H:%M:%S}",
    ]
    for s in record.subnets:
        shared = " (shared)" if s.shared else ""
        out.append(f"  subnet {s.subnet_id}: {s.nsd} service {s.service_id or '-'}{shared}")
    for link in record.links:
        points = ", ".join(f"{p.subnet_ref}:{p.nsd_cp_ref} {p.ip_address}" for p in link.points)
        wan = f" wan {', '.join(link.connectivity_ids)}" if link.connectivity_ids else ""
        out.append(f"  link {link.id}: {link.subnet or '-'} vni {link.vni} [{points}]{wan}")
    if record.error is not None:
        out += [f"  {line}" for line in error_lines(record.error)]
    return out


def _show(record: SliceRecord, *, as_json: bool) -> None:
    from spfed.cli._render import json_text

    click.echo(json_text(record) if as_json else "\n".join(slice_lines(record)))


async def _until_settled(
    client: PlatformClient, slice_id: str, timeout_s: float = _WAIT_S
) -> SliceRecord:
    """The slice once it is no longer CREATING or DELETING, or as it is after
    ``timeout_s`` (the node goes on; ``spfed slice show`` tells later)."""
    record = await client.get_slice(slice_id)
    for _ in range(int(timeout_s / _POLL_S)):
        if record.state.value not in _BUSY:
            break
        await asyncio.sleep(_POLL_S)
        record = await client.get_slice(slice_id)
    return record


@slice_group.command("create")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    metavar="NST_FILE [DESCRIPTOR_FILE]...",
    type=click.Path(exists=True, path_type=Path),
)
@node_options
@click.option("--name", default="", help="A label for the slice.")
@click.option("--request-id", help="Idempotency key; reuse it to retry safely. [default: new uuid]")
@click.option(
    "--placement",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML file: {SUBNET: {rules: {MEMBER: {region, operator, pop}}, default_region}}.",
)
@json_option
@click.option("--no-wait", is_flag=True, help="Return once the node accepted the slice.")
def create(
    files: tuple[Path, ...],
    node: NodeTarget,
    name: str,
    request_id: str | None,
    placement: Path | None,
    as_json: bool,
    no_wait: bool,
) -> None:
    """Create a slice from a template (NST) and the NSDs and VNFDs it needs.

    Every file is validated first, as by spfed validate; exactly one must be
    an NST. Exits 0 when the slice is ACTIVE (or accepted, with --no-wait),
    1 when it FAILED or is still being created after 10 minutes.
    """
    from spfed.descriptors import validate_files
    from spfed.model import CreateSliceRequest

    report = validate_files(files)
    if not report.ok and not offers_may_resolve(report):
        raise SystemExit(report_invalid(report, as_json=as_json))
    found = report.descriptor_set
    if len(found.slices) != 1:
        raise click.UsageError(f"give exactly one slice template (NST); found {len(found.slices)}")
    request = CreateSliceRequest(
        request_id=request_id or str(uuid.uuid4()),
        template=found.slices[0],
        name=name,
        nsds=found.nsds,
        vnfds=found.vnfds,
        placement=_placement(placement),
    )

    async def work(client: PlatformClient) -> int:
        record = await client.create_slice(request)
        if not as_json:
            click.echo(
                f"creating slice {record.id} on {node.node}, request id {request.request_id}"
            )
        if not no_wait:
            record = await _until_settled(client, record.id)
        _show(record, as_json=as_json)
        still = record.state.value == "CREATING" and not no_wait  # followed for 10 minutes
        return 1 if record.state.value == "FAILED" or still else 0

    call_node(node, work, as_json=as_json, error_extra={"request_id": request.request_id})


@slice_group.command("list")
@node_options
@click.option("--all", "include_inactive", is_flag=True, help="Include deleted and failed slices.")
@json_option
def list_slices(node: NodeTarget, include_inactive: bool, as_json: bool) -> None:
    """List the node's slices, newest first."""

    async def work(client: PlatformClient) -> int:
        from spfed.cli._render import json_text

        records = await client.list_slices(include_inactive=include_inactive)
        if as_json:
            click.echo(json_text(records))
        elif not records:
            click.echo("no slices" if include_inactive else "no active slices (--all for all)")
        for r in [] if as_json else records:
            click.echo(f"{r.id}  {r.name}  {r.template}  {r.state.value}")
        return 0

    call_node(node, work, as_json=as_json)


@slice_group.command("show")
@click.argument("slice_id")
@node_options
@json_option
def show(slice_id: str, node: NodeTarget, as_json: bool) -> None:
    """Show one slice: its subnets' services and its links."""

    async def work(client: PlatformClient) -> int:
        _show(await client.get_slice(slice_id), as_json=as_json)
        return 0

    call_node(node, work, as_json=as_json)


@slice_group.command("delete")
@click.argument("slice_id")
@node_options
@json_option
@click.option("--no-wait", is_flag=True, help="Return once the node started deleting.")
def delete(slice_id: str, node: NodeTarget, as_json: bool, no_wait: bool) -> None:
    """Delete a slice: its links, and the services no other slice holds (idempotent)."""

    async def work(client: PlatformClient) -> int:
        record = await client.delete_slice(slice_id)
        if not no_wait:
            record = await _until_settled(client, slice_id)
        _show(record, as_json=as_json)
        return 0 if record.state.value in ("DELETED", "DELETING") else 1

    call_node(node, work, as_json=as_json)
