"""``build_catalogue``: own and re-published offers, prices, capacity, SLA, own-only fields,
withdrawals and validity."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings

from capability_catalog.builder import Offering, PopCapacity, build_catalogue
from spfed.model import (
    BorderPoint,
    Catalogue,
    ConnectionPoint,
    ConnectionPointType,
    DescriptorRef,
    InterfaceType,
    NetworkServiceDescriptor,
    Offer,
    OfferKind,
    Price,
    RegionCapacity,
    RegionSla,
    Resources,
    VnfDescriptor,
    WimService,
)
from tests.strategies import aggregation_inputs
from tests.unit.upper_sp.builders import catalogue, nsd, offer, ref, vnfd

T = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = T + timedelta(days=1)
FN, SVC = OfferKind.NETWORK_FUNCTION, OfferKind.NETWORK_SERVICE


def res(vcpus: int) -> Resources:
    return Resources(vcpus, vcpus * 1024, vcpus * 10)


def pops(*regions: str, free: int = 4) -> list[PopCapacity]:
    return [PopCapacity(r, res(8), res(free)) for r in regions]


def build(
    vnfds: list[VnfDescriptor] | None = None,
    nsds: list[NetworkServiceDescriptor] | None = None,
    own: list[PopCapacity] | None = None,
    lower: list[Catalogue] | None = None,
    offering: Offering | None = None,
    valid_until: datetime = UNTIL,
) -> Catalogue:
    return build_catalogue(
        "retail", 7, T, valid_until, vnfds or [], nsds or [], own or [], lower or [], offering
    )


def find(cat: Catalogue, kind: OfferKind, name: str, version: str = "1.0") -> Offer | None:
    return cat.find(kind, ref(name, version))


def test_identity_of_the_version() -> None:
    cat = build()
    assert (cat.publisher, cat.version, cat.issue_time, cat.offers, cat.regions) == (
        "retail",
        7,
        T,
        (),
        (),
    )


def test_own_functions_are_offered_in_every_own_region() -> None:
    fw = vnfd("fw", vcpus=2, memory_mib=2048)
    cat = build([fw], own=pops("us", "eu", "eu"))
    offer_ = find(cat, FN, "fw")
    assert offer_ is not None
    assert offer_.regions == ("eu", "us")
    assert offer_.resources == fw.resources() == Resources(2, 2048, 1)
    assert offer_.connection_points == tuple(
        ConnectionPoint(cp.id, cp.interface, cp.type) for cp in fw.connection_points
    )


def test_published_points_carry_no_fixed_addresses() -> None:
    fw = VnfDescriptor(
        ref("fw"),
        connection_points=(
            ConnectionPoint(
                "in", InterfaceType.IPV4, ConnectionPointType.EXTERNAL, "aa:bb", "10.0.0.1", 80
            ),
        ),
    )
    offer_ = find(build([fw], own=pops("eu")), FN, "fw")
    assert offer_ is not None
    assert offer_.connection_points == (
        ConnectionPoint("in", InterfaceType.IPV4, ConnectionPointType.EXTERNAL),
    )


def test_without_own_pops_own_functions_are_not_offered() -> None:
    assert build([vnfd("fw")]).offers == ()


def test_lower_offers_are_republished_merged_and_without_naming_them() -> None:
    lower = [
        catalogue("lower-a", [offer(FN, "fw", regions=("eu",), vcpus=3)], {"eu": res(2)}),
        catalogue("lower-b", [offer(FN, "fw", regions=("us", "eu"), vcpus=5)], {"us": res(6)}),
    ]
    cat = build(lower=lower)
    [fw] = cat.offers
    assert fw.kind is FN
    assert fw.regions == ("eu", "us")
    assert fw.resources == Resources(3, 512, 1)  # the first seen wins
    assert cat.publisher == "retail"
    assert "lower-a" not in repr(cat)
    assert "lower-b" not in repr(cat)


def test_own_and_lower_offers_of_one_function_merge_regions() -> None:
    cat = build(
        [vnfd("fw")], own=pops("eu"), lower=[catalogue("l", [offer(FN, "fw", regions=("ap",))])]
    )
    offer_ = find(cat, FN, "fw")
    assert offer_ is not None
    assert offer_.regions == ("ap", "eu")


def test_capacity_is_summed_by_region_over_own_pops_and_lower_sps() -> None:
    lower = [
        catalogue("l1", free={"eu": res(2), "ap": res(1)}),
        catalogue("l2", free={"eu": res(3)}),
    ]
    cat = build(own=pops("eu", "eu", "us", free=4), lower=lower)
    assert cat.regions == (
        RegionCapacity("ap", res(1), res(1), pops=1),
        RegionCapacity(
            "eu", res(8) + res(8) + res(2) + res(3), res(4) + res(4) + res(2) + res(3), pops=4
        ),
        RegionCapacity("us", res(8), res(4), pops=1),
    )
    assert cat.free_in("eu") == res(13)
    assert cat.free_in("") == res(18)


def test_a_service_is_offered_where_all_its_members_are() -> None:
    chain = nsd("chain", functions={"a": ref("fw"), "b": ref("ids")}, points=("in", "out"))
    lower = [catalogue("l", [offer(FN, "ids", regions=("eu", "ap"), vcpus=3)])]
    cat = build([vnfd("fw", vcpus=2)], [chain], pops("eu", "us"), lower)
    offer_ = find(cat, SVC, "chain")
    assert offer_ is not None
    assert offer_.regions == ("eu",)  # fw: eu, us; ids: eu, ap
    assert offer_.resources == Resources(5, 1024, 2)
    assert [cp.id for cp in offer_.connection_points] == ["in", "out"]


def test_a_service_with_an_undeliverable_member_is_not_offered() -> None:
    chain = nsd("chain", functions={"a": ref("fw"), "b": ref("ghost")})
    assert find(build([vnfd("fw")], [chain], pops("eu")), SVC, "chain") is None


def test_a_service_whose_members_share_no_region_is_not_offered() -> None:
    chain = nsd("chain", functions={"a": ref("fw"), "b": ref("ids")})
    lower = [catalogue("l", [offer(FN, "ids", regions=("ap",))])]
    assert find(build([vnfd("fw")], [chain], pops("eu"), lower), SVC, "chain") is None


def test_a_service_without_members_is_not_offered() -> None:
    assert find(build(nsds=[nsd("empty")], own=pops("eu")), SVC, "empty") is None


def test_nested_services_offered_below_count_as_members() -> None:
    outer = nsd("outer", functions={"a": ref("fw")}, services={"n": ref("dpi")})
    lower = [catalogue("l", [offer(SVC, "dpi", regions=("eu",), vcpus=7)])]
    offer_ = find(build([vnfd("fw")], [outer], pops("eu", "us"), lower), SVC, "outer")
    assert offer_ is not None
    assert offer_.regions == ("eu",)
    assert offer_.resources.vcpus == 8


def test_member_version_constraints_resolve_to_the_highest_matching_offer() -> None:
    outer = nsd("outer", functions={"a": ref("fw", ">= 1.0")})
    lower = [
        catalogue(
            "l",
            [
                offer(FN, "fw", "1.0", regions=("eu",), vcpus=1),
                offer(FN, "fw", "2.0", regions=("us",), vcpus=2),
                offer(FN, "fw", "0.9", regions=("ap",), vcpus=4),
            ],
        )
    ]
    offer_ = find(build(nsds=[outer], lower=lower), SVC, "outer")
    assert offer_ is not None
    assert (offer_.regions, offer_.resources.vcpus) == (("us",), 2)
    pinned = nsd("pinned", functions={"a": ref("fw", "<= 1.5")})
    offer_ = find(build(nsds=[pinned], lower=lower), SVC, "pinned")
    assert offer_ is not None
    assert (offer_.regions, offer_.resources.vcpus) == (("eu",), 1)


def test_offers_are_sorted_by_kind_then_descriptor() -> None:
    cat = build(
        [vnfd("zz"), vnfd("aa")],
        own=pops("eu"),
        lower=[catalogue("l", [offer(SVC, "b"), offer(FN, "mm")])],
    )
    assert [(o.kind, o.descriptor.name) for o in cat.offers] == [
        (FN, "aa"),
        (FN, "mm"),
        (FN, "zz"),
        (SVC, "b"),
    ]


# --- prices ------------------------------------------------------------------------


def eur(micros: int) -> Price:
    return Price(micros, "EUR")


def usd(micros: int) -> Price:
    return Price(micros, "USD")


def priced(o: Offer, price: Price | None) -> Offer:
    return replace(o, price=price)


def lower_sp(
    publisher: str,
    offers: list[Offer] | None = None,
    *,
    capacity: list[RegionCapacity] | None = None,
    valid_until: datetime | None = UNTIL,
    sla: tuple[RegionSla, ...] = (),
    borders: tuple[BorderPoint, ...] = (),
    wim_services: tuple[WimService, ...] = (),
    address_constraints: tuple[str, ...] = (),
) -> Catalogue:
    """A lower SP's catalogue with every field a node could be tempted to copy."""
    return Catalogue(
        publisher=publisher,
        version=3,
        issue_time=T,
        offers=tuple(offers or ()),
        regions=tuple(capacity or ()),
        valid_until=valid_until,
        sla=sla,
        borders=borders,
        wim_services=wim_services,
        address_constraints=address_constraints,
    )


