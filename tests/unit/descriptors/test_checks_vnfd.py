"""Semantic checks of VNFDs: one violation per problem, with its exact path."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from spfed.descriptors import DescriptorError, check_vnfd, parse_document
from spfed.errors import FieldViolation
from spfed.model import ConnectivityType, VnfDescriptor
from tests.unit.descriptors import builders


def violations(document: dict[str, Any]) -> list[FieldViolation]:
    with pytest.raises(DescriptorError) as caught:
        parse_document(document)
    return list(caught.value.field_violations)


def test_valid_vnfd_has_no_violation() -> None:
    vnfd = parse_document(builders.vnfd())
    assert isinstance(vnfd, VnfDescriptor)
    assert check_vnfd(vnfd) == []


def test_misspelt_unit_id_suggests_the_right_one() -> None:
    document = builders.vnfd()
    document["virtual_links"][1]["connection_points_reference"] = ["input", "vdu1:eth1"]
    assert violations(document) == [
        FieldViolation(
            "virtual_links[1].connection_points_reference[1]",
            "unknown unit 'vdu1' (did you mean 'vdu01'?)",
        )
    ]


def test_unknown_point_of_a_unit() -> None:
    document = builders.vnfd()
    document["virtual_links"][2]["connection_points_reference"] = ["vdu01:eht2", "output"]
    assert violations(document) == [
        FieldViolation(
            "virtual_links[2].connection_points_reference[0]",
            "unit 'vdu01' has no connection point 'eht2' (did you mean 'eth2'?)",
        )
    ]


def test_unknown_own_point() -> None:
    document = builders.vnfd()
    document["virtual_links"][0]["connection_points_reference"] = ["vdu01:eth0", "mgmnt"]
    assert violations(document) == [
        FieldViolation(
            "connection_points[0]", "connection point 'mgmt' is not attached to any virtual link"
        ),
        FieldViolation(
            "virtual_links[0].connection_points_reference[1]",
            "unknown connection point 'mgmnt' (did you mean 'mgmt'?)",
        ),
    ]


def test_no_suggestion_when_nothing_is_close() -> None:
    document = builders.vnfd()
    document["virtual_links"][1]["connection_points_reference"] = ["input", "zz:eth1"]
    assert violations(document)[0].description == "unknown unit 'zz'"


def test_e_line_joins_exactly_two_points() -> None:
    document = builders.vnfd()
    document["virtual_links"][1]["connection_points_reference"] = [
        "input",
        "vdu01:eth1",
        "vdu01:eth2",
    ]
    assert violations(document) == [
        FieldViolation(
            "virtual_links[1].connection_points_reference",
            "an E-Line link joins exactly 2 connection points, not 3",
        )
    ]


def test_own_point_not_on_any_link() -> None:
    document = builders.vnfd()
    document["connection_points"].append({"id": "backup", "interface": "ipv4", "type": "external"})
    assert violations(document) == [
        FieldViolation(
            "connection_points[3]", "connection point 'backup' is not attached to any virtual link"
        )
    ]


def test_duplicate_ids() -> None:
    document = builders.vnfd()
    unit = document["virtual_deployment_units"][0]
    unit["connection_points"][2]["id"] = "eth0"
    document["virtual_deployment_units"].append(dict(unit, connection_points=[]))
    document["connection_points"][2]["id"] = "input"
    document["virtual_links"][2]["id"] = "input"
    document["virtual_links"][2]["connection_points_reference"] = ["vdu01:eth0", "input"]
    document["virtual_links"][2]["connectivity_type"] = "E-LAN"
    assert violations(document) == [
        FieldViolation(
            "virtual_deployment_units[0].connection_points[2].id",
            "duplicate connection point id 'eth0'"
            " (also virtual_deployment_units[0].connection_points[0].id)",
        ),
        FieldViolation(
            "virtual_deployment_units[1].id",
            "duplicate unit id 'vdu01' (also virtual_deployment_units[0].id)",
        ),
        FieldViolation(
            "connection_points[2].id",
            "duplicate connection point id 'input' (also connection_points[1].id)",
        ),
        FieldViolation(
            "virtual_links[2].id", "duplicate link id 'input' (also virtual_links[1].id)"
        ),
    ]


def test_unit_ids_are_unique_across_unit_kinds() -> None:
    document = builders.vnfd()
    document["physical_deployment_units"] = [{"id": "vdu01", "address": "10.0.0.1", "port": 22}]
    assert violations(document) == [
        FieldViolation(
            "physical_deployment_units[0].id",
            "duplicate unit id 'vdu01' (also virtual_deployment_units[0].id)",
        )
    ]


def test_api_paths_name_deployment_units() -> None:
    vnfd = parse_document(builders.vnfd())
    assert isinstance(vnfd, VnfDescriptor)
    twice = dataclasses.replace(vnfd, deployment_units=vnfd.deployment_units * 2)
    assert check_vnfd(twice, paths="api") == [
        FieldViolation(
            "deployment_units[1].id", "duplicate unit id 'vdu01' (also deployment_units[0].id)"
        )
    ]


def test_link_with_a_single_point_from_the_api() -> None:
    vnfd = parse_document(builders.vnfd())
    assert isinstance(vnfd, VnfDescriptor)
    lonely = dataclasses.replace(
        vnfd.virtual_links[0],
        connectivity_type=ConnectivityType.E_LAN,
        connection_points_reference=("mgmt",),
    )
    broken = dataclasses.replace(vnfd, virtual_links=(lonely, *vnfd.virtual_links[1:]))
    assert check_vnfd(broken) == [
        FieldViolation(
            "virtual_links[0].connection_points_reference",
            "a link joins at least 2 connection points, not 1",
        )
    ]
