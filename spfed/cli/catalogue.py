"""``spfed catalogue``: a node's published catalogue, as a supplier information note.

The note says who publishes (the node), which version, when, and until when
it is valid; what it offers (functions and services: identity, regions,
resources and price per instance, connection points); how much capacity each
region has left and how many PoPs it stands for; the SLA figures toward other
regions; border attachment points, WIM services and the address-constraint
kinds the node honours. ``table`` is for people, ``markdown`` for documents
and tickets, ``json`` for scripts.

``spfed catalogue withdraw|restore KIND VENDOR/NAME/VERSION`` is for the
node's operator: a withdrawn offer leaves the catalogue at once and attracts
no new request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from spfed.cli._options import call_node, json_option, node_options

if TYPE_CHECKING:
    from rich.console import RenderableType

    from spfed.cli._access import NodeTarget
    from spfed.client import PlatformClient
    from spfed.model import Catalogue, ConnectionPoint, Offer, Price

__all__ = ["catalogue", "catalogue_markdown", "catalogue_renderables"]

_FORMATS = ("table", "json", "markdown")


@click.group("catalogue")
def catalogue() -> None:
    """Show a node's published catalogue: its offers and capacity by region."""


def _kind(offer: Offer) -> str:
    return offer.kind.value.replace("_", " ")


def _points(points: tuple[ConnectionPoint, ...]) -> str:
    return ", ".join(f"{cp.id} ({cp.type.value})" for cp in points) or "-"


def _issued(cat: Catalogue) -> str:
    return cat.issue_time.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _valid(cat: Catalogue) -> str:
    if cat.valid_until is None:
        return "-"
    return cat.valid_until.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _price(price: Price | None) -> str:
    return str(price) if price is not None else "on request"


def _extras(cat: Catalogue) -> list[tuple[str, str]]:
    """The note's lines about connectivity: borders, WIM services, constraint kinds."""
    return [
        ("Border points", ", ".join(f"{b.id} ({b.region})" for b in cat.borders) or "-"),
        ("WIM services", ", ".join(s.value for s in cat.wim_services) or "-"),
        ("Address constraints", ", ".join(cat.address_constraints) or "-"),
    ]


def _used(total: int, free: int) -> str:
    return f"{100 * (total - free) / total:.0f}%" if total else "-"


def catalogue_renderables(cat: Catalogue) -> list[RenderableType]:
    """The note as rich renderables: a header, the offers table, the capacity table."""
    from rich.table import Table
    from rich.text import Text

    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("Publisher", cat.publisher)
    header.add_row("Catalogue version", str(cat.version))
    header.add_row("Issued", _issued(cat))
    header.add_row("Valid until", _valid(cat))
    for label, value in _extras(cat):
        header.add_row(label, value)
    out: list[RenderableType] = [Text("Supplier information note", style="bold underline"), header]

    offers = Table(title="Offers", title_justify="left", header_style="bold")
    for column in ("kind", "offer", "regions", "per instance", "price", "connection points"):
        offers.add_column(column)
    for offer in sorted(cat.offers, key=lambda o: (o.kind.value, o.descriptor)):
        offers.add_row(
            _kind(offer),
            str(offer.descriptor),
            ", ".join(offer.regions) or "-",
            str(offer.resources),
            _price(offer.price),
            _points(offer.connection_points),
        )
    out.append(offers if cat.offers else Text("Offers: none", style="dim"))

    regions = Table(title="Capacity by region", title_justify="left", header_style="bold")
    for column in ("region", "PoPs", "total", "free", "vCPU used"):
        regions.add_column(column, justify="right" if column == "vCPU used" else "left")
    for rc in sorted(cat.regions, key=lambda r: r.region):
        regions.add_row(
            rc.region,
            str(rc.pops),
            str(rc.total),
            str(rc.free),
            _used(rc.total.vcpus, rc.free.vcpus),
        )
    out.append(regions if cat.regions else Text("Capacity: no region", style="dim"))
    if cat.sla:
        sla = Table(title="SLA toward regions", title_justify="left", header_style="bold")
        for column in ("from", "toward", "latency", "bandwidth"):
            sla.add_column(column)
        for entry in cat.sla:
            sla.add_row(
                entry.region,
                entry.toward,
                f"{entry.latency_ms} ms",
                f"{entry.bandwidth_mbps} Mbit/s",
            )
        out.append(sla)
    return out


