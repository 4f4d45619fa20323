"""Placement files: YAML in, ``PlacementConstraints`` out, one exact line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spfed.model import PlacementConstraints, PlacementRule
from spfed.topology import PlacementFileError, load_placement, parse_placement
from tests.unit.topology.builders import DEMO_PLACEMENT


def problems(data: Any) -> list[str]:
    with pytest.raises(PlacementFileError) as caught:
        parse_placement(data, source="p.yaml")
    return list(caught.value.problems)


def test_the_demo_placement() -> None:
    assert load_placement(DEMO_PLACEMENT) == PlacementConstraints(
        rules={
            "vnf_fw": PlacementRule(region="nl"),
            "vnf_dpi": PlacementRule(region="us"),
            "vnf_nat": PlacementRule(region="de"),
            "ns_cdn": PlacementRule(region="be"),
        },
        default_region="nl",
    )


def test_operators_pops_and_nested_members() -> None:
    data = {
        "rules": {
            "vnf_nat": {"operator": "wholesale-eu"},
            "vnf_fw": {"pop": "ams", "operator": "local"},
            "ns_cdn/vnf_cache": {"region": "be", "operator": "edge-be"},
        }
    }
    assert parse_placement(data) == PlacementConstraints(
        rules={
            "vnf_nat": PlacementRule(operator="wholesale-eu"),
            "vnf_fw": PlacementRule(operator="local", pop="ams"),
            "ns_cdn/vnf_cache": PlacementRule(region="be", operator="edge-be"),
        }
    )


def test_empty_means_no_constraints() -> None:
    assert parse_placement(None) == PlacementConstraints()
    assert parse_placement({}) == PlacementConstraints()


def test_shape_problems() -> None:
    assert problems({"rules": {"vnf_fw": {"regoin": "nl"}}, "default": "x"}) == [
        "p.yaml: rules.vnf_fw.regoin: Unexpected keyword argument",
        "p.yaml: default: Unexpected keyword argument",
    ]
    assert problems({"rules": {"vnf_fw": "nl"}}) == [
        "p.yaml: rules.vnf_fw: Input should be a mapping"
    ]
    assert problems({"rules": {"vnf fw": {"region": "nl"}}}) == [
        "p.yaml: rules.vnf fw: invalid member id: String should match pattern"
        " '^[A-Za-z0-9][A-Za-z0-9\\-_.:/]*$'"
    ]
    assert problems(["vnf_fw"]) == ["p.yaml: the top level must be a mapping"]


def test_rule_problems() -> None:
    data = {"rules": {"vnf_fw": {}, "vnf_dpi": {"pop": "nyc", "operator": "wholesale-us"}}}
    assert problems(data) == [
        "p.yaml: rules.vnf_fw: give at least one of region, operator, pop",
        "p.yaml: rules.vnf_dpi.pop: a PoP pin is a PoP of the receiving node;"
        " it needs operator '' or 'local', not 'wholesale-us'",
    ]


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  vnf_fw: {region: nl\n")
    with pytest.raises(PlacementFileError) as caught:
        load_placement(path)
    (line,) = caught.value.problems
    assert line.startswith(f"{path}: invalid YAML at line 3, column 1: ")
    path.write_text("rules: {vnf_fw: {region: nl}, vnf_fw: {region: de}}\n")
    with pytest.raises(PlacementFileError) as caught:
        load_placement(path)
    assert caught.value.problems == (
        f"{path}: invalid YAML at line 1, column 31: key 'vnf_fw' appears twice",
    )
