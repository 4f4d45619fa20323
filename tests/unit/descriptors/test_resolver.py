"""Version constraints and the ``DescriptorSet`` resolver."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from spfed.descriptors import (
    DescriptorSet,
    InterfaceResolver,
    check_nsd,
    parse_document,
    refers_to,
    version_key,
    version_matches,
)
from spfed.model import DescriptorRef, NetworkServiceDescriptor, VnfDescriptor
from tests.unit.descriptors import builders


@pytest.mark.parametrize(
    ("constraint", "version", "matches"),
    [
        ("0.3", "0.3", True),
        ("0.3", "0.3.0", True),
        ("0.3", "0.30", False),
        ("== 0.3", "0.3", True),
        ("== 0.3", "0.4", False),
        (">= 0.2", "0.10", True),  # numeric, not text: 10 > 2
        (">= 0.2", "0.1.9", False),
        ("<= 1.0", "0.9.9", True),
        ("<= 1.0", "1.0.1", False),
        ("!= 1.0", "1.0", False),
        ("!= 1.0", "1.1", True),
        ("1-2", "1.2", True),  # '-' and '_' separate parts like '.'
    ],
)
def test_version_matches(constraint: str, version: str, matches: bool) -> None:
    assert version_matches(constraint, version) is matches


def test_version_key_orders_numerically() -> None:
    versions = ["0.10", "0.9", "1.0.0", "0.9.1", "1"]
    assert sorted(versions, key=version_key) == ["0.9", "0.9.1", "0.10", "1.0.0", "1"]
    assert version_key("1.0.0") == version_key("1")


def test_refers_to() -> None:
    identity = DescriptorRef("eu.test", "fw", "1.2")
    assert refers_to(DescriptorRef("eu.test", "fw", ">= 1.0"), identity)
    assert not refers_to(DescriptorRef("eu.test", "fw", "1.0"), identity)
    assert not refers_to(DescriptorRef("eu.test", "fw2", "1.2"), identity)
    assert not refers_to(DescriptorRef("eu.test", "fw", "~1.2"), identity)  # malformed: no match


@pytest.mark.parametrize("bad", ["~1.0", ">1.0 <2.0", "latest", ""])
def test_malformed_constraint(bad: str) -> None:
    with pytest.raises(ValueError, match="not a version constraint"):
        version_matches(bad, "1.0")


def vnfd(version: str, points: tuple[str, ...] = ("mgmt", "input", "output")) -> VnfDescriptor:
    parsed = parse_document(builders.vnfd())
    assert isinstance(parsed, VnfDescriptor)
    kept = tuple(cp for cp in parsed.connection_points if cp.id in points)
    return dataclasses.replace(
        parsed, ref=DescriptorRef("eu.test", "fw", version), connection_points=kept
    )


def test_lookup_picks_the_highest_matching_version() -> None:
    found = DescriptorSet([vnfd("0.9"), vnfd("1.10", ("mgmt",)), vnfd("1.2", ("input",))])
    assert found.function_points(DescriptorRef("eu.test", "fw", ">= 1.0")) == ("mgmt",)
    assert found.function_points(DescriptorRef("eu.test", "fw", "<= 1.5")) == ("input",)
    assert found.function_points(DescriptorRef("eu.test", "fw", "== 0.9")) == (
        "mgmt",
        "input",
        "output",
    )
    assert found.function_points(DescriptorRef("eu.test", "fw", "2.0")) is None
    assert found.function_points(DescriptorRef("eu.test", "other", "0.9")) is None
    assert found.function_points(DescriptorRef("eu.other", "fw", "0.9")) is None
    assert (
        found.service_points(DescriptorRef("eu.test", "fw", "0.9")) is None
    )  # a VNFD is no service


def test_service_points_are_the_nsds_own_points() -> None:
    inner = parse_document(builders.inner_nsd())
    found = DescriptorSet([inner])
    assert found.service_points(DescriptorRef("eu.test", "inner", ">= 0.5")) == (
        "mgmt",
        "input",
        "output",
    )
    assert found.known_services() == (DescriptorRef("eu.test", "inner", "0.7"),)
    assert found.known_functions() == ()


class OfferCatalogue:
    """Another resolver: what a lower SP offers, without the descriptors themselves."""

    def __init__(self, offers: dict[DescriptorRef, tuple[str, ...]]) -> None:
        self.offers = offers

    def function_points(self, ref: DescriptorRef) -> tuple[str, ...] | None:
        return self.offers.get(ref)

    def service_points(self, ref: DescriptorRef) -> tuple[str, ...] | None:
        return None

    def known_functions(self) -> Sequence[DescriptorRef]:
        return list(self.offers)

    def known_services(self) -> Sequence[DescriptorRef]:
        return []


def test_any_resolver_will_do() -> None:
    nsd = parse_document(builders.nsd())
    assert isinstance(nsd, NetworkServiceDescriptor)
    resolver: InterfaceResolver = OfferCatalogue(
        {DescriptorRef("eu.test", "fw", "1.0"): ("mgmt", "input")}
    )
    assert [(v.field, v.description) for v in check_nsd(nsd, resolver)] == [
        ("network_services[0]", "no NSD eu.test/inner/>= 0.5 is known (no NSD at all)"),
        (
            "virtual_links[2].connection_points_reference[0]",
            "function 'vnf_firewall' (eu.test/fw/1.0) has no connection point 'output'",
        ),
        (
            "forwarding_graphs[0].network_forwarding_paths[0].connection_points[2].connection_point_ref",
            "function 'vnf_firewall' (eu.test/fw/1.0) has no connection point 'output'",
        ),
    ]


def test_conflicts_are_different_descriptors_with_one_identity() -> None:
    same = vnfd("1.0")
    different = dataclasses.replace(same, author="someone else")
    found = DescriptorSet([same, vnfd("2.0"), same, different])
    assert found.conflicts() == [(3, 0)]
    # The first one given wins.
    assert found.find_vnfd(DescriptorRef("eu.test", "fw", "1.0")) is same
    assert len(found) == 4
    assert list(found)[1].ref.version == "2.0"
