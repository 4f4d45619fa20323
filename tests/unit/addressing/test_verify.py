"""Checks of what lower SPs report: ``outside_constraints`` and ``find_collisions``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from addressing import find_collisions, outside_constraints


def test_addresses_inside_any_allowed_prefix_pass() -> None:
    allowed = ["10.1.0.0/19", "10.1.32.128/26"]
    reported = ["10.1.0.5/27", "10.1.31.254/24", "10.1.32.130/24"]
    assert outside_constraints(allowed, reported) == []


def test_addresses_outside_every_prefix_are_listed_in_order() -> None:
    allowed = ["10.1.0.0/19", "10.1.32.128/26"]
    reported = ["10.1.32.127/24", "10.1.0.1/27", "192.168.0.1/24", "10.1.32.192/24"]
    assert outside_constraints(allowed, reported) == [
        "10.1.32.127/24",
        "192.168.0.1/24",
        "10.1.32.192/24",
    ]


def test_only_the_address_counts_not_the_interface_prefix_length() -> None:
    # 10.1.0.5/8 names a huge network, but the address itself is inside the /24
    assert outside_constraints(["10.1.0.0/24"], ["10.1.0.5/8"]) == []


def test_families_never_match_each_other() -> None:
    assert outside_constraints(["10.0.0.0/8"], ["2001:db8::1/64"]) == ["2001:db8::1/64"]
    assert outside_constraints(["2001:db8::/32"], ["2001:db8::1/64", "10.0.0.1/8"]) == [
        "10.0.0.1/8"
    ]


def test_nothing_allowed_means_everything_is_outside() -> None:
    assert outside_constraints([], ["10.0.0.1/8"]) == ["10.0.0.1/8"]


def test_a_malformed_reported_address_is_listed_not_a_crash() -> None:
    assert outside_constraints(["10.0.0.0/8"], ["10.0.0.1/8", "not-an-address"]) == [
        "not-an-address"
    ]


def test_collisions_name_both_holders() -> None:
    holders = [
        ("a", "10.0.0.5/24"),
        ("b", "10.0.0.6/24"),
        ("c", "10.0.0.5/27"),  # same address, other length: still a collision
        ("d", "2001:db8::5/64"),
        ("e", "10.0.0.5/24"),
    ]
    assert find_collisions(holders) == [
        "10.0.0.5 held by a and c",
        "10.0.0.5 held by a and e",
    ]


def test_no_collisions_in_distinct_addresses() -> None:
    assert find_collisions([("a", "10.0.0.1/24"), ("b", "10.0.0.2/24")]) == []
    assert find_collisions([]) == []


@settings(deadline=None, max_examples=100)
@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 15))))
def test_collisions_are_reported_once_per_repeat(pairs: list[tuple[str, int]]) -> None:
    holders = [(h, f"10.0.0.{n}/28") for h, n in pairs]
    repeats = len(pairs) - len({n for _, n in pairs})
    assert len(find_collisions(holders)) == repeats