def price_of(cat: Catalogue, kind: OfferKind, name: str, version: str = "1.0") -> Price | None:
    offer_ = find(cat, kind, name, version)
    assert offer_ is not None, (kind, name, version)
    return offer_.price


def test_own_functions_cost_what_the_configuration_says() -> None:
    offering = Offering(prices={ref("fw"): eur(120_000)})
    cat = build([vnfd("fw"), vnfd("nat")], own=pops("eu"), offering=offering)
    assert price_of(cat, FN, "fw") == eur(120_000)
    assert price_of(cat, FN, "nat") is None  # on request


def test_a_configured_price_for_another_version_does_not_apply() -> None:
    offering = Offering(prices={ref("fw", "2.0"): eur(1)})
    assert price_of(build([vnfd("fw")], own=pops("eu"), offering=offering), FN, "fw") is None


def test_a_republished_offer_keeps_the_cheapest_lower_price() -> None:
    lower = [
        lower_sp("lower-a", [priced(offer(FN, "fw"), eur(500))]),
        lower_sp("lower-b", [priced(offer(FN, "fw", regions=("us",)), None)]),
        lower_sp("lower-c", [priced(offer(FN, "fw"), eur(300))]),
        lower_sp("lower-d", [priced(offer(FN, "fw"), eur(400))]),
    ]
    cat = build(lower=lower)
    assert price_of(cat, FN, "fw") == eur(300)
    assert find(cat, FN, "fw") == priced(offer(FN, "fw", regions=("eu", "us")), eur(300))


