"""Specs refuse what the kernel would refuse, before anything is built; no privileges needed."""

from __future__ import annotations

from typing import Any

import pytest

from spfed.errors import InvalidArgument
from spfed.netns import (
    AttachmentSpec,
    Bridge,
    BridgeSpec,
    GatewaySpec,
    Namespace,
    Role,
    RouteSpec,
    ShapingSpec,
    VnfSpec,
    VxlanSpec,
    WanLink,
    WanLinkSpec,
    eui64_link_local,
    vxlan_conflicts,
)

GW_A = Namespace("sf01-gw-a", "a", Role.GATEWAY)
GW_B = Namespace("sf01-gw-b", "b", Role.GATEWAY)
VNF = Namespace("sf01-vnf-fw", "fw", Role.VNF)
BRIDGE = Bridge(GW_A, "vl1", "sf01-abcdefghij", 1450)
BRIDGE_B = Bridge(GW_B, "vl1", "sf01-klmnopqrst", 1450)
LINK = WanLink("a-b", GW_A, "sf01-a", "10.255.0.0/31", GW_B, "sf01-b", "10.255.0.1/31", 1500)


def _fields(error: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {violation.field for violation in error.value.field_violations}


def test_labels_are_checked() -> None:
    with pytest.raises(InvalidArgument):
        GatewaySpec("")
    with pytest.raises(InvalidArgument):
        VnfSpec("has space")


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"a_address": "10.255.0.0"}, {"a_address"}),
        ({"b_address": "10.255.0.2/31"}, {"b_address"}),
        ({"b_address": "10.255.0.0/31"}, {"b_address"}),
        ({"b": GW_A}, {"b"}),
        ({"a": VNF}, {"a"}),
        ({"mtu": 20}, {"mtu"}),
        ({"a_address": "nope/31", "mtu": 70000}, {"a_address", "mtu"}),
    ],
)
def test_wan_links_join_two_gateways_on_one_subnet(
    changes: dict[str, Any], fields: set[str]
) -> None:
    spec: dict[str, Any] = {
        "label": "a-b",
        "a": GW_A,
        "a_address": "10.255.0.0/31",
        "b": GW_B,
        "b_address": "10.255.0.1/31",
    }
    with pytest.raises(InvalidArgument) as error:
        WanLinkSpec(**(spec | changes))
    assert _fields(error) == fields


def test_the_underlay_is_seen_from_either_end() -> None:
    assert LINK.underlay(GW_A) == ("10.255.0.0", "10.255.0.1")
    assert LINK.underlay(GW_B) == ("10.255.0.1", "10.255.0.0")
    with pytest.raises(InvalidArgument):
        LINK.underlay(VNF)
    across = VxlanSpec.across(LINK, BRIDGE_B, label="vl1.ab", vni=10)
    assert (across.local, across.remote, across.dstport) == ("10.255.0.1", "10.255.0.0", 4789)


def test_bridges_live_in_gateways() -> None:
    with pytest.raises(InvalidArgument) as error:
        BridgeSpec(VNF, "vl1")
    assert _fields(error) == {"gateway"}


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"vni": 0}, {"vni"}),
        ({"vni": 1 << 24}, {"vni"}),
        ({"dstport": 0}, {"dstport"}),
        ({"local": "10.255.0.0/31"}, {"local"}),
        ({"remote": "fd00::1"}, {"remote"}),
    ],
)
def test_vxlan_segments_are_checked(changes: dict[str, Any], fields: set[str]) -> None:
    spec: dict[str, Any] = {
        "bridge": BRIDGE,
        "label": "s",
        "vni": 1,
        "local": "10.255.0.0",
        "remote": "10.255.0.1",
    }
    with pytest.raises(InvalidArgument) as error:
        VxlanSpec(**(spec | changes))
    assert _fields(error) == fields


def test_vxlan_conflicts_are_one_vni_and_port_twice_in_one_gateway() -> None:
    red = VxlanSpec(BRIDGE, "red", 7, "10.255.0.0", "10.255.0.1")
    blue = VxlanSpec(BRIDGE, "blue", 7, "10.255.0.0", "10.255.0.3")
    other_port = VxlanSpec(BRIDGE, "green", 7, "10.255.0.0", "10.255.0.1", dstport=4790)
    other_gateway = VxlanSpec(BRIDGE_B, "red", 7, "10.255.0.1", "10.255.0.0")
    retry = VxlanSpec(BRIDGE, "red", 7, "10.255.0.0", "10.255.0.1")
    assert vxlan_conflicts([red, other_port, other_gateway, retry]) == []
    assert vxlan_conflicts([red, other_port, blue]) == [(red, blue)]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"addresses": ("10.0.65.1",)}, {"addresses[0]"}),
        ({"addresses": ("10.0.65.1/31", "fd00::1/200")}, {"addresses[1]"}),
        ({"mac": "02:5F:00:00:00:01"}, {"mac"}),
        ({"mac": "03:5f:00:00:00:01"}, {"mac"}),
        ({"mac": "02:5f:00:00:01"}, {"mac"}),
        ({"ifname": "much-too-long-name"}, {"ifname"}),
        ({"vnf": GW_B}, {"vnf"}),
    ],
)
def test_attachments_are_checked(changes: dict[str, Any], fields: set[str]) -> None:
    spec: dict[str, Any] = {"vnf": VNF, "bridge": BRIDGE, "label": "eth1"}
    with pytest.raises(InvalidArgument) as error:
        AttachmentSpec(**(spec | changes))
    assert _fields(error) == fields


def test_attachment_addresses_are_kept_as_a_tuple() -> None:
    spec = AttachmentSpec(VNF, BRIDGE, "eth1", ["10.0.65.1/31"], mac="02:5f:00:00:00:01")  # type: ignore[arg-type]
    assert spec.addresses == ("10.0.65.1/31",)


@pytest.mark.parametrize(
    ("destination", "via", "fields"),
    [
        ("10.0.66.0/31", "10.0.65.1", set()),
        ("default", "fd00::1", set()),
        ("10.0.66.1/31", "10.0.65.1", {"destination"}),
        ("10.0.66.0/31", "fd00::1", {"via"}),
        ("10.0.66.0/31", "", {"via"}),
    ],
)
def test_routes_are_checked(destination: str, via: str, fields: set[str]) -> None:
    if not fields:
        assert RouteSpec(VNF, destination, via, "eth1").family in (4, 6)
        return
    with pytest.raises(InvalidArgument) as error:
        RouteSpec(VNF, destination, via, "eth1")
    assert _fields(error) == fields


def test_shaping_is_checked_and_gets_a_sane_burst() -> None:
    assert ShapingSpec(VNF, "eth1", 10_000_000).burst == 15_140
    assert ShapingSpec(VNF, "eth1", 10_000_000_000).burst == 12_500_000
    assert ShapingSpec(VNF, "eth1", 1_000_000, burst_bytes=3000).burst == 3000
    with pytest.raises(InvalidArgument) as error:
        ShapingSpec(VNF, "eth1", 100, discipline="cbq")  # type: ignore[arg-type]
    assert _fields(error) == {"rate_bps", "discipline"}


def test_link_local_addresses_are_the_eui64_of_the_mac() -> None:
    assert eui64_link_local("02:5f:00:01:02:03") == "fe80::5f:ff:fe01:203/64"
    assert eui64_link_local("52:54:00:12:34:56") == "fe80::5054:ff:fe12:3456/64"
