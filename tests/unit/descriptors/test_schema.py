"""Schema validation: spfed's own schemas, every violation with its path and a readable text."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from spfed.descriptors import DescriptorError, parse_document
from spfed.descriptors._schema import SchemaName, check_schemas, schema_violations
from spfed.errors import FieldViolation, InvalidArgument
from tests.unit.descriptors import builders


def violations(document: dict[str, Any]) -> list[FieldViolation]:
    with pytest.raises(DescriptorError) as caught:
        parse_document(document)
    return list(caught.value.field_violations)


def fields(document: dict[str, Any]) -> list[str]:
    return [v.field for v in violations(document)]


def test_schemas_are_valid_draft_2020_12() -> None:
    check_schemas()


def test_descriptor_error_is_an_invalid_argument() -> None:
    document = builders.vnfd()
    document["vendor"] = "EU"
    with pytest.raises(InvalidArgument):
        parse_document(document)


@pytest.mark.parametrize("name", list(SchemaName))
def test_builders_pass_their_schema(name: SchemaName) -> None:
    document = {"nsd": builders.nsd, "vnfd": builders.vnfd, "nst": builders.nst}[name.value]()
    assert schema_violations(document, name) == []


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    document = builders.vnfd()
    document["licences"] = []  # the NSD spelling; VNFDs have "licenses"
    assert violations(document) == [
        FieldViolation("licences", "unknown field (did you mean 'licenses'?)")
    ]


def test_every_upstream_top_level_key_is_accepted() -> None:
    nsd = builders.nsd()
    nsd.update(
        logo="logo.png",
        licences=[{"type": "public"}],
        service_specific_managers=[{"id": "ssm1", "image": "ssm:1"}],
        lifecycle_events={"start": []},
        vnf_depedency=[],
        services_depedency=[],
        monitoring_parameters=[],
        auto_scale_policy={},
        service_platforms=["SONATA"],
        testing_tags=["latency"],
        soft_constraints=[{"objective": "proximity", "involved_actors": ["a", "b"]}],
        deployment_flavours=[],
    )
    assert schema_violations(nsd, SchemaName.NSD) == []
    vnfd = builders.vnfd()
    vnfd.update(
        logo="logo.png",
        licenses=[{"type": "private", "url": "http://x"}],
        function_specific_managers=[{"id": "fsm1", "image": "fsm:1"}],
        deployment_flavours=[],
        lifecycle_events=[],
        monitoring_rules=[],
    )
    assert schema_violations(vnfd, SchemaName.VNFD) == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d.pop("descriptor_schema"), id="neither"),
        pytest.param(lambda d: d.update(descriptor_version="1.0"), id="both"),
    ],
)
def test_exactly_one_dialect_marker(change: Any) -> None:
    document = builders.vnfd()
    change(document)
    assert violations(document) == [
        FieldViolation(
            "descriptor_schema",
            "give exactly one of descriptor_schema (5GTANGO) and descriptor_version"
            " (original SONATA)",
        )
    ]


def test_vendor_name_and_version_patterns() -> None:
    document = builders.vnfd()
    document.update(vendor="Eu.Test", name="fw one", version="v1")
    got = violations(document)
    assert [v.field for v in got] == ["vendor", "name", "version"]
    assert got[0].description == (
        "'Eu.Test' is not valid: use lower-case letters, digits, '-', '_' and '.'"
    )
    assert got[2].description == "'v1' is not valid: use digits separated by '.', e.g. '1.0'"


def test_unquoted_version_is_explained() -> None:
    document = builders.vnfd()
    document["version"] = 1.0
    assert violations(document) == [
        FieldViolation("version", 'expected a string, got the number 1.0 (quote it: "1.0")')
    ]


def test_missing_required_field_is_reported_at_the_field() -> None:
    document = builders.vnfd()
    del document["virtual_deployment_units"][0]["resource_requirements"]["cpu"]["vcpus"]
    del document["virtual_links"][2]["connectivity_type"]
    assert violations(document) == [
        FieldViolation(
            "virtual_deployment_units[0].resource_requirements.cpu.vcpus", "is required"
        ),
        FieldViolation("virtual_links[2].connectivity_type", "is required"),
    ]


def test_wrong_memory_unit_lists_the_options_and_a_guess() -> None:
    document = builders.vnfd()
    document["virtual_deployment_units"][0]["resource_requirements"]["memory"]["size_unit"] = "Gb"
    assert violations(document) == [
        FieldViolation(
            "virtual_deployment_units[0].resource_requirements.memory.size_unit",
            "'Gb' is not one of B, kB, KiB, MB, MiB, GB, GiB, TB, TiB, PT, PiT"
            " (did you mean 'GB'?)",
        )
    ]


def test_every_violation_is_collected() -> None:
    document = builders.nsd()
    document["vendor"] = "EU"
    document["network_functions"][0]["vnf_version"] = "~1.0"
    document["virtual_links"][1]["connectivity_type"] = "P2P"
    document["connection_points"][0]["colour"] = "red"
    assert fields(document) == [
        "vendor",
        "network_functions[0].vnf_version",
        "connection_points[0].colour",
        "virtual_links[1].connectivity_type",
    ]


def test_external_vld_reference_is_not_supported() -> None:
    document = builders.nsd()
    document["virtual_links"].append(
        {"vl_group": "eu.test", "vl_name": "backbone", "vl_version": "1.0"}
    )
    assert violations(document) == [
        FieldViolation(
            "virtual_links[4]",
            "external VLD references (vl_group/vl_name/vl_version) are not supported; describe"
            " the link inline with id, connectivity_type and connection_points_reference",
        )
    ]


def test_external_forwarding_graph_reference_is_not_supported() -> None:
    document = builders.nsd()
    document["forwarding_graphs"] = [{"fg_group": "g", "fg_name": "n", "fg_version": "1"}]
    got = violations(document)
    assert [v.field for v in got] == ["forwarding_graphs[0]"]
    assert got[0].description.startswith("external forwarding graph references")


def test_interpreted_inner_objects_are_strict() -> None:
    document = builders.vnfd()
    document["virtual_deployment_units"][0]["flavour"] = "small"
    document["virtual_deployment_units"][0]["connection_points"][0]["vlan"] = 7
    document["virtual_links"][0]["bandwidth"] = 1
    # In document order: "flavour" was added after the unit's connection points.
    assert fields(document) == [
        "virtual_deployment_units[0].connection_points[0].vlan",
        "virtual_deployment_units[0].flavour",
        "virtual_links[0].bandwidth",
    ]


def test_link_needs_two_distinct_references() -> None:
    document = builders.vnfd()
    document["virtual_links"][0]["connection_points_reference"] = ["mgmt"]
    document["virtual_links"][1]["connection_points_reference"] = ["input", "input"]
    assert violations(document) == [
        FieldViolation(
            "virtual_links[0].connection_points_reference", "needs at least 2 items, got 1"
        ),
        FieldViolation(
            "virtual_links[1].connection_points_reference", "'input' is listed more than once"
        ),
    ]


def test_member_and_unit_ids_cannot_hold_a_colon() -> None:
    document = builders.nsd()
    document["network_functions"][0]["vnf_id"] = "vnf:fw"
    got = violations(document)
    assert got[0].field == "network_functions[0].vnf_id"
    assert "must not contain ':'" in got[0].description


def test_vnfd_needs_a_unit() -> None:
    document = builders.vnfd()
    del document["virtual_deployment_units"]
    document["descriptor_schema"] = builders.TANGO_VNFD
    assert violations(document)[0] == FieldViolation(
        "virtual_deployment_units",
        "a VNFD needs at least one of virtual_deployment_units, cloudnative_deployment_units"
        " and physical_deployment_units",
    )


def test_positive_sizes_and_vcpus() -> None:
    document = builders.vnfd()
    requirements = document["virtual_deployment_units"][0]["resource_requirements"]
    requirements["cpu"]["vcpus"] = 0
    requirements["storage"]["size"] = -1
    assert violations(document) == [
        FieldViolation(
            "virtual_deployment_units[0].resource_requirements.cpu.vcpus",
            "must be greater than 0, got 0",
        ),
        FieldViolation(
            "virtual_deployment_units[0].resource_requirements.storage.size",
            "must be greater than 0, got -1",
        ),
    ]


def test_legacy_nsd_lists_nested_services_as_strings() -> None:
    tango = builders.nsd()
    tango["network_services"] = ["eu.test:inner:0.7"]
    assert fields(tango) == ["network_services[0]"]
    legacy = builders.as_legacy(builders.nsd())
    assert fields(legacy) == ["network_services[0]"]  # an object where a string belongs


def test_nst_requires_descriptor_schema_and_rejects_unknown_keys() -> None:
    document = builders.nst()
    del document["descriptor_schema"]
    document["slice_ns_subnets"][0]["colour"] = "red"
    document["owner"] = "x"
    # In document order; a missing field sorts after the fields that are there.
    assert fields(document) == ["slice_ns_subnets[0].colour", "owner", "descriptor_schema"]


def test_unquoted_date_is_explained() -> None:
    document = builders.vnfd()
    document.update(yaml.safe_load("version: 2018-01-01"))
    assert violations(document) == [
        FieldViolation(
            "version", 'expected a string, got a date (2018-01-01) (quote it: "2018-01-01")'
        )
    ]
