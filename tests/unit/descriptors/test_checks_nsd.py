"""Semantic checks of NSDs, alone and against their members' descriptors."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from spfed.descriptors import DescriptorError, DescriptorSet, check_nsd, parse_document
from spfed.errors import FieldViolation
from spfed.model import DescriptorRef, NestedServiceRef, NetworkServiceDescriptor
from tests.unit.descriptors import builders


def nsd_of(document: dict[str, Any]) -> NetworkServiceDescriptor:
    parsed = parse_document(document)
    assert isinstance(parsed, NetworkServiceDescriptor)
    return parsed


def members() -> DescriptorSet:
    return DescriptorSet([parse_document(builders.vnfd()), parse_document(builders.inner_nsd())])


def local_violations(document: dict[str, Any]) -> list[FieldViolation]:
    with pytest.raises(DescriptorError) as caught:
        parse_document(document)
    return list(caught.value.field_violations)


def test_valid_nsd_resolves() -> None:
    assert check_nsd(nsd_of(builders.nsd()), members()) == []


def test_dangling_function_suggests_the_right_one() -> None:
    document = builders.nsd()
    document["virtual_links"][1]["connection_points_reference"] = ["input", "vnf_fw:input"]
    assert local_violations(document) == [
        FieldViolation(
            "virtual_links[1].connection_points_reference[1]",
            "unknown function or nested service 'vnf_fw' (did you mean 'vnf_firewall'?)",
        )
    ]


def test_member_word_without_nested_services() -> None:
    document = builders.nsd()
    del document["network_services"]
    document["virtual_links"] = [
        {
            "id": "in",
            "connectivity_type": "E-Line",
            "connection_points_reference": ["input", "vnf_fw:input"],
        }
    ]
    del document["forwarding_graphs"]
    assert local_violations(document)[0].description == (
        "unknown function 'vnf_fw' (did you mean 'vnf_firewall'?)"
    )


def test_point_missing_on_the_vnfd() -> None:
    document = builders.nsd()
    document["virtual_links"][1]["connection_points_reference"] = ["input", "vnf_firewall:inptu"]
    nsd = nsd_of(document)
    assert check_nsd(nsd) == []  # the NSD alone cannot tell
    assert check_nsd(nsd, members()) == [
        FieldViolation(
            "virtual_links[1].connection_points_reference[1]",
            "function 'vnf_firewall' (eu.test/fw/1.0) has no connection point 'inptu'"
            " (did you mean 'input'?)",
        )
    ]


def test_point_missing_on_the_nested_service() -> None:
    document = builders.nsd()
    hops = document["forwarding_graphs"][0]["network_forwarding_paths"][0]["connection_points"]
    hops[4]["connection_point_ref"] = "ns_inner:egress"
    assert check_nsd(nsd_of(document), members()) == [
        FieldViolation(
            "forwarding_graphs[0].network_forwarding_paths[0].connection_points[4].connection_point_ref",
            "nested service 'ns_inner' (eu.test/inner/>= 0.5) has no connection point 'egress'",
        )
    ]


def test_unknown_descriptors_are_reported_where_they_are_named() -> None:
    document = builders.nsd()
    document["network_functions"][0]["vnf_version"] = "2.0"
    document["network_services"][0]["ns_version"] = ">= 0.8"
    assert check_nsd(nsd_of(document), members(), missing_hint="; pass its file too") == [
        FieldViolation(
            "network_functions[0]", "no VNFD eu.test/fw/2.0 among eu.test/fw/1.0; pass its file too"
        ),
        FieldViolation(
            "network_services[0]",
            "no NSD eu.test/inner/>= 0.8 among eu.test/inner/0.7; pass its file too",
        ),
    ]


def test_nothing_known() -> None:
    assert check_nsd(nsd_of(builders.nsd()), DescriptorSet()) == [
        FieldViolation("network_functions[0]", "no VNFD eu.test/fw/1.0 is known (no VNFD at all)"),
        FieldViolation(
            "network_services[0]", "no NSD eu.test/inner/>= 0.5 is known (no NSD at all)"
        ),
    ]


def test_unknown_own_point() -> None:
    document = builders.nsd()
    document["virtual_links"][3]["connection_points_reference"] = ["ns_inner:output", "outptu"]
    assert local_violations(document) == [
        FieldViolation(
            "virtual_links[3].connection_points_reference[1]",
            "unknown connection point 'outptu' (did you mean 'output'?)",
        )
    ]


def test_e_line_in_a_service() -> None:
    document = builders.nsd()
    document["virtual_links"][1]["connection_points_reference"].append("mgmt")
    assert local_violations(document) == [
        FieldViolation(
            "virtual_links[1].connection_points_reference",
            "an E-Line link joins exactly 2 connection points, not 3",
        )
    ]


def test_duplicate_ids() -> None:
    document = builders.nsd()
    document["network_services"][0]["ns_id"] = "vnf_firewall"
    document["connection_points"][2]["id"] = "input"
    document["virtual_links"][3]["id"] = "mgmt"
    document["forwarding_graphs"].append(copy.deepcopy(document["forwarding_graphs"][0]))
    paths = document["forwarding_graphs"][0]["network_forwarding_paths"]
    paths.append(dict(paths[0], connection_points=[]))
    got = [v for v in local_violations(document) if v.description.startswith("duplicate")]
    assert got == [
        FieldViolation(
            "network_services[0].ns_id",
            "duplicate member id 'vnf_firewall' (also network_functions[0].vnf_id)",
        ),
        FieldViolation(
            "connection_points[2].id",
            "duplicate connection point id 'input' (also connection_points[1].id)",
        ),
        FieldViolation(
            "virtual_links[3].id", "duplicate link id 'mgmt' (also virtual_links[0].id)"
        ),
        FieldViolation(
            "forwarding_graphs[0].network_forwarding_paths[1].fp_id",
            "duplicate fp_id 'fg01:fp01'"
            " (also forwarding_graphs[0].network_forwarding_paths[0].fp_id)",
        ),
        FieldViolation(
            "forwarding_graphs[1].fg_id", "duplicate fg_id 'fg01' (also forwarding_graphs[0].fg_id)"
        ),
    ]


def test_legacy_duplicate_nested_service_path() -> None:
    nsd = nsd_of(builders.nsd())
    twice = dataclasses.replace(
        nsd,
        dialect=nsd.dialect.SONATA,
        network_services=(*nsd.network_services, nsd.network_services[0]),
    )
    assert check_nsd(twice) == [
        FieldViolation(
            "network_services[1]", "duplicate member id 'ns_inner' (also network_services[0])"
        )
    ]


def test_forwarding_graph_constituents_and_hops() -> None:
    document = builders.nsd()
    graph = document["forwarding_graphs"][0]
    graph["constituent_virtual_links"][1] = "fw-2-iner"
    graph["constituent_vnfs"] = ["vnf_firewal"]
    graph["constituent_services"] = ["ns_outer"]
    hops = graph["network_forwarding_paths"][0]["connection_points"]
    hops[1]["connection_point_ref"] = "vnf_fw:input"
    hops[3]["position"] = 3
    where = "forwarding_graphs[0].network_forwarding_paths[0].connection_points"
    assert local_violations(document) == [
        FieldViolation(
            "forwarding_graphs[0].constituent_virtual_links[1]",
            "unknown virtual link 'fw-2-iner' (did you mean 'fw-2-inner'?)",
        ),
        FieldViolation(
            "forwarding_graphs[0].constituent_vnfs[0]",
            "unknown function 'vnf_firewal' (did you mean 'vnf_firewall'?)",
        ),
        FieldViolation(
            "forwarding_graphs[0].constituent_services[0]",
            "unknown nested service 'ns_outer' (did you mean 'ns_inner'?)",
        ),
        FieldViolation(
            f"{where}[1].connection_point_ref",
            "unknown function or nested service 'vnf_fw' (did you mean 'vnf_firewall'?)",
        ),
        FieldViolation(
            f"{where}[3].position", f"duplicate position '3' (also {where}[2].position)"
        ),
    ]


def test_a_service_cannot_nest_itself() -> None:
    nsd = nsd_of(builders.nsd())
    itself = NestedServiceRef("ns_me", DescriptorRef("eu.test", "chain", ">= 1.0"))
    looped = dataclasses.replace(nsd, network_services=(*nsd.network_services, itself))
    assert check_nsd(looped) == [
        FieldViolation("network_services[1]", "a service cannot nest itself")
    ]
