"""``plan_addresses``: worked examples, then properties over random demands (IPv4 and IPv6)."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable, Iterable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from addressing import (
    OWN,
    AddressPlan,
    Endpoint,
    LinkDemand,
    LinkPlan,
    MacBlock,
    Network,
    PlanSettings,
    ServiceSpace,
    address_range,
    assignment_problems,
    parse_mac_block,
    parse_network,
    plan_addresses,
    reserved_addresses,
)
from spfed.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from spfed.model import AddressAssignment, AddressConstraint, ConnectivityType, IdRange
from tests.strategies import PlanInputs, plan_inputs

SETTINGS = PlanSettings()
LINE = ConnectivityType.E_LINE
LAN = ConnectivityType.E_LAN
MACS = "02:5f:00:01:00:00/32"


VNIS = IdRange(100, 199)


def space(
    block: str = "10.1.0.0/16",
    vnis: IdRange = VNIS,
    macs: str = MACS,
    prefix: str = "svc/",
    mtu: int = 1500,
) -> ServiceSpace:
    return ServiceSpace(block, vnis, macs, prefix, mtu)


def ep(part: str, name: str) -> Endpoint:
    return Endpoint(part, name)


def link(
    name: str,
    *endpoints: tuple[str, str],
    connectivity: ConnectivityType = LAN,
    fixed: AddressConstraint | None = None,
    nap: str = "",
    cidr: str = "",
    dhcp: bool = False,
    internal: bool = False,
) -> LinkDemand:
    return LinkDemand(
        name,
        tuple(Endpoint(p, n) for p, n in endpoints),
        connectivity,
        fixed=fixed,
        nap=nap,
        cidr=cidr,
        dhcp=dhcp,
        internal=internal,
    )


def exhausted(call: Callable[[], object]) -> ResourceExhausted:
    with pytest.raises(ResourceExhausted) as info:
        call()
    assert info.value.quota_violations, "an exhaustion names what ran out"
    return info.value


# --- links inside one part, lines and LANs across parts ------------------------------


def test_a_link_inside_one_pop_gets_a_subnet_a_gateway_a_vni_macs_and_port_ids() -> None:
    plan = plan_addresses(
        space(),
        [link("lan", ("pop:a", "fw/vdu:eth0"), ("pop:a", "nat/vdu:eth0"), dhcp=True)],
        [],
        SETTINGS,
    )
    lp = plan.links["lan"]
    assert (lp.subnet, lp.gateway, lp.vni, lp.mtu, lp.dhcp) == (
        "10.1.0.0/27",
        "10.1.0.1",
        100,
        1500,
        True,
    )
    assert lp.slices == {"pop:a": "10.1.0.0/27"}
    assert lp.addresses == {"fw/vdu:eth0": "10.1.0.2/27", "nat/vdu:eth0": "10.1.0.3/27"}
    assert lp.macs == {"fw/vdu:eth0": "02:5f:00:01:00:00", "nat/vdu:eth0": "02:5f:00:01:00:01"}
    assert lp.port_ids == {"fw/vdu:eth0": "svc/fw/vdu:eth0", "nat/vdu:eth0": "svc/nat/vdu:eth0"}
    assert plan.address_of("lan", "fw/vdu:eth0") == "10.1.0.2/27"
    assert plan.address_of("lan", "nobody") == ""
    assert plan.address_of("nolink", "fw/vdu:eth0") == ""
    assert plan.part_spaces == {}


def test_dhcp_is_carried_as_asked() -> None:
    plan = plan_addresses(
        space(),
        [link("a", ("pop:a", "x"), dhcp=False), link("b", ("pop:a", "y"), dhcp=True)],
        [],
        SETTINGS,
    )
    assert (plan.links["a"].dhcp, plan.links["b"].dhcp) == (False, True)


@pytest.mark.parametrize(
    ("block", "transit", "first", "second"),
    [
        # after the part's block: a /19 (v4), a /51 (v6)
        ("10.1.0.0/16", "10.1.32.0/31", "10.1.32.0/32", "10.1.32.1/32"),
        (
            "2001:db8:1::/48",
            "2001:db8:1:2000::/127",
            "2001:db8:1:2000::/128",
            "2001:db8:1:2000::1/128",
        ),
    ],
)
def test_an_e_line_between_two_parts_is_a_transit_pair_without_gateway(
    block: str, transit: str, first: str, second: str
) -> None:
    plan = plan_addresses(
        space(block),
        [link("wire", ("pop:a", "fw:out"), ("sp:x", "ids:in"), connectivity=LINE)],
        ["sp:x"],
        SETTINGS,
    )
    lp = plan.links["wire"]
    assert (lp.subnet, lp.gateway) == (transit, "")
    assert lp.slices == {"pop:a": first, "sp:x": second}
    length = ipaddress.ip_network(transit).prefixlen
    assert lp.addresses == {"fw:out": f"{first.partition('/')[0]}/{length}"}
    c = plan.constraint("sp:x", "in", "wire")
    assert (c.prefix, c.subnet, c.gateway, c.excluded) == (second, transit, "", ())


def test_an_e_line_between_two_pops_addresses_both_ends() -> None:
    plan = plan_addresses(
        space(), [link("wire", ("pop:a", "a"), ("pop:b", "b"), connectivity=LINE)], [], SETTINGS
    )
    assert plan.links["wire"].addresses == {"a": "10.1.0.0/31", "b": "10.1.0.1/31"}


def test_without_point_to_point_links_an_e_line_between_parts_gets_a_gateway() -> None:
    settings = PlanSettings(point_to_point_links=False)

    plan = plan_addresses(
        space(), [link("wire", ("pop:a", "a"), ("pop:b", "b"), connectivity=LINE)], [], settings
    )

    lp = plan.links["wire"]
    subnet = ipaddress.ip_network(lp.subnet)
    assert subnet.prefixlen == settings.crossing_link_prefix_length
    assert lp.gateway == str(subnet.network_address + 1)
    ends = {ipaddress.ip_interface(a).ip for a in lp.addresses.values()}
    assert len(ends) == 2
    assert all(e in subnet and e not in (subnet[0], subnet[1], subnet[-1]) for e in ends)


def test_an_e_line_with_two_interfaces_on_a_side_is_addressed_like_a_lan() -> None:
    plan = plan_addresses(
        space(),
        [link("wire", ("pop:a", "a1"), ("pop:a", "a2"), ("pop:b", "b"), connectivity=LINE)],
        [],
        SETTINGS,
    )
    lp = plan.links["wire"]
    assert (lp.subnet, lp.gateway) == ("10.1.0.0/24", "10.1.0.1")
    assert lp.slices == {"pop:a": "10.1.0.0/25", "pop:b": "10.1.0.128/25"}


@pytest.mark.parametrize("connectivity", [ConnectivityType.E_LAN, ConnectivityType.E_TREE])
def test_a_lan_across_three_parts_is_one_subnet_in_disjoint_ranges_with_one_gateway(
    connectivity: ConnectivityType,
) -> None:
    plan = plan_addresses(
        space(),
        [
            link(
                "lan",
                ("sp:x", "x:in"),
                ("pop:a", "fw:0"),
                ("pop:a", "fw:1"),
                ("sp:y", "y:in"),
                connectivity=connectivity,
            )
        ],
        ["sp:x", "sp:y"],
        SETTINGS,
    )
    lp = plan.links["lan"]
    # the parts' blocks come first: /19s of the /16
    assert plan.part_blocks == {"sp:x": "10.1.0.0/19", "sp:y": "10.1.32.0/19"}
    assert (lp.subnet, lp.gateway) == ("10.1.64.0/24", "10.1.64.1")
    assert lp.slices == {
        "pop:a": "10.1.64.0/26",
        "sp:x": "10.1.64.64/26",
        "sp:y": "10.1.64.128/26",
    }
    # nobody takes the gateway (nor the network address) and delegated ends are left down
    assert lp.addresses == {"fw:0": "10.1.64.2/24", "fw:1": "10.1.64.3/24"}
    assert plan.boundary("sp:x") == {"lan": lp}
    assert plan.boundary("pop:zzz") == {}


def test_own_points_at_the_top_take_their_slice_and_no_mac_or_port_id() -> None:
    plan = plan_addresses(space(), [link("wan", (OWN, "input"), ("pop:a", "fw:1"))], [], SETTINGS)
    lp = plan.links["wan"]
    assert lp.slices == {OWN: "10.1.0.0/25", "pop:a": "10.1.0.128/25"}
    assert lp.addresses == {"input": "10.1.0.2/24", "fw:1": "10.1.0.128/24"}
    assert set(lp.macs) == set(lp.port_ids) == {"fw:1"}


def test_a_link_inside_one_delegated_part_is_left_to_it() -> None:
    plan = plan_addresses(
        space(), [link("inner", ("sp:x", "a"), ("sp:x", "b"))], ["sp:x"], SETTINGS
    )
    assert plan.links == {}
    assert plan.boundary("sp:x") == {}


def test_ipv6_uses_slash_64_inside_a_part_and_slash_56_across() -> None:
    plan = plan_addresses(
        space("2001:db8::/48"),
        [link("lan", ("pop:a", "a"), ("pop:a", "b")), link("wan", ("pop:a", "c"), ("sp:x", "d"))],
        ["sp:x"],
        SETTINGS,
    )
    assert plan.part_blocks == {"sp:x": "2001:db8::/51"}
    assert ipaddress.ip_network(plan.links["lan"].subnet).prefixlen == 64
    assert ipaddress.ip_network(plan.links["wan"].subnet).prefixlen == 56
    assert plan.links["lan"].addresses["a"].endswith("/64")
    assert plan.links["wan"].addresses["c"].endswith("/56")


# --- delegated parts' spaces and constraints -----------------------------------------


def test_delegated_parts_get_a_block_vnis_a_mac_block_a_port_prefix_and_the_mtu() -> None:
    plan = plan_addresses(
        space(mtu=9000), [link("lan", ("pop:a", "a"), ("pop:a", "b"))], ["sp:y", "sp:x"], SETTINGS
    )
    assert plan.part_spaces == {
        "sp:x": ServiceSpace(
            "10.1.0.0/19", IdRange(150, 174), "02:5f:00:01:20:00/35", "svc/sp:x/", 9000
        ),
        "sp:y": ServiceSpace(
            "10.1.32.0/19", IdRange(175, 199), "02:5f:00:01:40:00/35", "svc/sp:y/", 9000
        ),
    }
    # the node keeps the first half of the VNIs and the first MAC sub-block
    assert plan.links["lan"].vni == 100
    assert set(plan.links["lan"].macs.values()) == {"02:5f:00:01:00:00", "02:5f:00:01:00:01"}


def test_vnis_are_distinct_per_link_and_without_parts_the_node_keeps_them_all() -> None:
    links = [link(f"l{i}", ("pop:a", f"e{i}")) for i in range(4)]
    plan = plan_addresses(space(vnis=IdRange(7, 10)), links, [], SETTINGS)
    assert [plan.links[f"l{i}"].vni for i in range(4)] == [7, 8, 9, 10]


def test_a_constraint_excludes_the_gateway_network_and_broadcast_inside_the_slice() -> None:
    plan = plan_addresses(
        space(), [link("lan", ("sp:x", "x:in"), ("sp:y", "y:in"))], ["sp:x", "sp:y"], SETTINGS
    )
    lp = plan.links["lan"]
    assert (lp.subnet, lp.gateway) == ("10.1.64.0/24", "10.1.64.1")
    cx = plan.constraint("sp:x", "x:in", "lan")
    assert cx == AddressConstraint(
        connection_point="x:in",
        prefix="10.1.64.0/25",
        subnet="10.1.64.0/24",
        gateway="10.1.64.1",
        excluded=("10.1.64.1", "10.1.64.0"),
        vni=IdRange(lp.vni, lp.vni),
        mac_prefix=plan.part_spaces["sp:x"].macs,
        port_id_prefix="svc/sp:x/",
        mtu=1500,
    )
    assert plan.constraint("sp:y", "y:in", "lan").excluded == ("10.1.64.255",)


def test_a_lower_sp_planning_inside_its_constraint_gets_what_the_upper_sp_accepts() -> None:
    top = plan_addresses(
        space(), [link("lan", ("pop:a", "fw:0"), ("sp:x", "x:in"))], ["sp:x"], SETTINGS
    )
    c = top.constraint("sp:x", "x:in", "lan")
    lower = plan_addresses(
        top.part_spaces["sp:x"],
        [link("lan", (OWN, "x:in"), ("pop:l", "ids:0"), ("pop:l", "ids:1"), fixed=c)],
        [],
        SETTINGS,
    )
    lp = lower.links["lan"]
    assert lp.addresses == {"ids:0": "10.1.32.128/24", "ids:1": "10.1.32.129/24"}
    for endpoint, address in lp.addresses.items():
        answer = AddressAssignment(
            "x:in", address, lp.macs[endpoint], lp.port_ids[endpoint], lp.vni, lp.mtu
        )
        assert assignment_problems(c, answer, "sp:x") == []
        assert answer.port_id.startswith("svc/sp:x/")


# --- links fixed by the upper SP -----------------------------------------------------


def test_a_fixed_link_uses_the_prefix_subnet_gateway_vni_and_smaller_mtu_given() -> None:
    fixed = AddressConstraint(
        "up",
        "10.9.32.128/26",
        "10.9.32.0/24",
        "10.9.32.1",
        excluded=("10.9.32.130",),
        vni=IdRange(4242, 4242),
        mtu=1400,
    )
    plan = plan_addresses(
        space(),
        [
            link(
                "up",
                (OWN, "up"),
                ("pop:a", "a0"),
                ("pop:a", "a1"),
                ("pop:a", "a2"),
                ("sp:y", "y:in"),
                fixed=fixed,
            ),
            link("lan", ("pop:a", "b0")),
        ],
        ["sp:y"],
        SETTINGS,
    )
    up = plan.links["up"]
    assert (up.subnet, up.gateway, up.vni, up.mtu) == ("10.9.32.0/24", "10.9.32.1", 4242, 1400)
    # the own point is not a participant of a fixed link: its range is shared by the parts
    assert up.slices == {"pop:a": "10.9.32.128/27", "sp:y": "10.9.32.160/27"}
    assert up.addresses == {"a0": "10.9.32.128/24", "a1": "10.9.32.129/24", "a2": "10.9.32.131/24"}
    assert up.excluded == ("10.9.32.130",)
    # the constraint's VNI is not drawn from the node's own
    assert plan.links["lan"].vni == 100


def test_a_fixed_range_with_exclusions_is_shared_and_exclusions_are_handed_down() -> None:
    fixed = AddressConstraint(
        "up",
        "10.9.32.130-10.9.32.140",
        "10.9.32.0/24",
        "10.9.32.1",
        excluded=("10.9.32.131", "10.9.32.137"),
        mtu=9000,
    )
    plan = plan_addresses(
        space(),
        [link("up", (OWN, "up"), ("pop:a", "a0"), ("pop:a", "a1"), ("sp:y", "y:in"), fixed=fixed)],
        ["sp:y"],
        SETTINGS,
    )
    up = plan.links["up"]
    assert up.mtu == 1500  # the smaller of the constraint's and the space's
    assert up.vni == 100  # no VNI given: the node's own
    assert up.slices == {"pop:a": "10.9.32.130-10.9.32.134", "sp:y": "10.9.32.135-10.9.32.140"}
    assert up.addresses == {"a0": "10.9.32.130/24", "a1": "10.9.32.132/24"}
    c = plan.constraint("sp:y", "y:in", "up")
    assert (c.prefix, c.subnet, c.gateway) == (
        "10.9.32.135-10.9.32.140",
        "10.9.32.0/24",
        "10.9.32.1",
    )
    assert c.excluded == ("10.9.32.137",)
    # and the lower SP, planning inside it, steps over the upper SP's exclusion
    lower = plan_addresses(
        plan.part_spaces["sp:y"],
        [link("up", (OWN, "y:in"), *(("pop:l", f"e{i}") for i in range(4)), fixed=c)],
        [],
        SETTINGS,
    )
    assert sorted(lower.links["up"].addresses.values()) == [
        f"10.9.32.{n}/24" for n in (135, 136, 138, 139)
    ]


def test_a_fixed_link_inside_one_delegated_part_is_still_handed_down() -> None:
    fixed = AddressConstraint("up", "10.9.0.0/24", vni=IdRange(9, 9))
    plan = plan_addresses(
        space(), [link("up", (OWN, "up"), ("sp:x", "x:in"), fixed=fixed)], ["sp:x"], SETTINGS
    )
    assert plan.links["up"].slices == {"sp:x": "10.9.0.0/24"}
    assert plan.constraint("sp:x", "x:in", "up").excluded == ("10.9.0.0", "10.9.0.255")


def test_a_fixed_slice_smaller_than_its_parts_is_exhausted_naming_the_link() -> None:
    fixed = AddressConstraint("up", "10.9.0.5/32", "10.9.0.0/24")
    error = exhausted(
        lambda: plan_addresses(
            space(),
            [link("up", (OWN, "up"), ("pop:a", "a"), ("pop:b", "b"), fixed=fixed)],
            [],
            SETTINGS,
        )
    )
    assert error.quota_violations[0].subject == "link:up"


def test_a_constraint_with_a_malformed_excluded_address_is_invalid() -> None:
    fixed = AddressConstraint("up", "10.9.0.0/24", excluded=("10.9.0.x",))
    with pytest.raises(InvalidArgument) as info:
        plan_addresses(
            space(), [link("up", (OWN, "up"), ("pop:a", "a"), fixed=fixed)], [], SETTINGS
        )
    assert info.value.field_violations[0].field == "constraints[up]"


# --- customer NAPs at the top --------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "nap", "subnet", "own", "peer"),
    [
        ("10.1.0.0/16", "192.0.2.7/32", "192.0.2.6/31", "192.0.2.7/31", "192.0.2.6/31"),
        ("10.1.0.0/16", "192.0.2.8", "192.0.2.8/31", "192.0.2.8/31", "192.0.2.9/31"),
        ("2001:db8:1::/48", "fd99::5/128", "fd99::4/127", "fd99::5/127", "fd99::4/127"),
    ],
)
def test_a_nap_sits_on_the_transit_pair_that_holds_it(
    block: str, nap: str, subnet: str, own: str, peer: str
) -> None:
    plan = plan_addresses(
        space(block), [link("in", (OWN, "in"), ("pop:a", "fw:in"), nap=nap)], [], SETTINGS
    )
    lp = plan.links["in"]
    assert (lp.subnet, lp.gateway) == (subnet, "")
    assert lp.addresses == {"in": own, "fw:in": peer}
    assert set(lp.macs) == {"fw:in"}


def test_a_nap_in_front_of_a_delegated_part_hands_it_the_peer_address() -> None:
    plan = plan_addresses(
        space(), [link("in", (OWN, "in"), ("sp:x", "x:in"), nap="192.0.2.7/32")], ["sp:x"], SETTINGS
    )
    c = plan.constraint("sp:x", "x:in", "in")
    assert (c.prefix, c.subnet, c.gateway, c.excluded) == ("192.0.2.6/32", "192.0.2.6/31", "", ())


@pytest.mark.parametrize(
    ("nap", "error", "says"),
    [
        ("192.0.2.0/24", InvalidArgument, "names a network"),
        ("customer", InvalidArgument, "not an address"),
        ("fd99::5/128", FailedPrecondition, "IPv6"),
        ("10.1.2.3/32", FailedPrecondition, "inside the service's own block"),
    ],
)
def test_a_nap_that_is_not_a_host_address_outside_the_block_is_refused(
    nap: str, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        plan_addresses(
            space(), [link("in", (OWN, "in"), ("pop:a", "fw:in"), nap=nap)], [], SETTINGS
        )


def test_a_nap_link_touching_several_interfaces_is_refused() -> None:
    with pytest.raises(FailedPrecondition, match="not 2"):
        plan_addresses(
            space(),
            [link("in", (OWN, "in"), ("pop:a", "a"), ("pop:b", "b"), nap="192.0.2.7/32")],
            [],
            SETTINGS,
        )


@pytest.mark.parametrize("other", ["192.0.2.7/32", "192.0.2.6/32"])
def test_two_naps_in_one_transit_pair_are_refused(other: str) -> None:
    """Each side would take the other's customer address."""
    with pytest.raises(FailedPrecondition, match=r"192\.0\.2\.6/31"):
        plan_addresses(
            space(),
            [
                link("in", (OWN, "in"), ("pop:a", "fw:in"), nap="192.0.2.7/32"),
                link("out", (OWN, "out"), ("pop:a", "fw:out"), nap=other),
            ],
            [],
            SETTINGS,
        )


