"""``spfed.lifecycle.wan``: which links of a service cross the node's WAN, and toward where."""

from __future__ import annotations

from typing import cast

import pytest

from spfed.config import BorderConfig
from spfed.errors import AlreadyExists, FailedPrecondition
from spfed.lifecycle.wan import (
    WanDemand,
    book_wan,
    connectivity_id,
    connectivity_prefix,
    wan_demands,
)
from spfed.model import ConnectivityType, QosRequirements, WimService, parse_part
from upper_sp.graph import GraphLink
from wim import ConnectivityRequest, Wim

LINE = ConnectivityType.E_LINE
LAN = ConnectivityType.E_LAN
BORDERS = (
    BorderConfig("to-w", "de", peer="w"),
    BorderConfig("to-v", "us", peer="v"),
    BorderConfig("up", "nl", peer="retail"),
    BorderConfig("customers", "nl"),
)
PARTS = {
    m: parse_part(p)
    for m, p in {
        "fw": "pop:ams",
        "dpi": "pop:fra",
        "nat": "sp:w",
        "cdn": "sp:v",
        "log": "pop:ams",
    }.items()
}


def link(link_id: str, *refs: str, kind: ConnectivityType = LINE, **qos: float) -> GraphLink:
    return GraphLink(link_id, kind, refs, QosRequirements(**qos))


def test_links_inside_one_pop_or_one_lower_sp_stay_off_the_wan() -> None:
    links = [link("a", "fw:o", "log:i"), link("b", "nat:o", "nat:i")]
    assert wan_demands(links, PARTS, "acme", BORDERS) == []


def test_pop_to_pop_and_pop_to_lower_sp_links_join_pops_and_borders() -> None:
    links = [
        link("fw-2-dpi", "fw:o", "dpi:i", minimum_bandwidth_mbps=100),
        link("dpi-2-nat", "dpi:o", "nat:i", bandwidth_limit_mbps=50),
        link("nat-2-cdn", "nat:o", "cdn:i"),
    ]
    assert wan_demands(links, PARTS, "acme", BORDERS) == [
        WanDemand("fw-2-dpi", ("ams", "fra"), WimService.E_LINE, 100.0),
        WanDemand("dpi-2-nat", ("fra", "to-w"), WimService.E_LINE, 50.0),
        # the upper SP's WIM joins the lower SPs' border points
        WanDemand("nat-2-cdn", ("to-w", "to-v"), WimService.E_LINE, 0.0),
    ]


def test_a_minimum_bandwidth_wins_over_a_limit() -> None:
    links = [link("l", "fw:o", "dpi:i", minimum_bandwidth_mbps=10, bandwidth_limit_mbps=90)]
    assert wan_demands(links, PARTS, "acme", BORDERS)[0].bandwidth_mbps == 10.0


def test_three_ends_make_an_e_lan_and_each_end_counts_once() -> None:
    links = [link("mgmt", "fw:m", "log:m", "dpi:m", "nat:m", kind=LAN)]
    assert wan_demands(links, PARTS, "acme", BORDERS) == [
        WanDemand("mgmt", ("ams", "fra", "to-w"), WimService.E_LAN, 0.0)
    ]


def test_own_points_attach_through_the_border_toward_the_upper_sp() -> None:
    links = [link("input", "input", "fw:i"), link("output", "dpi:o", "output")]
    assert wan_demands(links, PARTS, "retail", BORDERS) == [
        WanDemand("input", ("up", "ams"), WimService.E_LINE, 0.0),
        WanDemand("output", ("fra", "up"), WimService.E_LINE, 0.0),
    ]
    # a customer's service: its own points are the customer's access, not the WAN's
    assert wan_demands(links, PARTS, "acme", BORDERS) == []


def test_a_lower_sp_without_a_border_toward_it_is_refused_naming_it() -> None:
    links = [link("l", "fw:o", "nat:i")]
    with pytest.raises(FailedPrecondition) as info:
        wan_demands(links, PARTS, "acme", BORDERS[1:])
    assert "lower SP w" in info.value.message
    assert info.value.field_violations[0].field == "catalogue.borders"


def test_connectivity_ids_share_the_service_prefix() -> None:
    assert connectivity_id("s1", "fw-2-dpi") == "s1/fw-2-dpi"
    assert connectivity_id("s1", "ns/x").startswith(connectivity_prefix("s1"))
    assert not connectivity_id("s10", "x").startswith(connectivity_prefix("s1"))


def test_each_demand_carries_its_links_plan_vni() -> None:
    links = [link("fw-2-dpi", "fw:o", "dpi:i"), link("dpi-2-nat", "dpi:o", "nat:i")]
    demands = wan_demands(links, PARTS, "acme", BORDERS, {"fw-2-dpi": 100002})
    assert [(d.link, d.vni) for d in demands] == [("fw-2-dpi", 100002), ("dpi-2-nat", 0)]


async def test_booking_names_the_links_layer_2_domain_on_every_endpoint() -> None:
    asked: list[tuple[str, ConnectivityRequest]] = []

    class Recording:
        async def create_connectivity_service(
            self, request: ConnectivityRequest, *, service_id: str = ""
        ) -> None:
            if service_id.endswith("/again"):
                raise AlreadyExists(service_id)
            asked.append((service_id, request))

    demands = [
        WanDemand("a", ("ams", "fra"), WimService.E_LINE, 10.0, vni=7),
        WanDemand("again", ("ams", "fra"), WimService.E_LINE, 0.0),
    ]
    created = await book_wan(cast(Wim, Recording()), "s1", demands)
    assert created == 1
    [(sid, request)] = asked
    assert sid == "s1/a"
    assert [(p.node, p.interface) for p in request.endpoints] == [
        ("ams", "vni7"),
        ("fra", "vni7"),
    ]
    assert request.bandwidth_mbps == 10.0
