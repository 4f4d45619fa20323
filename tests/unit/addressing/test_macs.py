"""MAC addresses and blocks: ``parse_mac``, ``format_mac``, ``MacBlock``, ``MacPool``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addressing import MacBlock, MacPool, format_mac, parse_mac, parse_mac_block
from spfed.errors import AlreadyExists, InvalidArgument, ResourceExhausted

# --- parse_mac / format_mac ----------------------------------------------------------


def test_a_mac_reads_as_an_integer_in_either_case_and_formats_back_in_lower_case() -> None:
    assert parse_mac("02:5f:00:01:00:0a") == 0x025F0001000A
    assert parse_mac(" 02:5F:00:01:00:0A ") == 0x025F0001000A
    assert format_mac(0x025F0001000A) == "02:5f:00:01:00:0a"
    assert format_mac(0) == "00:00:00:00:00:00"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "02:5f:00:01:00",  # five bytes
        "02:5f:00:01:00:00:00",  # seven
        "02-5f-00-01-00-00",  # other separator
        "2:5f:00:01:00:00",  # one digit
        "02:5f:00:01:00:0g",  # not hex
        "-1:00:00:00:00:00",  # a sign int() would take
        "0_:11:22:33:44:55",  # an underscore int() would take
        "+1:00:00:00:00:00",
    ],
)
def test_anything_but_six_hex_bytes_is_not_a_mac(text: str) -> None:
    with pytest.raises(InvalidArgument, match="is not a MAC address"):
        parse_mac(text)


@settings(deadline=None, max_examples=100)
@given(st.integers(0, 2**48 - 1))
def test_format_and_parse_are_inverse(value: int) -> None:
    text = format_mac(value)
    assert len(text) == 17
    assert parse_mac(text) == value


# --- MacBlock ------------------------------------------------------------------------


def test_parse_mac_block_reads_mac_slash_length() -> None:
    block = parse_mac_block("02:5f:00:01:00:00/32")
    assert block == MacBlock(0x025F00010000, 32)
    assert block.size == 2**16
    assert str(block) == "02:5f:00:01:00:00/32"
    assert parse_mac_block("00:00:00:00:00:00/0").size == 2**48
    assert parse_mac_block("02:5f:00:01:00:07/48").size == 1


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("02:5f:00:01:00:00", "is not MAC/LENGTH"),
        ("02:5f:00:01:00:00/x", "has no prefix length"),
        ("02:5f:00:01:00:00/49", "the length must be 0-48"),
        ("02:5f:00:01:00:00/-1", "the length must be 0-48"),
        ("02:5f:00:01:00:01/32", "has bits set past /32"),
        ("02:5f:00:01/32", "is not a MAC address"),
    ],
)
def test_parse_mac_block_refuses_malformed_blocks_naming_the_field(text: str, says: str) -> None:
    with pytest.raises(InvalidArgument, match=says) as info:
        parse_mac_block(text, field="addressing.mac_pool")
    if "MAC address" not in says:
        assert info.value.message.startswith("addressing.mac_pool: ")


def test_parse_mac_block_takes_any_unicast_or_multicast_prefix_as_given() -> None:
    """It checks the notation only: which prefixes a node may use is its configuration's call."""
    assert parse_mac_block("01:00:5e:00:00:00/24").start == 0x01005E000000
    assert parse_mac_block("00:1b:21:00:00:00/24").start == 0x001B21000000


def test_a_block_holds_exactly_its_addresses() -> None:
    block = parse_mac_block("02:5f:00:01:00:00/44")
    assert "02:5f:00:01:00:00" in block
    assert "02:5F:00:01:00:0F" in block
    assert "02:5f:00:01:00:10" not in block
    assert "02:5f:00:00:ff:ff" not in block
    assert "garbage" not in block
    assert 0x025F00010000 not in block  # only text is a MAC


def test_address_picks_the_nth_address_and_refuses_past_the_end() -> None:
    block = parse_mac_block("02:5f:00:01:00:00/46")
    assert [block.address(i) for i in range(4)] == [
        "02:5f:00:01:00:00",
        "02:5f:00:01:00:01",
        "02:5f:00:01:00:02",
        "02:5f:00:01:00:03",
    ]
    for index in (4, -1):
        with pytest.raises(ResourceExhausted) as info:
            block.address(index)
        assert info.value.quota_violations[0].subject == "macs:02:5f:00:01:00:00/46"


def test_split_gives_aligned_disjoint_sub_blocks_covering_the_block() -> None:
    block = parse_mac_block("02:5f:00:01:00:00/32")
    parts = block.split(3)
    assert [str(p) for p in parts[:3]] == [
        "02:5f:00:01:00:00/35",
        "02:5f:00:01:20:00/35",
        "02:5f:00:01:40:00/35",
    ]
    assert len(parts) == 8
    assert parts[-1].start + parts[-1].size == block.start + block.size
    assert block.split(0) == [block]


