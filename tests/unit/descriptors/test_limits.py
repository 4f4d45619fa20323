"""``limit_violations``: size bounds on one descriptor, judged from list lengths only."""

from __future__ import annotations

import time

from spfed.descriptors import limit_violations
from spfed.model import (
    ConnectionPoint,
    ConnectivityType,
    DeploymentUnit,
    DescriptorLimits,
    DescriptorRef,
    NestedServiceRef,
    NetworkFunctionRef,
    NetworkServiceDescriptor,
    VirtualLink,
    VnfDescriptor,
)

REF = DescriptorRef("v", "n", "1.0")
LIMITS = DescriptorLimits(max_functions=4, max_links=3, max_connection_points=10)


def _nsd(
    functions: int = 0, nested: int = 0, links: int = 0, refs: int = 2, own: int = 0
) -> NetworkServiceDescriptor:
    return NetworkServiceDescriptor(
        REF,
        network_functions=tuple(NetworkFunctionRef(f"f{i}", REF) for i in range(functions)),
        network_services=tuple(NestedServiceRef(f"s{i}", REF) for i in range(nested)),
        connection_points=tuple(ConnectionPoint(f"cp{i}") for i in range(own)),
        virtual_links=tuple(
            VirtualLink(f"l{i}", ConnectivityType.E_LAN, tuple(f"f0:p{j}" for j in range(refs)))
            for i in range(links)
        ),
    )


def test_a_descriptor_within_every_limit_has_no_violation() -> None:
    assert limit_violations(_nsd(functions=3, nested=1, links=3, refs=2, own=4), LIMITS) == []


def test_too_many_functions_names_the_limit_and_the_list() -> None:
    [v] = limit_violations(_nsd(functions=5), LIMITS, path="descriptors.nsd")
    assert v.field == "descriptors.nsd.network_functions"
    assert "limits.max_functions is 4" in v.description
    assert v.description.startswith("5 ")


def test_nested_services_count_with_functions_and_are_named_when_they_overflow() -> None:
    [v] = limit_violations(_nsd(functions=3, nested=2), LIMITS)
    assert v.field == "network_services"
    assert "limits.max_functions is 4" in v.description


def test_too_many_links() -> None:
    [v] = limit_violations(_nsd(links=4, refs=1), LIMITS, path="descriptors.nsd")
    assert v.field == "descriptors.nsd.virtual_links"
    assert "limits.max_links is 3" in v.description


def test_connection_points_count_own_points_and_link_references() -> None:
    [v] = limit_violations(_nsd(links=3, refs=3, own=2), LIMITS)  # 2 + 9 > 10
    assert v.field == "connection_points"
    assert "11 connection points" in v.description
    assert "limits.max_connection_points is 10" in v.description
    assert limit_violations(_nsd(links=3, refs=3, own=1), LIMITS) == []  # exactly 10


def test_every_exceeded_limit_is_reported_at_once() -> None:
    fields = {v.field for v in limit_violations(_nsd(functions=9, links=9, refs=2), LIMITS)}
    assert fields == {"network_functions", "virtual_links", "connection_points"}


def test_a_vnfd_counts_its_units_points() -> None:
    unit = DeploymentUnit(
        "vdu", connection_points=tuple(ConnectionPoint(f"e{i}") for i in range(8))
    )
    vnfd = VnfDescriptor(
        REF,
        deployment_units=(unit,),
        connection_points=(ConnectionPoint("in"), ConnectionPoint("out")),
        virtual_links=(VirtualLink("l", ConnectivityType.E_LINE, ("in", "vdu:e0")),),
    )
    [v] = limit_violations(vnfd, LIMITS, path="descriptors.vnfds[0]")
    assert v.field == "descriptors.vnfds[0].connection_points"
    assert "12 connection points" in v.description


def test_a_huge_descriptor_is_judged_in_well_under_a_millisecond_per_thousand_items() -> None:
    huge = _nsd(functions=10_000, links=10_000, refs=2)
    started = time.perf_counter()
    found = limit_violations(huge, DescriptorLimits())
    elapsed = time.perf_counter() - started
    assert {v.field for v in found} == {"network_functions", "virtual_links", "connection_points"}
    assert elapsed < 0.05
