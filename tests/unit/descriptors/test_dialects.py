"""Dialect and kind detection: the marker when it tells, the content when it does not."""

from __future__ import annotations

from typing import Any

import pytest

from spfed.descriptors import DescriptorError, parse_document
from spfed.descriptors._dialects import DocumentKind, detect_kind
from spfed.errors import FieldViolation
from spfed.model import Dialect, NetworkServiceDescriptor, SliceTemplate, VnfDescriptor
from tests.unit.descriptors import builders


@pytest.mark.parametrize(
    ("marker", "kind"),
    [
        ({"descriptor_schema": builders.TANGO_NSD}, DocumentKind.NSD),
        ({"descriptor_schema": builders.TANGO_VNFD}, DocumentKind.VNFD),
        ({"descriptor_schema": builders.TANGO_NST}, DocumentKind.NST),
        (
            {"descriptor_schema": "https://x/package-specification/napd-schema.yml"},
            DocumentKind.PACKAGE,
        ),
        ({"descriptor_version": "vnfd-schema-01"}, DocumentKind.VNFD),
        ({"descriptor_version": "nsd-schema-02"}, DocumentKind.NSD),
        ({"descriptor_version": "1.0"}, DocumentKind.UNKNOWN),
    ],
)
def test_kind_from_marker(marker: dict[str, str], kind: DocumentKind) -> None:
    assert detect_kind({"vendor": "v", **marker}) is kind


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ({"virtual_deployment_units": []}, DocumentKind.VNFD),
        ({"cloudnative_deployment_units": []}, DocumentKind.VNFD),
        ({"physical_deployment_units": [], "virtual_links": []}, DocumentKind.VNFD),
        ({"network_functions": []}, DocumentKind.NSD),
        ({"network_services": []}, DocumentKind.NSD),
        ({"virtual_links": []}, DocumentKind.NSD),
        ({"slice_ns_subnets": []}, DocumentKind.NST),
        ({"package_content": []}, DocumentKind.PACKAGE),
        ({"author": "x"}, DocumentKind.UNKNOWN),
    ],
)
def test_kind_from_content_when_the_marker_does_not_tell(
    content: dict[str, Any], kind: DocumentKind
) -> None:
    assert detect_kind({"descriptor_version": "1.0", **content}) is kind


def test_tango_vnfd() -> None:
    parsed = parse_document(builders.vnfd())
    assert isinstance(parsed, VnfDescriptor)
    assert parsed.dialect is Dialect.TANGO


def test_legacy_vnfd_with_a_version_marker_that_does_not_tell() -> None:
    parsed = parse_document(builders.as_legacy(builders.vnfd(), "1.0"))
    assert isinstance(parsed, VnfDescriptor)
    assert parsed.dialect is Dialect.SONATA


def test_legacy_nsd_detected_by_content() -> None:
    document = builders.as_legacy(builders.nsd(), "1.0")
    document["network_services"] = ["eu.test:inner:0.7"]
    for link in document["virtual_links"]:
        link["connection_points_reference"] = [
            r.replace("ns_inner:", "inner:") for r in link["connection_points_reference"]
        ]
    document["forwarding_graphs"] = []
    parsed = parse_document(document)
    assert isinstance(parsed, NetworkServiceDescriptor)
    assert parsed.dialect is Dialect.SONATA


def test_slice_template() -> None:
    assert isinstance(parse_document(builders.nst()), SliceTemplate)


def test_package_descriptor_is_a_clear_error() -> None:
    package = {
        "descriptor_version": "1.0",
        "vendor": "eu.test",
        "name": "pkg",
        "version": "1.0",
        "package_content": [{"name": "/nsd.yml"}],
    }
    with pytest.raises(DescriptorError) as caught:
        parse_document(package, source="package.yml")
    assert caught.value.field_violations == (
        FieldViolation("", "package descriptors are not instantiable; pass the NSD and VNFDs"),
    )
    assert caught.value.message == (
        "package eu.test/pkg/1.0 in package.yml is not instantiable (1 problem)"
    )
    assert caught.value.source == "package.yml"


def test_document_of_no_known_kind() -> None:
    with pytest.raises(DescriptorError) as caught:
        parse_document({"descriptor_version": "1.0", "vendor": "eu.test"})
    (violation,) = caught.value.field_violations
    assert violation.field == ""
    assert violation.description.startswith("cannot tell whether this is an NSD, a VNFD or a slice")