def test_an_unpriced_lower_offer_does_not_hide_a_priced_one() -> None:
    lower = [
        lower_sp("lower-a", [offer(SVC, "dpi")]),
        lower_sp("lower-b", [priced(offer(SVC, "dpi"), eur(700))]),
    ]
    assert price_of(build(lower=lower), SVC, "dpi") == eur(700)
    assert price_of(build(lower=[lower_sp("lower-a", [offer(SVC, "dpi")])]), SVC, "dpi") is None


def test_own_and_lower_prices_of_one_function_keep_the_cheapest() -> None:
    lower = [lower_sp("lower-a", [priced(offer(FN, "fw", regions=("ap",)), eur(90))])]
    cheap_below = build(
        [vnfd("fw")], own=pops("eu"), lower=lower, offering=Offering(prices={ref("fw"): eur(100)})
    )
    assert price_of(cheap_below, FN, "fw") == eur(90)
    cheap_here = build(
        [vnfd("fw")], own=pops("eu"), lower=lower, offering=Offering(prices={ref("fw"): eur(80)})
    )
    assert price_of(cheap_here, FN, "fw") == eur(80)


def test_prices_in_other_currencies_are_not_compared_with_each_other() -> None:
    lower = [
        lower_sp("lower-a", [priced(offer(FN, "fw"), eur(500))]),
        lower_sp("lower-b", [priced(offer(FN, "fw"), usd(1))]),
        lower_sp("lower-c", [priced(offer(FN, "fw"), eur(300))]),
    ]
    published = price_of(build(lower=lower), FN, "fw")
    # which currency is not specified; within it, the cheapest price offered
    assert published in (eur(300), usd(1))


