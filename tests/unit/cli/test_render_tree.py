"""``service_tree``: a service across operators, as text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from spfed.cli._render import service_tree, services_table
from tests.unit.cli import records

EXPECTED = Path(__file__).parent / "expected"
"""Renderings checked by eye, one file per case."""


def test_three_levels_with_parts_units_ports_and_constraints(render: Callable[..., str]) -> None:
    expected = (EXPECTED / "retail-tree.txt").read_text(encoding="utf-8").rstrip("\n")
    assert render(service_tree(records.retail())) == expected


def test_failed_service_shows_its_error_and_a_missing_view(render: Callable[..., str]) -> None:
    assert render(service_tree(records.failed_retail())) == "\n".join(
        [
            'retail  failed  eu.spfed.demo/secure-chain/1.0  "chain"  id svc-retail',
            "├── ✗ RESOURCE_EXHAUSTED at wholesale-eu/edge-be: no room for ns_cdn/vnf_cache",
            "│       pop:bru: 2 vCPU asked, 0 free",
            "└── delegated sp:wholesale-eu  lower SP wholesale-eu  members vnf_nat, ns_cdn",
            "    └── (no view of the sub-service from the lower SP)",
        ]
    )


def test_lower_record_shows_its_own_points_when_they_differ_from_the_part(
    render: Callable[..., str],
) -> None:
    record = records.retail()
    weu = record.parts[1]
    assert weu.remote is not None
    moved = replace(weu, remote=replace(weu.remote, constraints=records.EDGE_POINTS))
    text = render(service_tree(replace(record, parts=(record.parts[0], moved))))
    assert "    ├── constraints: dpi-2-nat → 10.0.67.0/25" in text
    assert "        ├── points: nat-2-cdn → 10.0.4.128/25" in text


def test_narrow_terminal_wraps_but_keeps_every_address(render: Callable[..., str]) -> None:
    text = render(service_tree(records.retail()), width=60)
    for address in ("10.0.64.65/24", "10.0.67.2/24", "10.0.4.129/24"):
        assert address in text


def test_services_table_has_one_row_per_service(render: Callable[..., str]) -> None:
    failed = replace(records.failed_retail(), id="svc-2", name="other")
    lines = render(services_table([records.retail(), failed])).splitlines()
    assert lines[0].split() == ["id", "name", "descriptor", "state", "created", "parts"]
    assert lines[1].split() == [
        "svc-retail",
        "chain",
        "eu.spfed.demo/secure-chain/1.0",
        "active",
        "2026-03-01",
        "09:30:00",
        "UTC",
        "pop:ams,",
        "sp:wholesale-eu",
    ]
    assert lines[2].split()[:4] == ["svc-2", "other", "eu.spfed.demo/secure-chain/1.0", "failed"]