# --- descriptors' cidr hints ---------------------------------------------------------


def test_a_cidr_inside_the_block_is_honoured_even_across_parts() -> None:
    plan = plan_addresses(
        space(),
        [
            link("mgmt", ("pop:a", "a"), cidr="10.1.200.0/24"),
            link("wan", ("pop:a", "b"), ("sp:x", "c"), cidr="10.1.201.16/28"),
            link("own", ("pop:a", "d"), internal=True, cidr="10.1.202.0/29"),
        ],
        ["sp:x"],
        SETTINGS,
    )
    assert plan.links["mgmt"].subnet == "10.1.200.0/24"
    assert plan.links["mgmt"].addresses == {"a": "10.1.200.2/24"}
    assert plan.links["wan"].slices == {"pop:a": "10.1.201.16/29", "sp:x": "10.1.201.24/29"}
    assert plan.links["own"].subnet == "10.1.202.0/29"
    assert not plan.links["own"].private


def test_a_cidr_outside_the_block_is_refused_naming_the_field() -> None:
    with pytest.raises(FailedPrecondition) as info:
        plan_addresses(space(), [link("mgmt", ("pop:a", "a"), cidr="192.168.0.0/24")], [], SETTINGS)
    assert [v.field for v in info.value.field_violations] == ["virtual_links[mgmt].cidr"]


