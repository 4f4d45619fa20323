"""``IdPool``, ``parse_id_range`` and ``split_ids``: VNIs and VLAN ids as disjoint ranges."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addressing import IdPool, parse_id_range, split_ids
from spfed.errors import AlreadyExists, InvalidArgument, ResourceExhausted
from spfed.model import IdRange

# --- parse_id_range ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100-200", IdRange(100, 200)), ("7", IdRange(7, 7)), (" 0-0 ", IdRange(0, 0))],
)
def test_parse_id_range_reads_a_range_or_one_id(text: str, expected: IdRange) -> None:
    assert parse_id_range(text) == expected


@pytest.mark.parametrize("text", ["", "a-b", "5-", "-5", "1-2-3", "200-100", "1.5"])
def test_parse_id_range_refuses_anything_else_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^addressing\.vni_pool: '") as info:
        parse_id_range(text, field="addressing.vni_pool")
    assert f"'{text}'" in info.value.message


def test_an_id_range_knows_its_size_members_and_text() -> None:
    ids = IdRange(5, 9)
    assert ids.size == 5
    assert 5 in ids
    assert 9 in ids
    assert 10 not in ids
    assert "5" not in ids
    assert (str(ids), str(IdRange(3, 3))) == ("5-9", "3")


# --- split_ids -----------------------------------------------------------------------


def test_split_ids_gives_equal_consecutive_ranges_and_leaves_the_remainder() -> None:
    assert split_ids(IdRange(10, 20), 3) == [IdRange(10, 12), IdRange(13, 15), IdRange(16, 18)]
    assert split_ids(IdRange(10, 20), 1) == [IdRange(10, 20)]
    assert split_ids(IdRange(10, 20), 0) == []


def test_split_ids_into_more_ranges_than_ids_is_exhausted() -> None:
    with pytest.raises(ResourceExhausted) as info:
        split_ids(IdRange(1, 2), 3)
    assert [v.subject for v in info.value.quota_violations] == ["ids:1-2"]
    assert "3 ranges" in info.value.quota_violations[0].description


@settings(deadline=None, max_examples=100)
@given(st.integers(0, 10_000), st.integers(1, 500), st.integers(1, 20))
def test_split_ids_are_disjoint_equal_and_inside(first: int, size: int, parts: int) -> None:
    space = IdRange(first, first + size - 1)
    if parts > size:
        with pytest.raises(ResourceExhausted):
            split_ids(space, parts)
        return
    ranges = split_ids(space, parts)
    assert len(ranges) == parts
    assert {r.size for r in ranges} == {size // parts}
    assert ranges[0].first == space.first
    assert ranges[-1].last <= space.last
    assert all(a.last + 1 == b.first for a, b in itertools.pairwise(ranges))


# --- IdPool --------------------------------------------------------------------------


def test_allocations_are_first_fit_and_reuse_released_holes() -> None:
    pool = IdPool("vnis", IdRange(100, 199))
    assert pool.allocate(10, "a") == IdRange(100, 109)
    assert pool.allocate(1, "b") == IdRange(110, 110)
    assert pool.allocate(5, "a") == IdRange(111, 115)
    assert pool.release("a") == [IdRange(100, 109), IdRange(111, 115)]
    assert pool.allocate(3, "c") == IdRange(100, 102)
    # a range too large for the hole before 110 goes after it
    assert pool.allocate(8, "d") == IdRange(111, 118)
    assert pool.allocated() == {
        IdRange(110, 110): "b",
        IdRange(100, 102): "c",
        IdRange(111, 118): "d",
    }
    assert pool.usage() == "12 of 100 ids allocated"


def test_releasing_an_owner_that_holds_nothing_frees_nothing() -> None:
    pool = IdPool("vnis", IdRange(1, 10))
    pool.allocate(2, "a")
    assert pool.release("zzz") == []
    assert pool.allocated() == {IdRange(1, 2): "a"}


def test_exhaustion_names_the_pool_and_what_was_asked() -> None:
    pool = IdPool("vnis", IdRange(1, 10))
    pool.allocate(4, "a")
    pool.reserve(IdRange(7, 8), "b")
    # 6 ids free in all, but at most 2 in one piece
    with pytest.raises(ResourceExhausted) as info:
        pool.allocate(3, "c")
    assert "vnis" in info.value.message
    assert "1-10" in info.value.message
    violation = info.value.quota_violations[0]
    assert violation.subject == "pool:vnis"
    assert violation.description == "3 ids asked; 6 of 10 ids allocated"
    assert pool.allocate(2, "c") == IdRange(5, 6)
    assert pool.allocate(2, "c") == IdRange(9, 10)


def test_reserve_restores_exact_ranges_and_refuses_overlaps_and_strays() -> None:
    pool = IdPool("vlans", IdRange(100, 200))
    pool.reserve(IdRange(150, 160), "a")
    with pytest.raises(AlreadyExists, match="held by a in pool vlans"):
        pool.reserve(IdRange(160, 170), "b")
    for stray in (IdRange(90, 100), IdRange(200, 201)):
        with pytest.raises(InvalidArgument, match="outside pool vlans"):
            pool.reserve(stray, "b")
    assert pool.allocate(50, "c") == IdRange(100, 149)
    with pytest.raises(ResourceExhausted):
        pool.allocate(41, "c")  # 161-200 is the largest hole left
    assert pool.allocate(40, "c") == IdRange(161, 200)


def _holes(pool: IdPool) -> list[tuple[int, int]]:
    """Free runs of the pool as (first id, length)."""
    out, cursor = [], pool.space.first
    for held in sorted(pool.allocated(), key=lambda r: r.first):
        out.append((cursor, held.first - cursor))
        cursor = held.last + 1
    out.append((cursor, pool.space.last + 1 - cursor))
    return [h for h in out if h[1] > 0]


@settings(deadline=None, max_examples=100)
@given(st.lists(st.tuples(st.integers(1, 6), st.sampled_from("abc"), st.booleans()), max_size=30))
def test_a_pool_never_hands_out_an_id_twice_or_outside(
    steps: list[tuple[int, str, bool]],
) -> None:
    pool = IdPool("p", IdRange(10, 40))
    for size, owner, release in steps:
        if release:
            pool.release(owner)
            continue
        fits = [start for start, length in _holes(pool) if length >= size]
        try:
            got = pool.allocate(size, owner)
        except ResourceExhausted:
            assert not fits, "refused although a hole was large enough"
        else:
            assert got == IdRange(fits[0], fits[0] + size - 1), "not the first fit"
        held = sorted(pool.allocated(), key=lambda r: r.first)
        assert all(10 <= r.first <= r.last <= 40 for r in held)
        assert all(a.last < b.first for a, b in itertools.pairwise(held))