def _cell(value: str) -> str:
    return value.replace("|", "\\|") or "-"


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def catalogue_markdown(cat: Catalogue) -> str:
    """The note as Markdown (GitHub tables)."""
    lines = [
        f"# Supplier information note: {cat.publisher}",
        "",
        f"- **Publisher:** {cat.publisher}",
        f"- **Catalogue version:** {cat.version}",
        f"- **Issued:** {_issued(cat)}",
        f"- **Valid until:** {_valid(cat)}",
        *(f"- **{label}:** {value}" for label, value in _extras(cat)),
        "",
        "## Offers",
        "",
    ]
    offers = sorted(cat.offers, key=lambda o: (o.kind.value, o.descriptor))
    lines += (
        _table(
            ("Kind", "Offer", "Regions", "Per instance", "Price", "Connection points"),
            [
                (
                    _kind(o),
                    str(o.descriptor),
                    ", ".join(o.regions),
                    str(o.resources),
                    _price(o.price),
                    _points(o.connection_points),
                )
                for o in offers
            ],
        )
        if offers
        else ["None."]
    )
    lines += ["", "## Capacity by region", ""]
    regions = sorted(cat.regions, key=lambda r: r.region)
    lines += (
        _table(
            ("Region", "PoPs", "Total", "Free", "vCPU used"),
            [
                (
                    r.region,
                    str(r.pops),
                    str(r.total),
                    str(r.free),
                    _used(r.total.vcpus, r.free.vcpus),
                )
                for r in regions
            ],
        )
        if regions
        else ["No region."]
    )
    if cat.sla:
        lines += ["", "## SLA toward regions", ""]
        lines += _table(
            ("From", "Toward", "Latency", "Bandwidth"),
            [
                (e.region, e.toward, f"{e.latency_ms} ms", f"{e.bandwidth_mbps} Mbit/s")
                for e in cat.sla
            ],
        )
    return "\n".join(lines)


@catalogue.command("show")
@node_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="table",
    show_default=True,
    help="table for people, markdown for documents, json for scripts.",
)
@json_option
def show(node: NodeTarget, fmt: str, as_json: bool) -> None:
    """Print the node's published catalogue like a supplier information note.

    Publisher, version and issue time; every offer (kind,
    vendor/name/version, regions, resources per instance, connection points);
    capacity by region (total and free). --json is --format json.
    """
    fmt = "json" if as_json else fmt

    async def work(client: PlatformClient) -> int:
        published = await client.get_catalogue()
        if fmt == "json":
            from spfed.cli._render import json_text

            click.echo(json_text(published))
        elif fmt == "markdown":
            click.echo(catalogue_markdown(published))
        else:
            from spfed.cli._render import make_console

            console = make_console()
            for i, renderable in enumerate(catalogue_renderables(published)):
                if i > 1:  # the header and its title stay together
                    console.print()
                console.print(renderable)
        return 0

    call_node(node, work, as_json=fmt == "json")


_KINDS = {"function": "network_function", "service": "network_service"}


def _offer_change(withdraw: bool) -> click.Command:
    verb = "withdraw" if withdraw else "restore"

    @click.command(verb)
    @click.argument("kind", type=click.Choice(sorted(_KINDS)))
    @click.argument("ref", metavar="VENDOR/NAME/VERSION")
    @node_options
    @json_option
    def command(kind: str, ref: str, node: NodeTarget, as_json: bool) -> None:
        from spfed.model import DescriptorRef, OfferKind

        parts = ref.split("/")
        if len(parts) != 3 or not all(parts):
            raise click.BadParameter(f"'{ref}' is not VENDOR/NAME/VERSION", param_hint="'REF'")
        offer_kind, descriptor = OfferKind(_KINDS[kind]), DescriptorRef(*parts)

        async def work(client: PlatformClient) -> int:
            change = client.withdraw_offer if withdraw else client.restore_offer
            published = await change(offer_kind, descriptor)
            if as_json:
                from spfed.cli._render import json_text

                click.echo(json_text(published))
            else:
                listed = published.find(offer_kind, descriptor) is not None
                state = "offered" if listed else "not offered"
                click.echo(f"{kind} {ref}: {state} in version {published.version}")
            return 0

        call_node(node, work, as_json=as_json)

    command.help = (
        "Withdraw a function or service from the node's offers (operator): it leaves the"
        " catalogue and attracts no new request; running services stay."
        if withdraw
        else "Offer a withdrawn function or service again (operator)."
    )
    return command


catalogue.add_command(_offer_change(withdraw=True))
catalogue.add_command(_offer_change(withdraw=False))