def chain_inputs() -> tuple[list[VnfDescriptor], list[NetworkServiceDescriptor], Catalogue]:
    chain = nsd("chain", functions={"a": ref("fw"), "b": ref("ids")}, services={"n": ref("dpi")})
    lower = lower_sp(
        "lower-a",
        [priced(offer(FN, "ids"), eur(30)), priced(offer(SVC, "dpi"), eur(200))],
    )
    return [vnfd("fw")], [chain], lower


def test_a_service_without_a_configured_price_costs_the_sum_of_its_members() -> None:
    vnfds, nsds, lower = chain_inputs()
    offering = Offering(prices={ref("fw"): eur(10)})
    cat = build(vnfds, nsds, pops("eu"), [lower], offering)
    assert price_of(cat, SVC, "chain") == eur(10 + 30 + 200)


def test_a_configured_service_price_is_used_as_it_is() -> None:
    vnfds, nsds, lower = chain_inputs()
    offering = Offering(prices={ref("fw"): eur(10), ref("chain"): usd(5)})
    cat = build(vnfds, nsds, pops("eu"), [lower], offering)
    assert price_of(cat, SVC, "chain") == usd(5)


def test_a_service_with_an_unpriced_member_has_no_price() -> None:
    vnfds, nsds, lower = chain_inputs()  # fw has no configured price
    cat = build(vnfds, nsds, pops("eu"), [lower])
    assert price_of(cat, SVC, "chain") is None


def test_a_service_whose_members_use_different_currencies_has_no_price() -> None:
    vnfds, nsds, lower = chain_inputs()
    offering = Offering(prices={ref("fw"): usd(10)})
    cat = build(vnfds, nsds, pops("eu"), [lower], offering)
    assert price_of(cat, SVC, "chain") is None


def test_a_service_sums_its_members_cheapest_prices() -> None:
    chain = nsd("chain", functions={"a": ref("fw"), "b": ref("ids")})
    lower = [
        lower_sp("lower-a", [priced(offer(FN, "fw"), eur(50)), priced(offer(FN, "ids"), eur(9))]),
        lower_sp("lower-b", [priced(offer(FN, "fw"), eur(40))]),
    ]
    assert price_of(build(nsds=[chain], lower=lower), SVC, "chain") == eur(49)


# --- capacity, SLA, own-only fields, withdrawals, validity -----------------------------


def test_pop_counts_are_summed_by_region() -> None:
    lower = [
        lower_sp("lower-a", capacity=[RegionCapacity("eu", res(4), res(2), pops=3)]),
        lower_sp(
            "lower-b",
            capacity=[
                RegionCapacity("eu", res(1), res(1), pops=2),
                RegionCapacity("ap", res(6), res(5), pops=5),
            ],
        ),
    ]
    cat = build(own=pops("eu", "eu", "us", free=4), lower=lower)
    assert [(rc.region, rc.pops) for rc in cat.regions] == [("ap", 5), ("eu", 7), ("us", 1)]
    eu = cat.regions[1]
    assert (eu.total, eu.free) == (
        res(8) + res(8) + res(4) + res(1),
        res(4) + res(4) + res(2) + res(1),
    )


