"""Both connection point naming conventions, stored in the bare form."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from spfed.descriptors import DescriptorError, check_vnfd, parse_document
from spfed.errors import FieldViolation
from spfed.model import NetworkServiceDescriptor, VnfDescriptor
from tests.unit.descriptors import builders


def older_convention(document: dict[str, Any]) -> dict[str, Any]:
    """``builders.vnfd()`` rewritten in the older naming: ``vdu01:eth0``, ``vnf:mgmt``."""
    out = copy.deepcopy(document)
    for point in out["virtual_deployment_units"][0]["connection_points"]:
        point["id"] = f"vdu01:{point['id']}"
    for point in out["connection_points"]:
        point["id"] = f"vnf:{point['id']}"
    for link in out["virtual_links"]:
        link["connection_points_reference"] = [
            ref if ":" in ref else f"vnf:{ref}" for ref in link["connection_points_reference"]
        ]
    return out


def test_current_convention_is_kept() -> None:
    vnfd = parse_document(builders.vnfd())
    assert isinstance(vnfd, VnfDescriptor)
    assert [cp.id for cp in vnfd.deployment_units[0].connection_points] == ["eth0", "eth1", "eth2"]


@pytest.mark.parametrize("dialect", ["tango", "sonata"])
def test_older_convention_maps_to_the_same_model(dialect: str) -> None:
    current = builders.vnfd()
    older = older_convention(current)
    if dialect == "sonata":
        current, older = builders.as_legacy(current), builders.as_legacy(older)
    assert older["connection_points"][0]["id"] == "vnf:mgmt"  # the test rewrote something
    assert parse_document(older) == parse_document(current)


def test_unit_prefix_of_another_unit_is_a_violation() -> None:
    document = builders.vnfd()
    document["virtual_deployment_units"][0]["connection_points"][1]["id"] = "vdu02:eth1"
    with pytest.raises(DescriptorError) as caught:
        parse_document(document)
    # Only the naming mistake: the links' "vdu01:eth1" still finds the point.
    assert caught.value.field_violations == (
        FieldViolation(
            "virtual_deployment_units[0].connection_points[1].id",
            "'vdu02:eth1' names unit 'vdu02', but the point belongs to unit 'vdu01'"
            " (write 'eth1' or 'vdu01:eth1')",
        ),
    )


def test_own_point_with_a_foreign_prefix_is_a_violation() -> None:
    document = builders.vnfd()
    document["connection_points"][0]["id"] = "ns:mgmt"  # an NSD's prefix, in a VNFD
    with pytest.raises(DescriptorError) as caught:
        parse_document(document)
    assert caught.value.field_violations == (
        FieldViolation(
            "connection_points[0].id",
            "own connection point ids are bare ('mgmt') or 'vnf:mgmt', not 'ns:mgmt'",
        ),
    )


def test_nsd_own_points_and_references_lose_ns_prefix() -> None:
    document = builders.nsd()
    document["connection_points"][1]["id"] = "ns:input"
    document["virtual_links"][1]["connection_points_reference"] = ["ns:input", "vnf_firewall:input"]
    hops = document["forwarding_graphs"][0]["network_forwarding_paths"][0]["connection_points"]
    hops[0]["connection_point_ref"] = "ns:input"
    nsd = parse_document(document)
    assert isinstance(nsd, NetworkServiceDescriptor)
    assert nsd == parse_document(builders.nsd())


def test_a_unit_named_like_the_prefix_keeps_its_references() -> None:
    document = builders.vnfd()
    document["virtual_deployment_units"][0]["id"] = "vnf"
    for link in document["virtual_links"]:
        link["connection_points_reference"] = [
            ref.replace("vdu01:", "vnf:") for ref in link["connection_points_reference"]
        ]
    vnfd = parse_document(document)
    assert isinstance(vnfd, VnfDescriptor)
    assert vnfd.virtual_links[0].connection_points_reference == ("vnf:eth0", "mgmt")
    assert check_vnfd(vnfd) == []
