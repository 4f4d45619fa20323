"""A catalogue as a supplier information note: Markdown and rich tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from spfed.cli.catalogue import catalogue_markdown, catalogue_renderables
from tests.unit.cli import records


def test_markdown_note() -> None:
    assert catalogue_markdown(records.catalogue()) == "\n".join(
        [
            "# Supplier information note: wholesale-eu",
            "",
            "- **Publisher:** wholesale-eu",
            "- **Catalogue version:** 7",
            "- **Issued:** 2026-03-01 09:30:00 UTC",
            "- **Valid until:** 2026-03-01 09:35:00 UTC",
            "- **Border points:** de-cix (de)",
            "- **WIM services:** E-Line",
            "- **Address constraints:** prefix, subnet, gateway",
            "",
            "## Offers",
            "",
            "| Kind | Offer | Regions | Per instance | Price | Connection points |",
            "|---|---|---|---|---|---|",
            "| network function | eu.spfed.demo/nat/1.0 | de | 1 vCPU, 489 MiB, 5 GiB"
            " | 0.04 EUR/h | mgmt (management), input (external) |",
            "| network service | eu.spfed.demo/edge-cdn/1.0 | be | 3 vCPU, 4608 MiB, 49 GiB"
            " | on request | mgmt (management), input (external) |",
            "",
            "## Capacity by region",
            "",
            "| Region | PoPs | Total | Free | vCPU used |",
            "|---|---|---|---|---|",
            "| be | 2 | 4 vCPU, 8192 MiB, 100 GiB | 4 vCPU, 8192 MiB, 100 GiB | 0% |",
            "| de | 1 | 8 vCPU, 16384 MiB, 200 GiB | 7 vCPU, 15895 MiB, 195 GiB | 12% |",
            "",
            "## SLA toward regions",
            "",
            "| From | Toward | Latency | Bandwidth |",
            "|---|---|---|---|",
            "| de | nl | 8 ms | 10000 Mbit/s |",
        ]
    )


def test_markdown_of_an_empty_catalogue() -> None:
    empty = replace(records.catalogue(), offers=(), regions=(), sla=())
    text = catalogue_markdown(empty)
    assert "## Offers\n\nNone.\n" in text
    assert text.endswith("## Capacity by region\n\nNo region.")


def test_table_note_has_header_offers_and_capacity(render: Callable[..., str]) -> None:
    text = render(*catalogue_renderables(records.catalogue()))
    lines = text.splitlines()
    assert lines[:8] == [
        "Supplier information note",
        "Publisher            wholesale-eu",
        "Catalogue version    7",
        "Issued               2026-03-01 09:30:00 UTC",
        "Valid until          2026-03-01 09:35:00 UTC",
        "Border points        de-cix (de)",
        "WIM services         E-Line",
        "Address constraints  prefix, subnet, gateway",
    ]
    nat = next(line for line in lines if "eu.spfed.demo/nat/1.0" in line)
    assert [cell.strip() for cell in nat.split("│")[1:-1]] == [
        "network function",
        "eu.spfed.demo/nat/1.0",
        "de",
        "1 vCPU, 489 MiB, 5 GiB",
        "0.04 EUR/h",
        "mgmt (management), input (external)",
    ]
    de = next(line for line in lines if line.startswith("│ de ") and "vCPU" in line)
    assert [cell.strip() for cell in de.split("│")[1:-1]] == [
        "de",
        "1",
        "8 vCPU, 16384 MiB, 200 GiB",
        "7 vCPU, 15895 MiB, 195 GiB",
        "12%",
    ]
    assert any(
        line.split() == ["│", "de", "│", "nl", "│", "8", "ms", "│", "10000", "Mbit/s", "│"]
        for line in lines
    )


def test_table_note_of_an_empty_catalogue(render: Callable[..., str]) -> None:
    empty = replace(records.catalogue(), offers=(), regions=())
    text = render(*catalogue_renderables(empty))
    assert "Offers: none" in text
    assert "Capacity: no region" in text