def test_sla_keeps_per_pair_the_lowest_latency_then_the_highest_bandwidth() -> None:
    own = (
        RegionSla("eu", "us", 40, 100),
        RegionSla("eu", "ap", 90, 1000),
        RegionSla("us", "eu", 45, 100),
    )
    lower = [
        lower_sp("lower-a", sla=(RegionSla("eu", "us", 30, 50), RegionSla("eu", "ap", 90, 500))),
        lower_sp("lower-b", sla=(RegionSla("eu", "us", 30, 80), RegionSla("ap", "sa", 70, 10))),
        lower_sp("lower-c", sla=(RegionSla("eu", "us", 35, 900), RegionSla("us", "eu", 60, 9))),
    ]
    cat = build(lower=lower, offering=Offering(sla=own))
    assert cat.sla == (
        RegionSla("ap", "sa", 70, 10),  # only a lower SP reaches it
        RegionSla("eu", "ap", 90, 1000),  # equal latency: more bandwidth wins
        RegionSla("eu", "us", 30, 80),  # lowest latency, then most bandwidth
        RegionSla("us", "eu", 45, 100),  # own figure better than the lower one
    )


def test_sla_pairs_are_directed() -> None:
    own = (RegionSla("eu", "us", 40, 100),)
    lower = [lower_sp("lower-a", sla=(RegionSla("us", "eu", 10, 100),))]
    cat = build(lower=lower, offering=Offering(sla=own))
    assert cat.sla == (RegionSla("eu", "us", 40, 100), RegionSla("us", "eu", 10, 100))


def test_borders_wim_services_and_constraint_kinds_are_the_nodes_own() -> None:
    lower = [
        lower_sp(
            "lower-a",
            borders=(BorderPoint("lower-a-bp1", "eu"),),
            wim_services=(WimService.E_LAN,),
            address_constraints=("gateway",),
        )
    ]
    offering = Offering(
        borders=(BorderPoint("bp-eu", "eu", (WimService.E_LINE,)),),
        wim_services=(WimService.E_LINE,),
        address_constraints=("prefix", "subnet"),
    )
    cat = build(lower=lower, offering=offering)
    assert cat.borders == (BorderPoint("bp-eu", "eu", (WimService.E_LINE,)),)
    assert cat.wim_services == (WimService.E_LINE,)
    assert cat.address_constraints == ("prefix", "subnet")
    bare = build(lower=lower)
    assert (bare.borders, bare.wim_services, bare.address_constraints) == ((), (), ())
    assert "lower-a" not in repr(cat) + repr(bare)


def test_a_withdrawn_function_is_offered_neither_from_own_pops_nor_from_below() -> None:
    lower = [lower_sp("lower-a", [offer(FN, "fw", regions=("ap",)), offer(FN, "fw", "2.0")])]
    offering = Offering(withdrawn=frozenset({(FN, ref("fw"))}))
    cat = build([vnfd("fw"), vnfd("nat")], own=pops("eu"), lower=lower, offering=offering)
    assert [(o.kind, o.descriptor) for o in cat.offers] == [
        (FN, ref("fw", "2.0")),  # another version is another offer
        (FN, ref("nat")),
    ]


def test_withdrawing_a_function_offer_leaves_a_service_of_that_name_alone() -> None:
    lower = [lower_sp("lower-a", [offer(SVC, "fw")])]
    cat = build(lower=lower, offering=Offering(withdrawn=frozenset({(FN, ref("fw"))})))
    assert find(cat, SVC, "fw") is not None