def test_a_block_too_small_to_split_is_exhausted() -> None:
    with pytest.raises(ResourceExhausted) as info:
        parse_mac_block("02:5f:00:01:00:00/46").split(3)
    assert info.value.quota_violations[0].subject == "macs:02:5f:00:01:00:00/46"
    assert "8 blocks" in info.value.quota_violations[0].description


# --- MacPool -------------------------------------------------------------------------


def test_pool_allocations_are_aligned_first_fit() -> None:
    pool = MacPool("macs", parse_mac_block("02:5f:00:00:00:00/40"))
    assert str(pool.allocate(44, "a")) == "02:5f:00:00:00:00/44"
    # a /42 does not fit at :10 (not aligned): it goes to :40
    assert str(pool.allocate(42, "b")) == "02:5f:00:00:00:40/42"
    # the holes before it are found again for smaller blocks
    assert str(pool.allocate(44, "c")) == "02:5f:00:00:00:10/44"
    assert str(pool.allocate(43, "c")) == "02:5f:00:00:00:20/43"
    assert pool.allocated() == {
        "02:5f:00:00:00:00/44": "a",
        "02:5f:00:00:00:40/42": "b",
        "02:5f:00:00:00:10/44": "c",
        "02:5f:00:00:00:20/43": "c",
    }


def test_pool_release_frees_an_owners_blocks_for_reuse() -> None:
    pool = MacPool("macs", parse_mac_block("02:5f:00:00:00:00/46"))
    pool.allocate(47, "a")
    pool.allocate(47, "b")
    assert [str(b) for b in pool.release("a")] == ["02:5f:00:00:00:00/47"]
    assert pool.release("a") == []
    assert str(pool.allocate(47, "c")) == "02:5f:00:00:00:00/47"


def test_pool_exhaustion_names_the_pool() -> None:
    pool = MacPool("services", parse_mac_block("02:5f:00:00:00:00/46"))
    pool.allocate(48, "a")
    pool.allocate(47, "b")  # :02-:03
    with pytest.raises(ResourceExhausted) as info:
        pool.allocate(47, "c")  # :01 is free, but no aligned pair is
    assert "services" in info.value.message
    violation = info.value.quota_violations[0]
    assert violation.subject == "pool:services"
    assert "/47" in violation.description
    assert str(pool.allocate(48, "c")) == "02:5f:00:00:00:01/48"


@pytest.mark.parametrize("length", [39, 49])
def test_a_length_that_cannot_fit_the_pool_is_invalid(length: int) -> None:
    pool = MacPool("macs", parse_mac_block("02:5f:00:00:00:00/40"))
    with pytest.raises(InvalidArgument, match=f"cannot hold a /{length}"):
        pool.allocate(length, "a")


def test_pool_reserve_restores_blocks_and_refuses_overlaps_and_strays() -> None:
    pool = MacPool("macs", parse_mac_block("02:5f:00:00:00:00/40"))
    pool.reserve(parse_mac_block("02:5f:00:00:00:40/42"), "a")
    with pytest.raises(AlreadyExists, match="held by a"):
        pool.reserve(parse_mac_block("02:5f:00:00:00:50/44"), "b")
    for stray in ("02:5f:00:00:01:00/44", "02:5f:00:00:00:00/39"):
        with pytest.raises(InvalidArgument, match="outside pool macs"):
            pool.reserve(parse_mac_block(stray), "b")
    assert str(pool.allocate(41, "c")) == "02:5f:00:00:00:80/41"


@settings(deadline=None, max_examples=100)
@given(st.lists(st.tuples(st.integers(40, 46), st.sampled_from("abc"), st.booleans()), max_size=25))
def test_a_pool_never_hands_out_overlapping_or_stray_blocks(
    steps: list[tuple[int, str, bool]],
) -> None:
    root = parse_mac_block("02:5f:00:00:00:00/40")
    pool = MacPool("p", root)
    live: list[tuple[MacBlock, str]] = []
    for length, owner, release in steps:
        if release:
            assert sorted(b.start for b in pool.release(owner)) == sorted(
                b.start for b, o in live if o == owner
            )
            live = [(b, o) for b, o in live if o != owner]
            continue
        try:
            block = pool.allocate(length, owner)
        except ResourceExhausted:
            continue
        assert block.length == length
        assert block.start % block.size == 0, "not aligned"
        assert root.start <= block.start
        assert block.start + block.size <= root.start + root.size
        for other, _ in live:
            assert (
                block.start + block.size <= other.start or other.start + other.size <= block.start
            ), f"{block} overlaps {other}"
        live.append((block, owner))