def test_a_functions_own_link_outside_the_block_is_a_private_network() -> None:
    plan = plan_addresses(
        space(),
        [
            link(
                "fw/int",
                ("pop:a", "fw/a:0"),
                ("pop:a", "fw/b:0"),
                internal=True,
                cidr="192.168.7.0/24",
            )
        ],
        [],
        SETTINGS,
    )
    lp = plan.links["fw/int"]
    assert (lp.private, lp.subnet, lp.gateway, lp.slices) == (
        True,
        "192.168.7.0/24",
        "192.168.7.1",
        {},
    )
    assert lp.addresses == {"fw/a:0": "192.168.7.2/24", "fw/b:0": "192.168.7.3/24"}
    assert lp.vni == 100


def test_a_cidr_that_is_no_prefix_or_overlaps_another_is_refused() -> None:
    with pytest.raises(InvalidArgument) as bad:
        plan_addresses(space(), [link("l", ("pop:a", "a"), cidr="ten/8")], [], SETTINGS)
    assert bad.value.field_violations[0].field == "virtual_links[l].cidr"
    with pytest.raises(FailedPrecondition, match="taken") as taken:
        plan_addresses(
            space(),
            [
                link("l", ("pop:a", "a"), cidr="10.1.0.0/24"),
                link("m", ("pop:a", "b"), cidr="10.1.0.128/25"),
            ],
            [],
            SETTINGS,
        )
    assert taken.value.field_violations[0].field == "virtual_links[m].cidr"