def test_a_service_needing_a_withdrawn_function_is_left_out() -> None:
    chain = nsd("chain", functions={"a": ref("fw"), "b": ref("ids")})
    lower = [lower_sp("lower-a", [offer(FN, "ids")])]
    offering = Offering(withdrawn=frozenset({(FN, ref("ids"))}))
    cat = build([vnfd("fw")], [chain], pops("eu"), lower, offering)
    assert find(cat, SVC, "chain") is None
    assert find(cat, FN, "fw") is not None


def test_a_service_needing_a_withdrawn_nested_service_is_left_out() -> None:
    outer = nsd("outer", functions={"a": ref("fw")}, services={"n": ref("dpi")})
    lower = [lower_sp("lower-a", [offer(SVC, "dpi")])]
    offering = Offering(withdrawn=frozenset({(SVC, ref("dpi"))}))
    cat = build([vnfd("fw")], [outer], pops("eu"), lower, offering)
    assert [(o.kind, o.descriptor) for o in cat.offers] == [(FN, ref("fw"))]


def test_a_withdrawn_own_service_is_left_out() -> None:
    chain = nsd("chain", functions={"a": ref("fw")})
    offering = Offering(withdrawn=frozenset({(SVC, ref("chain"))}))
    cat = build([vnfd("fw")], [chain], pops("eu"), offering=offering)
    assert find(cat, SVC, "chain") is None
    assert find(build([vnfd("fw")], [chain], pops("eu")), SVC, "chain") is not None


def test_a_withdrawn_member_version_makes_a_constraint_pick_another_one() -> None:
    outer = nsd("outer", functions={"a": ref("fw", ">= 1.0")})
    lower = [
        lower_sp(
            "lower-a",
            [offer(FN, "fw", "1.0", regions=("eu",)), offer(FN, "fw", "2.0", regions=("us",))],
        )
    ]
    offering = Offering(withdrawn=frozenset({(FN, ref("fw", "2.0"))}))
    offer_ = find(build(nsds=[outer], lower=lower, offering=offering), SVC, "outer")
    assert offer_ is not None
    assert offer_.regions == ("eu",)


def test_a_version_is_valid_until_the_own_validity_without_lower_sps() -> None:
    assert build(valid_until=UNTIL).valid_until == UNTIL


def test_a_version_is_never_valid_longer_than_a_lower_catalogue() -> None:
    soon, later = T + timedelta(hours=2), T + timedelta(hours=5)
    lower = [lower_sp("lower-a", valid_until=later), lower_sp("lower-b", valid_until=soon)]
    assert build(lower=lower, valid_until=UNTIL).valid_until == soon
    assert build(lower=lower, valid_until=T + timedelta(hours=1)).valid_until == T + timedelta(
        hours=1
    )


# --- properties --------------------------------------------------------------------


AggregationInputs = tuple[
    list[tuple[str, Resources, Resources]],
    list[VnfDescriptor],
    list[NetworkServiceDescriptor],
    list[Catalogue],
]


@settings(deadline=None, max_examples=150)
@given(aggregation_inputs())
def test_aggregation_never_advertises_more_than_there_is(inputs: AggregationInputs) -> None:
    own, vnfds, nsds, lowers = inputs
    cat = build_catalogue(
        "retail", 1, T, UNTIL, vnfds, nsds, [PopCapacity(r, t, f) for r, t, f in own], lowers
    )
    own_regions = {r for r, _, _ in own}
    lower_regions = {rc.region for c in lowers for rc in c.regions}
    offered_below = {r for c in lowers for o in c.offers for r in o.regions}

    # capacity: exactly the sum of what own PoPs and lower SPs have, region by region
    assert {rc.region for rc in cat.regions} == own_regions | lower_regions
    for rc in cat.regions:
        free = sum((f for r, _, f in own if r == rc.region), Resources())
        total = sum((t for r, t, _ in own if r == rc.region), Resources())
        for c in lowers:
            free = sum((x.free for x in c.regions if x.region == rc.region), free)
            total = sum((x.total for x in c.regions if x.region == rc.region), total)
        assert (rc.free, rc.total) == (free, total)

    # offers: nowhere that neither own PoPs nor lower SPs deliver
    keys = [(o.kind, o.descriptor) for o in cat.offers]
    assert len(keys) == len(set(keys))
    for o in cat.offers:
        assert set(o.regions) <= own_regions | offered_below, o

    # every lower offer is re-published (regions included), own functions only with own PoPs
    for c in lowers:
        for o in c.offers:
            published = cat.find(o.kind, o.descriptor)
            assert published is not None
            assert set(o.regions) <= set(published.regions) or not o.regions
    for v in vnfds:
        offered_below_too = any(c.find(FN, v.ref) for c in lowers)
        assert (cat.find(FN, v.ref) is not None) == (bool(own) or offered_below_too)

    # no lower SP is named anywhere
    text = repr(cat)
    assert all(c.publisher not in text for c in lowers)


