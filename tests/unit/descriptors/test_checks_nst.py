"""Semantic checks of slice templates."""

from __future__ import annotations

from typing import Any

import pytest

from spfed.descriptors import DescriptorError, check_nst, parse_document
from spfed.errors import FieldViolation
from spfed.model import SliceTemplate
from tests.unit.descriptors import builders


def violations(document: dict[str, Any]) -> list[FieldViolation]:
    with pytest.raises(DescriptorError) as caught:
        parse_document(document)
    return list(caught.value.field_violations)


def test_valid_template() -> None:
    nst = parse_document(builders.nst())
    assert isinstance(nst, SliceTemplate)
    assert check_nst(nst) == []


def test_link_names_an_unknown_subnet() -> None:
    document = builders.nst()
    document["slice_vld"][0]["nsd-connection-point-ref"][1]["subnet-ref"] = "rigth"
    assert violations(document) == [
        FieldViolation(
            "slice_vld[0].nsd-connection-point-ref[1].subnet-ref",
            "unknown subnet 'rigth' (did you mean 'right'?)",
        )
    ]


@pytest.mark.parametrize("nap", ["10.0.0.0/33", "ten.0.0.1", "fe80::/129"])
def test_nap_must_be_an_address_or_prefix(nap: str) -> None:
    document = builders.nst()
    document["slice_ns_subnets"][0]["egresses"][0]["nap"] = nap
    assert violations(document) == [
        FieldViolation(
            "slice_ns_subnets[0].egresses[0].nap", f"'{nap}' is not an IP address or prefix"
        )
    ]


@pytest.mark.parametrize(
    "nap", ["10.0.0.1", "10.0.0.0/8", "10.0.0.1/24", "2001:db8::/32", "2001:db8::1"]
)
def test_nap_forms_accepted(nap: str) -> None:
    document = builders.nst()
    document["slice_ns_subnets"][0]["ingresses"][0]["nap"] = nap
    assert isinstance(parse_document(document), SliceTemplate)


def test_duplicate_ids() -> None:
    document = builders.nst()
    document["slice_ns_subnets"][1]["id"] = "left"
    document["slice_vld"].append(dict(document["slice_vld"][0]))
    document["slice_vld"][1]["nsd-connection-point-ref"] = [
        {"subnet-ref": "left", "nsd-cp-ref": "mgmt"}
    ]
    assert violations(document) == [
        FieldViolation(
            "slice_ns_subnets[1].id", "duplicate subnet id 'left' (also slice_ns_subnets[0].id)"
        ),
        # The renamed subnet is gone, as far as the first link can tell.
        FieldViolation(
            "slice_vld[0].nsd-connection-point-ref[1].subnet-ref", "unknown subnet 'right'"
        ),
        FieldViolation("slice_vld[1].id", "duplicate link id 'data' (also slice_vld[0].id)"),
    ]


@pytest.mark.parametrize(
    ("bandwidth", "unit", "mbps"),
    [(2, "Gbps", 2000.0), (500, "Mbps", 500.0), (300, None, 300.0), (0, None, 0.0)],
)
def test_a_links_root_bandwidth_is_its_bandwidth_in_mbps(
    bandwidth: int, unit: str | None, mbps: float
) -> None:
    doc = builders.nst()
    doc["slice_vld"][0]["root-bandwidth"] = bandwidth
    if unit is not None:
        doc["slice_vld"][0]["root-bandwidth-unit"] = unit
    parsed = parse_document(doc)
    assert isinstance(parsed, SliceTemplate)
    assert parsed.links[0].bandwidth_mbps == mbps


def test_an_unknown_bandwidth_unit_is_refused_naming_the_field() -> None:
    doc = builders.nst()
    doc["slice_vld"][0]["root-bandwidth"] = 5
    doc["slice_vld"][0]["root-bandwidth-unit"] = "furlongs"
    with pytest.raises(DescriptorError) as raised:
        parse_document(doc)
    assert "slice_vld[0].root-bandwidth-unit" in str(raised.value)