# --- exhaustion and bad spaces -------------------------------------------------------


def test_more_parts_than_mac_sub_blocks_are_exhausted_naming_the_mac_block() -> None:
    # part_block_bits=1: two sub-blocks, one of them the node's own
    error = exhausted(
        lambda: plan_addresses(space(), [], ["sp:0", "sp:1"], PlanSettings(part_block_bits=1))
    )
    assert error.quota_violations[0].subject == f"macs:{MACS}"


def test_more_parts_than_the_block_holds_are_exhausted_naming_the_pool() -> None:
    error = exhausted(
        lambda: plan_addresses(space("10.0.0.0/31"), [], ["sp:0", "sp:1", "sp:2"], SETTINGS)
    )
    assert error.quota_violations[0].subject == "pool:service:10.0.0.0/31"


def test_too_many_links_exhaust_the_block_and_the_error_names_the_owner() -> None:
    links = [link(f"l{i}", ("pop:a", f"e{i}")) for i in range(9)]
    error = exhausted(
        lambda: plan_addresses(space("10.0.0.0/24"), links, [], SETTINGS, owner="svc-42")
    )
    assert error.quota_violations[0].subject == "pool:svc-42:10.0.0.0/24"


def test_too_many_endpoints_exhaust_a_slice_and_the_error_names_the_link() -> None:
    endpoints = [("pop:a", f"e{i}") for i in range(6)]
    error = exhausted(
        lambda: plan_addresses(space(), [link("lan", *endpoints)], [], PlanSettings(29, 24, 3))
    )
    # a /29 has 6 hosts, one of which is the gateway
    assert error.quota_violations[0].subject == "link:lan"
    assert "e5" in error.message