@settings(deadline=None, max_examples=50)
@given(aggregation_inputs())
def test_own_services_are_never_offered_beyond_their_members(inputs: AggregationInputs) -> None:
    own, vnfds, nsds, lowers = inputs
    cat = build_catalogue(
        "retail", 1, T, UNTIL, vnfds, nsds, [PopCapacity(r, t, f) for r, t, f in own], lowers
    )
    functions = {o.descriptor: o for o in cat.offers if o.kind is FN}
    for n in nsds:
        offer_ = cat.find(SVC, n.ref)
        if offer_ is None:
            continue
        for member in n.network_functions:
            candidates = [
                o
                for d, o in functions.items()
                if (d.vendor, d.name) == (member.descriptor.vendor, member.descriptor.name)
            ]
            assert any(set(offer_.regions) <= set(o.regions) for o in candidates)


def test_descriptor_refs_are_not_lower_ids() -> None:
    # guards the property above: the strategy's lower SP names are disjoint from everything
    assert DescriptorRef("v", "fw", "1.0") != DescriptorRef("lowersp-0", "fw", "1.0")


def test_an_own_service_may_nest_another_own_service() -> None:
    fw = vnfd("fw")
    inner = nsd("inner", functions={"f": ref("fw")})
    outer = nsd("outer", services={"i": ref("inner")})
    cat = build([fw], [outer, inner], own=pops("eu"))  # listed before what it nests
    outer_offer = find(cat, SVC, "outer")
    assert outer_offer is not None
    assert outer_offer.regions == ("eu",)


def test_a_function_member_is_never_satisfied_by_a_service_of_that_name() -> None:
    lower = catalogue("lowersp-1", [offer(SVC, "fw", regions=("eu",))])
    wants_function = nsd("chain", functions={"f": ref("fw")})
    assert find(build(nsds=[wants_function], lower=[lower]), SVC, "chain") is None
    wants_service = nsd("chain", services={"s": ref("fw")})
    assert find(build(nsds=[wants_service], lower=[lower]), SVC, "chain") is not None


def test_republished_points_carry_no_lower_addresses_and_currencies_pick_stably() -> None:
    point = ConnectionPoint(
        "in", InterfaceType.IPV4, ConnectionPointType.EXTERNAL, mac="aa:bb", ip="10.0.0.9"
    )
    priced = [
        Offer(FN, ref("fw"), (point,), ("eu",), res(1), Price(9, "USD")),
        Offer(FN, ref("fw"), (point,), ("eu",), res(1), Price(5, "EUR")),
    ]
    first = build(lower=[catalogue("lowersp-1", [priced[0]]), catalogue("lowersp-2", [priced[1]])])
    second = build(lower=[catalogue("lowersp-2", [priced[1]]), catalogue("lowersp-1", [priced[0]])])
    assert first.offers == second.offers  # independent of the order of the lower SPs
    (fw,) = first.offers
    assert fw.price == Price(5, "EUR")
    assert fw.connection_points == (
        ConnectionPoint("in", InterfaceType.IPV4, ConnectionPointType.EXTERNAL),
    )
