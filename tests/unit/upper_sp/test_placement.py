"""``place`` and ``check_rules``."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from spfed.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from spfed.model import (
    LOCAL_OPERATOR,
    DelegatedPart,
    LocalPart,
    OfferKind,
    PlacementConstraints,
    PlacementRule,
    Resources,
)
from tests.unit.upper_sp.builders import catalogue, link, lookup, nsd, offer, ref, vnfd
from upper_sp.graph import ServiceGraph, build_graph
from upper_sp.placement import (
    LowerView,
    Placement,
    PopView,
    check_rules,
    place,
)
from upper_sp.placement import placement_summary as summary

ROOM = Resources(16, 16384, 100)
FUNCTION = OfferKind.NETWORK_FUNCTION


def pop(name: str, region: str = "eu", vcpus: int = 16) -> PopView:
    return PopView(name, region, Resources(vcpus, 16384, 100))


def lower(
    lower_id: str,
    names: Sequence[str] = ("fw",),
    *,
    free: dict[str, int] | None = None,
    regions: Sequence[str] = ("eu",),
    kind: OfferKind = FUNCTION,
    vcpus: int = 1,
) -> LowerView:
    free = free if free is not None else dict.fromkeys(regions, 16)
    return LowerView(
        lower_id,
        catalogue(
            lower_id,
            [offer(kind, n, regions=regions, vcpus=vcpus) for n in names],
            {r: Resources(v, 16384, 100) for r, v in free.items()},
        ),
    )


def graph(*members: str, vcpus: int = 2, known: bool = True) -> ServiceGraph:
    """A chain of functions; with ``known`` their VNFDs are sent, else they come from offers."""
    service = nsd(
        "svc",
        functions={m: ref("fw") for m in members},
        links=[
            link(f"l{i}", f"{a}:out", f"{b}:in")
            for i, (a, b) in enumerate(itertools.pairwise(members))
        ],
    )
    offers = [catalogue("cat", [offer(FUNCTION, "fw", vcpus=vcpus)])]
    return build_graph(
        service, lookup([vnfd("fw", vcpus=vcpus)] if known else [], catalogues=offers)
    )


NO_RULES = PlacementConstraints()


def test_parts_of_a_placement_in_first_use_order_by_kind() -> None:
    placement = Placement(
        {
            "a": DelegatedPart("y"),
            "b": LocalPart("fra"),
            "c": DelegatedPart("x"),
            "d": LocalPart("ams"),
            "e": DelegatedPart("y"),
        }
    )
    assert placement.used_parts() == [
        DelegatedPart("y"),
        LocalPart("fra"),
        DelegatedPart("x"),
        LocalPart("ams"),
    ]
    assert placement.local_parts() == [LocalPart("fra"), LocalPart("ams")]
    assert placement.delegated_parts() == [DelegatedPart("y"), DelegatedPart("x")]
    assert placement.members_of(DelegatedPart("y")) == ["a", "e"]


def test_local_pops_come_before_lower_sps() -> None:
    placement = place(graph("a"), NO_RULES, [pop("ams")], [lower("wholesale")])
    assert placement.parts == {"a": LocalPart("ams")}


def test_pops_with_most_free_vcpus_first_then_by_name() -> None:
    pops = [pop("b", vcpus=8), pop("c", vcpus=16), pop("a", vcpus=16)]
    assert place(graph("x"), NO_RULES, pops, []).parts == {"x": LocalPart("a")}


def test_functions_known_only_from_offers_never_land_locally() -> None:
    placement = place(graph("a", known=False), NO_RULES, [pop("ams")], [lower("wholesale")])
    assert placement.parts == {"a": DelegatedPart("wholesale")}


def test_lower_sps_with_most_free_capacity_first() -> None:
    lowers = [lower("small", free={"eu": 4}), lower("big", free={"eu": 32}), lower("none")]
    lowers.append(LowerView("silent", None))  # no catalogue yet: never a candidate
    placement = place(graph("a", known=False), NO_RULES, [], lowers)
    assert placement.parts == {"a": DelegatedPart("big")}


def test_capacity_is_booked_cumulatively_so_members_spill_over() -> None:
    pops = [pop("ams", vcpus=5), pop("fra", vcpus=4)]
    placement = place(graph("a", "b", "c", "d", vcpus=2), NO_RULES, pops, [lower("wholesale")])
    # ams takes two (4 of 5), fra two (4 of 4); nothing is double-booked
    assert placement.parts == {
        "a": LocalPart("ams"),
        "b": LocalPart("ams"),
        "c": LocalPart("fra"),
        "d": LocalPart("fra"),
    }
    assert placement.members_of(LocalPart("ams")) == ["a", "b"]
    assert placement.used_parts() == [LocalPart("ams"), LocalPart("fra")]
    assert summary(placement) == "pop:ams=a,b, pop:fra=c,d"


def test_capacity_at_a_lower_sp_is_booked_cumulatively_too() -> None:
    lowers = [lower("l1", free={"eu": 3}), lower("l2", free={"eu": 2})]
    placement = place(graph("a", "b", "c", vcpus=1, known=False), NO_RULES, [], lowers)
    assert placement.parts == {
        "a": DelegatedPart("l1"),
        "b": DelegatedPart("l1"),
        "c": DelegatedPart("l1"),
    }
    with pytest.raises(ResourceExhausted):
        place(graph("a", "b", "c", "d", "e", "f", vcpus=1, known=False), NO_RULES, [], lowers)


def test_region_rule_filters_pops_and_lower_offers() -> None:
    rules = PlacementConstraints({"a": PlacementRule(region="us")})
    pops = [pop("ams", "eu"), pop("nyc", "us")]
    assert place(graph("a"), rules, pops, []).parts == {"a": LocalPart("nyc")}
    lowers = [lower("eu-only", regions=("eu",)), lower("us-too", regions=("eu", "us"))]
    assert place(graph("a", known=False), rules, [], lowers).parts == {"a": DelegatedPart("us-too")}


def test_default_region_applies_to_members_without_a_rule() -> None:
    rules = PlacementConstraints({"b": PlacementRule(region="eu")}, default_region="us")
    pops = [pop("ams", "eu"), pop("nyc", "us")]
    assert place(graph("a", "b"), rules, pops, []).parts == {
        "a": LocalPart("nyc"),
        "b": LocalPart("ams"),
    }


def test_default_region_does_not_override_a_members_own_pop_pin() -> None:
    rules = PlacementConstraints({"b": PlacementRule(pop="ams")}, default_region="us")
    pops = [pop("ams", "eu"), pop("nyc", "us")]
    assert place(graph("a", "b"), rules, pops, []).parts == {
        "a": LocalPart("nyc"),
        "b": LocalPart("ams"),
    }


def test_operator_local_pins_to_own_pops_and_a_lower_id_to_that_lower() -> None:
    lowers = [lower("l1", free={"eu": 64}), lower("l2")]
    local = PlacementConstraints({"a": PlacementRule(operator=LOCAL_OPERATOR)})
    assert place(graph("a"), local, [pop("ams")], lowers).parts == {"a": LocalPart("ams")}
    with pytest.raises(FailedPrecondition, match="operator 'local'"):
        place(graph("a", known=False), local, [pop("ams")], lowers)
    to_l2 = PlacementConstraints({"a": PlacementRule(operator="l2")})
    assert place(graph("a"), to_l2, [pop("ams")], lowers).parts == {"a": DelegatedPart("l2")}


def test_pop_rule_pins_to_that_pop() -> None:
    rules = PlacementConstraints({"a": PlacementRule(pop="fra")})
    pops = [pop("ams", vcpus=16), pop("fra", vcpus=4)]
    assert place(graph("a"), rules, pops, [lower("l1")]).parts == {"a": LocalPart("fra")}


def test_a_rule_on_a_nested_service_applies_to_its_members() -> None:
    inner = nsd("inner", functions={"x": ref("fw"), "y": ref("fw")})
    service = nsd("svc", functions={"z": ref("fw")}, services={"inner": ref("inner")})
    g = build_graph(service, lookup([vnfd("fw")], [inner]))
    rules = PlacementConstraints(
        {"inner": PlacementRule(region="us"), "inner/y": PlacementRule(pop="nyc2")}
    )
    pops = [pop("ams", "eu"), pop("nyc", "us", vcpus=8), pop("nyc2", "us", vcpus=4)]
    # the member's own rule is more specific than its service's; nyc2 has the fewest vCPUs
    assert place(g, rules, pops, []).parts == {
        "z": LocalPart("ams"),
        "inner/x": LocalPart("nyc"),
        "inner/y": LocalPart("nyc2"),
    }


def test_service_members_go_only_to_lower_sps_offering_the_service() -> None:
    service = nsd("svc", services={"dpi": ref("dpi")})
    lowers = [lower("fn-only", ["dpi"]), lower("svc", ["dpi"], kind=OfferKind.NETWORK_SERVICE)]
    g = build_graph(service, lookup(catalogues=[c.catalogue for c in lowers if c.catalogue]))
    assert place(g, NO_RULES, [pop("ams")], lowers).parts == {"dpi": DelegatedPart("svc")}


def test_nothing_offering_a_member_is_a_failed_precondition() -> None:
    rules = PlacementConstraints({"a": PlacementRule(region="mars")})
    with pytest.raises(FailedPrecondition) as info:
        place(graph("a"), rules, [pop("ams")], [lower("l1")])
    assert "function a (eu.test/fw/1.0) in region 'mars'" in info.value.message
    assert not info.value.quota_violations


def test_no_room_anywhere_is_resource_exhausted_with_one_violation_per_candidate() -> None:
    pops = [pop("ams", vcpus=3), pop("fra", vcpus=1)]
    lowers = [lower("l1", free={"eu": 2})]
    with pytest.raises(ResourceExhausted) as info:
        place(graph("a", vcpus=4), NO_RULES, pops, lowers)
    assert "no room for a" in info.value.message
    assert [(v.subject, v.description) for v in info.value.quota_violations] == [
        ("pop:ams", "4 vCPU asked, 3 free"),
        ("pop:fra", "4 vCPU asked, 1 free"),
        ("sp:l1/eu", "4 vCPU asked, 2 free"),
    ]


def test_exhaustion_counts_what_earlier_members_booked() -> None:
    with pytest.raises(ResourceExhausted) as info:
        place(graph("a", "b", vcpus=3), NO_RULES, [pop("ams", vcpus=5)], [])
    assert [(v.subject, v.description) for v in info.value.quota_violations] == [
        ("pop:ams", "3 vCPU asked, 2 free")
    ]


def test_members_in_different_regions_of_one_lower_sp_do_not_share_room() -> None:
    rules = PlacementConstraints({"a": PlacementRule(region="eu"), "b": PlacementRule(region="us")})
    both = lower("l1", regions=("eu", "us"), free={"eu": 4, "us": 4})
    placement = place(graph("a", "b", vcpus=4, known=False), rules, [], [both])
    assert placement == Placement({"a": DelegatedPart("l1"), "b": DelegatedPart("l1")})


def test_a_member_without_a_region_must_fit_in_one_region_of_a_lower_sp() -> None:
    split = lower("l1", regions=("eu", "us"), free={"eu": 4, "us": 4})
    with pytest.raises(ResourceExhausted):
        place(graph("a", vcpus=6, known=False), NO_RULES, [], [split])


# --- check_rules -------------------------------------------------------------------


def test_valid_rules_pass() -> None:
    g = graph("a", "b")
    rules = PlacementConstraints(
        {"a": PlacementRule(region="eu", pop="ams"), "b": PlacementRule(operator="l1")}
    )
    check_rules(g, rules, ["ams"], ["l1"])
    check_rules(
        g, PlacementConstraints({"a": PlacementRule(operator="local", pop="ams")}), ["ams"], []
    )


def test_rules_naming_unknown_things_are_invalid_with_paths() -> None:
    inner = nsd("inner", functions={"x": ref("fw")})
    service = nsd("svc", functions={"a": ref("fw")}, services={"inner": ref("inner")})
    g = build_graph(service, lookup([vnfd("fw")], [inner]))
    rules = PlacementConstraints(
        {
            "inner": PlacementRule(operator="l1"),  # a nested service's id is a valid key
            "ghost": PlacementRule(),
            "a": PlacementRule(operator="l9", pop="nowhere"),
            "inner/x": PlacementRule(operator="l1", pop="ams"),
        }
    )
    with pytest.raises(InvalidArgument) as info:
        check_rules(g, rules, ["ams"], ["l1"])
    violations = [(v.field, v.description) for v in info.value.field_violations]
    assert violations == [
        ("placement.rules[a].operator", "unknown lower SP 'l9' (known: local, l1)"),
        ("placement.rules[a].pop", "unknown PoP 'nowhere' (known: ams)"),
        ("placement.rules[a].pop", "a PoP pin needs operator '' or 'local'"),
        ("placement.rules[ghost]", "no member 'ghost' in the service (members: a, inner, inner/x)"),
        ("placement.rules[inner/x].pop", "a PoP pin needs operator '' or 'local'"),
    ]


def test_no_pops_at_all_is_said_plainly() -> None:
    with pytest.raises(InvalidArgument) as info:
        check_rules(graph("a"), PlacementConstraints({"a": PlacementRule(pop="x")}), [], [])
    assert info.value.field_violations[0].description == "unknown PoP 'x' (known: none)"