def test_too_few_vnis_for_the_parts_or_the_links_are_exhausted() -> None:
    few = exhausted(
        lambda: plan_addresses(space(vnis=IdRange(1, 2)), [], ["sp:x", "sp:y"], SETTINGS)
    )
    assert few.quota_violations[0].subject == "vnis:1-2"
    links = [link(f"l{i}", ("pop:a", f"e{i}")) for i in range(3)]
    dry = exhausted(lambda: plan_addresses(space(vnis=IdRange(1, 2)), links, [], SETTINGS))
    assert dry.quota_violations[0].subject == "pool:vnis"


def test_too_many_interfaces_for_the_mac_block_are_exhausted() -> None:
    # a /45 split 8 ways leaves the node one MAC
    error = exhausted(
        lambda: plan_addresses(
            space(macs="02:5f:00:00:00:00/45"),
            [link("l", ("pop:a", "a"), ("pop:a", "b"))],
            [],
            SETTINGS,
        )
    )
    assert error.quota_violations[0].subject == "macs:02:5f:00:00:00:00/48"


@pytest.mark.parametrize(
    ("changes", "says"),
    [({"block": "10.0.0.1/16"}, "address_space"), ({"macs": "02:5f:00:00:00:01/32"}, "mac_prefix")],
)
def test_a_space_with_host_bits_is_invalid(changes: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidArgument, match=says):
        plan_addresses(replace(space(), **changes), [], [], SETTINGS)  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------


def _span(text: str) -> tuple[int, int]:
    first, last = address_range(text)
    return int(first), int(last)


def _disjoint(spans: Iterable[tuple[int, int]]) -> bool:
    return all(a[1] < b[0] for a, b in itertools.pairwise(sorted(spans)))


def _mac_inside(inner: MacBlock, outer: MacBlock) -> bool:
    return outer.start <= inner.start and inner.start + inner.size <= outer.start + outer.size


def _own_vnis(space: ServiceSpace, delegated: list[str]) -> IdRange:
    if not delegated:
        return space.vnis
    return IdRange(space.vnis.first, space.vnis.first + max(1, space.vnis.size // 2) - 1)


def _forbidden(lp: LinkPlan, demand: LinkDemand, subnet: Network) -> set[int]:
    """Addresses no interface of the link may take."""
    out = {int(ipaddress.ip_address(a)) for a in (lp.gateway, *lp.excluded) if a}
    if demand.fixed is not None:
        out |= {int(ipaddress.ip_address(a)) for a in demand.fixed.excluded}
    out |= {int(a) for a in reserved_addresses(subnet)}
    return out


def _check_shape(lp: LinkPlan, demand: LinkDemand, inputs: PlanInputs) -> None:
    """Subnet, gateway, slices, VNI and MTU of one link, by its kind."""
    space_, _, _, plan_settings = inputs
    block = parse_network(space_.block)
    subnet = parse_network(lp.subnet)
    parts = {e.part for e in demand.endpoints}
    gateway = str(subnet.network_address + 1) if subnet.num_addresses > 2 else ""
    if demand.fixed is not None:
        c = demand.fixed
        assert lp.subnet == str(parse_network(c.subnet or c.prefix))
        assert lp.gateway == c.gateway
        assert lp.mtu == min(m for m in (c.mtu, space_.mtu) if m)
        if c.vni is not None:
            assert lp.vni == c.vni.first
        assert set(lp.slices) == parts - {OWN}
        low, high = _span(c.prefix)
        assert all(low <= s[0] and s[1] <= high for s in map(_span, lp.slices.values()))
        return
    assert not lp.excluded
    if demand.nap:
        customer = ipaddress.ip_interface(demand.nap).ip
        assert customer in subnet
        assert (subnet.num_addresses, lp.gateway) == (2, "")
        assert lp.slices[OWN] == f"{customer}/{customer.max_prefixlen}"
        return
    if lp.private:
        assert demand.internal
        assert demand.cidr
        assert subnet.version != block.version or not subnet.subnet_of(block)  # type: ignore[arg-type]
        assert lp.subnet == str(ipaddress.ip_network(demand.cidr, strict=False))
        assert (lp.gateway, lp.slices) == (gateway, {})
        return
    assert subnet.version == block.version
    assert subnet.subnet_of(block)  # type: ignore[arg-type]
    transit = (
        demand.connectivity is ConnectivityType.E_LINE
        and len(parts) == 2
        and all(sum(e.part == p for e in demand.endpoints) == 1 for p in parts)
    )
    if demand.cidr:
        assert subnet == ipaddress.ip_network(demand.cidr, strict=False)
    elif transit:
        assert subnet.num_addresses == 2
    else:
        v4 = block.version == 4
        length = (
            (plan_settings.crossing_link_prefix_length if v4 else 56)
            if len(parts) > 1
            else (plan_settings.link_prefix_length if v4 else 64)
        )
        assert subnet.prefixlen == max(length, block.prefixlen)
    assert set(lp.slices) == parts
    if transit and subnet.num_addresses == 2:
        assert lp.gateway == ""
        assert sorted(map(_span, lp.slices.values())) == [
            (int(subnet.network_address),) * 2,
            (int(subnet.broadcast_address),) * 2,
        ]
    else:
        assert lp.gateway == gateway
        for s in lp.slices.values():
            assert parse_network(s).subnet_of(subnet)  # type: ignore[arg-type]


def check_plan(inputs: PlanInputs, plan: AddressPlan) -> None:
    """Every promise of the planner; raises AssertionError naming the broken one."""
    space_, demands, delegated, plan_settings = inputs
    block = parse_network(space_.block)
    assert (plan.block, plan.space) == (str(block), space_)
    assert set(plan.part_spaces) == set(delegated)
    assert plan.part_blocks == {p: s.block for p, s in plan.part_spaces.items()}
    own_vnis = _own_vnis(space_, delegated)
    macs = parse_mac_block(space_.macs)
    own_macs = macs.split(plan_settings.part_block_bits)[0]
    part_macs = [parse_mac_block(s.macs) for s in plan.part_spaces.values()]
    assert all(_mac_inside(m, macs) for m in part_macs), "a part's MACs outside the service's"
    assert _disjoint((m.start, m.start + m.size - 1) for m in [own_macs, *part_macs])
    vni_ranges = [(own_vnis.first, own_vnis.last)]
    for part, ps in plan.part_spaces.items():
        assert (ps.port_id_prefix, ps.mtu) == (f"{space_.port_id_prefix}{part}/", space_.mtu)
        assert space_.vnis.first <= ps.vnis.first <= ps.vnis.last <= space_.vnis.last
        vni_ranges.append((ps.vnis.first, ps.vnis.last))
    assert _disjoint(vni_ranges), "the parts' VNIs overlap each other or the node's own"
    allocated: list[Network] = [parse_network(b) for b in plan.part_blocks.values()]
    taken: dict[int, str] = {}
    macs_seen: set[str] = set()
    port_ids: set[str] = set()
    vnis: set[int] = set()
    for demand in demands:
        parts = {e.part for e in demand.endpoints}
        if demand.fixed is None and len(parts) == 1 and parts <= set(delegated):
            assert demand.link not in plan.links, "a link inside one lower SP is its own business"
            continue
        lp = plan.links[demand.link]
        assert (lp.link, lp.dhcp) == (demand.link, demand.dhcp)
        _check_shape(lp, demand, inputs)
        subnet = parse_network(lp.subnet)
        if demand.fixed is None and not demand.nap and not lp.private:
            allocated.append(subnet)
        if demand.fixed is None or demand.fixed.vni is None:
            assert lp.vni in own_vnis, f"link {lp.link}'s VNI {lp.vni} is not the node's own"
        if demand.fixed is None:
            assert lp.mtu == space_.mtu
        assert lp.vni not in vnis, f"VNI {lp.vni} twice"
        vnis.add(lp.vni)
        assert _disjoint(map(_span, lp.slices.values())), f"slices of {lp.link} overlap"
        for s in lp.slices.values():
            low, high = _span(s)
            assert int(subnet.network_address) <= low <= high <= int(subnet.broadcast_address)
        forbidden = _forbidden(lp, demand, subnet)
        addressed = {
            e.name
            for e in demand.endpoints
            if e.part not in delegated and (lp.private or e.part in lp.slices)
        }
        assert set(lp.addresses) == addressed
        local = {e.name for e in demand.endpoints if e.name in addressed and e.part != OWN}
        assert set(lp.macs) == set(lp.port_ids) == local
        for e in demand.endpoints:
            if e.name not in addressed:
                continue
            iface = ipaddress.ip_interface(lp.addresses[e.name])
            assert iface.network == subnet, f"{iface} does not use the link's subnet {subnet}"
            assert int(iface.ip) not in forbidden, f"{iface} is excluded on {lp.link}"
            if not lp.private:
                low, high = _span(lp.slices[e.part])
                assert low <= int(iface.ip) <= high, f"{iface} outside its part's slice"
                assert int(iface.ip) not in taken, (
                    f"{iface.ip} for {taken.get(int(iface.ip))} and {e.name}"
                )
                taken[int(iface.ip)] = e.name
            if e.part != OWN:
                assert lp.macs[e.name] in own_macs, f"MAC {lp.macs[e.name]} not the node's own"
                assert lp.port_ids[e.name] == f"{space_.port_id_prefix}{e.name}"
                assert lp.macs[e.name] not in macs_seen, f"MAC {lp.macs[e.name]} twice"
                assert lp.port_ids[e.name] not in port_ids, f"port id {lp.port_ids[e.name]} twice"
                macs_seen.add(lp.macs[e.name])
                port_ids.add(lp.port_ids[e.name])
            if demand.fixed is not None:
                answer = AddressAssignment(
                    "p", lp.addresses[e.name], lp.macs[e.name], lp.port_ids[e.name], lp.vni, lp.mtu
                )
                assert assignment_problems(demand.fixed, answer, "node") == []
        for part in set(lp.slices) & set(delegated):
            check_constraint(plan, part, lp, demand)
    for i, a in enumerate(allocated):
        assert a.version == block.version
        assert a.subnet_of(block), f"{a} outside the block"  # type: ignore[arg-type]
        assert all(not a.overlaps(b) for b in allocated[i + 1 :]), f"{a} overlaps"  # type: ignore[arg-type]
    for part in delegated:
        assert set(plan.boundary(part)) == {k for k, lp in plan.links.items() if part in lp.slices}


def check_constraint(plan: AddressPlan, part: str, lp: LinkPlan, demand: LinkDemand) -> None:
    """What a delegated part is told about its slice of a link."""
    c = plan.constraint(part, "point", lp.link)
    ps = plan.part_spaces[part]
    assert (c.connection_point, c.prefix, c.subnet, c.gateway) == (
        "point",
        lp.slices[part],
        lp.subnet,
        lp.gateway,
    )
    assert (c.vni, c.mac_prefix, c.port_id_prefix, c.mtu) == (
        IdRange(lp.vni, lp.vni),
        ps.macs,
        ps.port_id_prefix,
        lp.mtu,
    )
    low, high = _span(c.prefix)
    subnet = parse_network(lp.subnet)
    expected = {int(ipaddress.ip_address(a)) for a in (lp.gateway, *lp.excluded) if a}
    expected |= {int(a) for a in reserved_addresses(subnet)}
    if demand.fixed is not None:
        expected |= {int(ipaddress.ip_address(a)) for a in demand.fixed.excluded}
    assert {int(ipaddress.ip_address(a)) for a in c.excluded} == {
        a for a in expected if low <= a <= high
    }


def check_lower_plans(inputs: PlanInputs, plan: AddressPlan) -> None:
    """Each delegated part plans inside what it was given (one point per boundary link, an
    interface on it, and a link of its own): nothing collides across the two levels, and
    every answer passes the upper SP's check and the constraint the link had from above."""
    _, demands, _, plan_settings = inputs
    by_link = {d.link: d for d in demands}
    addresses = {
        a.split("/")[0]
        for lp in plan.links.values()
        if not lp.private
        for a in lp.addresses.values()
    }
    macs = {m for lp in plan.links.values() for m in lp.macs.values()}
    port_ids = {p for lp in plan.links.values() for p in lp.port_ids.values()}
    top_vnis = {lp.vni for lp in plan.links.values()}
    for part, part_space in plan.part_spaces.items():
        given = {k: plan.constraint(part, f"{part}:{k}", k) for k in plan.boundary(part)}
        lower_demands = [
            link(k, (OWN, c.connection_point), ("pop:l", f"{part}/{k}/0"), fixed=c)
            for k, c in given.items()
        ]
        lower_demands.append(link("own", ("pop:l", f"{part}/own/0"), ("pop:l", f"{part}/own/1")))
        lower = _plan_or_exhausted((part_space, lower_demands, [], plan_settings), deeper=False)
        if lower is None:
            continue
        for k, lp in lower.links.items():
            for name, address in lp.addresses.items():
                bare = address.split("/")[0]
                assert bare not in addresses, f"{bare} given at both levels"
                addresses.add(bare)
                assert lp.macs[name] not in macs, f"MAC {lp.macs[name]} at both levels"
                assert lp.port_ids[name] not in port_ids, f"{lp.port_ids[name]} at both levels"
                macs.add(lp.macs[name])
                port_ids.add(lp.port_ids[name])
                if k not in given:
                    continue
                answer = AddressAssignment(
                    k, address, lp.macs[name], lp.port_ids[name], lp.vni, lp.mtu
                )
                assert assignment_problems(given[k], answer, part) == []
                upper = by_link[k].fixed
                if upper is not None:
                    assert assignment_problems(upper, answer, part) == []
            if k not in given:
                assert lp.vni in part_space.vnis
                assert lp.vni not in top_vnis


def _plan_or_exhausted(inputs: PlanInputs, *, deeper: bool = True) -> AddressPlan | None:
    """The plan, checked (and, if ``deeper``, the lower SPs' plans inside it), or None when
    the inputs exhaust a resource, which the error must name."""
    exhaustion: ResourceExhausted | None = None
    try:
        plan = plan_addresses(*inputs)
    except ResourceExhausted as exc:
        exhaustion = exc
    if exhaustion is not None:
        assert exhaustion.quota_violations, "an exhaustion names what ran out"
        return None
    check_plan(inputs, plan)
    if deeper:
        check_lower_plans(inputs, plan)
    return plan


PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(PROPERTY, max_examples=400)
@given(plan_inputs(4))
def test_ipv4_plans_keep_every_promise(inputs: PlanInputs) -> None:
    _plan_or_exhausted(inputs)


@settings(PROPERTY, max_examples=300)
@given(plan_inputs(6))
def test_ipv6_plans_keep_every_promise(inputs: PlanInputs) -> None:
    _plan_or_exhausted(inputs)


@settings(PROPERTY, max_examples=100)
@given(plan_inputs(4))
def test_a_roomy_space_never_runs_dry(inputs: PlanInputs) -> None:
    """The same demands in a /8 with room for VNIs and MACs always fit (descriptor hints
    and upper constraints dropped: they were chosen for the small block)."""
    _, demands, delegated, _ = inputs
    roomy = ServiceSpace("10.0.0.0/8", IdRange(1, 10_000), "02:00:00:00:00:00/24", "r/", 1500)
    kept = [replace(d, fixed=None, cidr=d.cidr if d.internal else "") for d in demands]
    plan = plan_addresses(roomy, kept, delegated, PlanSettings())
    check_plan((roomy, kept, delegated, PlanSettings()), plan)


@settings(deadline=None, max_examples=60)
@given(st.integers(1, 9), st.integers(1, 4))
def test_a_space_holds_one_part_fewer_than_its_sub_blocks(parts: int, bits: int) -> None:
    """Split 2**bits ways, one sub-block is the node's own: 2**bits - 1 parts fit, no more."""
    delegated = [f"sp:{i}" for i in range(parts)]
    plan_settings = PlanSettings(part_block_bits=bits)
    if parts >= 2**bits:
        exhausted(lambda: plan_addresses(space(), [], delegated, plan_settings))
    else:
        plan = plan_addresses(space(), [], delegated, plan_settings)
        assert len(plan.part_spaces) == parts
