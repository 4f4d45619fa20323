"""``PrefixPool``, ``split_prefix`` and ``parse_network``."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addressing import Network, PrefixPool, parse_network, split_prefix
from spfed.errors import AlreadyExists, InvalidArgument, ResourceExhausted


def net(text: str) -> Network:
    return ipaddress.ip_network(text)


# --- parse_network -----------------------------------------------------------------


def test_parse_network_accepts_v4_and_v6() -> None:
    assert parse_network("10.1.0.0/16") == ipaddress.IPv4Network("10.1.0.0/16")
    assert parse_network("2001:db8::/32") == ipaddress.IPv6Network("2001:db8::/32")


@pytest.mark.parametrize("text", ["10.1.0.1/16", "not-a-prefix", "", "10.0.0.0/33"])
def test_parse_network_rejects_host_bits_and_garbage_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^address_space: '") as info:
        parse_network(text, field="address_space")
    assert repr(text)[1:-1] in info.value.message


# --- allocate ----------------------------------------------------------------------


def test_allocations_are_first_fit_and_aligned() -> None:
    pool = PrefixPool("p", net("10.0.0.0/24"))
    assert pool.allocate(26, "a") == net("10.0.0.0/26")
    # a /25 does not fit at .64 (not aligned): it goes to .128
    assert pool.allocate(25, "b") == net("10.0.0.128/25")
    # the /26 hole at .64 is found again for a smaller block
    assert pool.allocate(27, "c") == net("10.0.0.64/27")
    assert pool.allocate(27, "c") == net("10.0.0.96/27")


def test_ipv6_allocations() -> None:
    pool = PrefixPool("v6", net("2001:db8::/48"))
    first = pool.allocate(64, "a")
    second = pool.allocate(56, "b")
    assert first == net("2001:db8::/64")
    assert second == net("2001:db8:0:100::/56")
    assert pool.allocate(64, "a") == net("2001:db8:0:1::/64")


def test_exhaustion_raises_resource_exhausted_naming_the_pool() -> None:
    pool = PrefixPool("services", net("10.0.0.0/30"))
    pool.allocate(31, "a")
    pool.allocate(31, "b")
    with pytest.raises(ResourceExhausted) as info:
        pool.allocate(32, "c")
    error = info.value
    assert "services" in error.message
    assert "10.0.0.0/30" in error.message
    assert [v.subject for v in error.quota_violations] == ["pool:services"]
    assert "/32" in error.quota_violations[0].description
    assert "4 of 4 addresses" in error.quota_violations[0].description


def test_fragmentation_exhausts_a_large_block_even_when_enough_addresses_are_free() -> None:
    pool = PrefixPool("p", net("10.0.0.0/24"))
    pool.reserve(net("10.0.0.64/26"), "x")
    pool.reserve(net("10.0.0.128/26"), "y")
    with pytest.raises(ResourceExhausted):
        pool.allocate(25, "z")  # 128 addresses free, but no aligned /25


@pytest.mark.parametrize("length", [23, 33])
def test_a_length_that_cannot_fit_the_pool_is_invalid(length: int) -> None:
    pool = PrefixPool("p", net("10.0.0.0/24"))
    with pytest.raises(InvalidArgument, match="pool p"):
        pool.allocate(length, "a")


# --- reserve / release / restore ---------------------------------------------------


def test_reserve_rejects_overlap_outside_and_other_family() -> None:
    pool = PrefixPool("p", net("10.0.0.0/24"))
    pool.reserve(net("10.0.0.0/26"), "a")
    with pytest.raises(AlreadyExists, match="held by a"):
        pool.reserve(net("10.0.0.32/27"), "b")
    with pytest.raises(AlreadyExists):
        pool.reserve(net("10.0.0.0/24"), "b")  # a supernet overlaps too
    with pytest.raises(InvalidArgument):
        pool.reserve(net("10.0.1.0/26"), "b")
    with pytest.raises(InvalidArgument):
        pool.reserve(net("2001:db8::/64"), "b")
    assert pool.allocated() == {net("10.0.0.0/26"): "a"}


def test_release_frees_exactly_the_owners_prefixes() -> None:
    pool = PrefixPool("p", net("10.0.0.0/24"))
    a1 = pool.allocate(26, "a")
    b = pool.allocate(26, "b")
    a2 = pool.allocate(26, "a")
    assert sorted(pool.release("a")) == sorted([a1, a2])
    assert pool.held_by("a") == []
    assert pool.held_by("b") == [b]
    assert pool.release("a") == []  # idempotent
    assert pool.allocate(26, "c") == a1  # the freed room is reused


def test_restore_from_persisted_allocations_reproduces_the_pool() -> None:
    original = PrefixPool("p", net("10.0.0.0/16"))
    for owner, length in [("a", 24), ("b", 20), ("c", 26), ("a", 22)]:
        original.allocate(length, owner)
    original.release("b")
    restored = PrefixPool("p", net("10.0.0.0/16"))
    for network, owner in original.allocated().items():
        restored.reserve(network, owner)
    assert restored.allocated() == original.allocated()
    assert [restored.allocate(n, "d") for n in (24, 21, 26)] == [
        original.allocate(n, "d") for n in (24, 21, 26)
    ]


def test_usage_counts_addresses() -> None:
    pool = PrefixPool("p", net("10.0.0.0/24"))
    pool.allocate(26, "a")
    assert pool.usage() == "64 of 256 addresses allocated"


# --- properties --------------------------------------------------------------------

_ops = st.lists(
    st.tuples(st.sampled_from(["alloc", "release"]), st.integers(24, 32), st.sampled_from("abcd")),
    max_size=40,
)


def _first_free(pool: PrefixPool, length: int, held: list[Network]) -> Network | None:
    for candidate in pool.prefix.subnets(new_prefix=length):
        if not any(candidate.overlaps(h) for h in held):
            return candidate
    return None


@settings(deadline=None, max_examples=150)
@given(_ops)
def test_pool_behaves_like_a_first_fit_allocator(ops: list[tuple[str, int, str]]) -> None:
    """Against a brute-force model: disjoint, aligned, inside; exhausted only when truly full."""
    pool = PrefixPool("model", net("10.0.0.0/24"))
    held: dict[Network, str] = {}
    for op, length, owner in ops:
        if op == "release":
            freed = pool.release(owner)
            assert sorted(freed) == sorted(n for n, o in held.items() if o == owner)
            held = {n: o for n, o in held.items() if o != owner}
            continue
        expected = _first_free(pool, length, list(held))
        if expected is None:
            with pytest.raises(ResourceExhausted):
                pool.allocate(length, owner)
            continue
        got = pool.allocate(length, owner)
        assert got == expected
        assert got.prefixlen == length
        assert got.subnet_of(pool.prefix)  # type: ignore[arg-type]
        assert int(got.network_address) % got.num_addresses == 0
        held[got] = owner
    assert pool.allocated() == held


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(48, 64), max_size=25))
def test_ipv6_allocations_are_disjoint_and_inside(lengths: list[int]) -> None:
    pool = PrefixPool("v6", net("2001:db8::/44"))
    got = []
    for length in lengths:
        try:
            got.append(pool.allocate(length, "o"))
        except ResourceExhausted:
            continue
    for i, a in enumerate(got):
        assert a.subnet_of(pool.prefix)  # type: ignore[arg-type]
        assert all(not a.overlaps(b) for b in got[i + 1 :])


# --- split_prefix ------------------------------------------------------------------


@settings(deadline=None, max_examples=100)
@given(
    st.sampled_from(["10.0.0.0/24", "10.4.0.0/16", "2001:db8::/56", "2001:db8::/126"]),
    st.integers(1, 40),
)
def test_split_prefix_gives_equal_disjoint_slices_inside(prefix_text: str, parts: int) -> None:
    prefix = net(prefix_text)
    bits = (parts - 1).bit_length()
    if prefix.prefixlen + bits > prefix.max_prefixlen:
        with pytest.raises(ResourceExhausted) as info:
            split_prefix(prefix, parts)
        assert info.value.quota_violations[0].subject == f"prefix:{prefix}"
        return
    slices = split_prefix(prefix, parts)
    assert len(slices) == parts
    assert {s.prefixlen for s in slices} == {prefix.prefixlen + bits}
    assert slices[0].network_address == prefix.network_address
    for i, s in enumerate(slices):
        assert s.subnet_of(prefix)  # type: ignore[arg-type]
        assert all(not s.overlaps(t) for t in slices[i + 1 :])


def test_split_prefix_into_one_is_the_prefix() -> None:
    assert split_prefix(net("10.0.0.0/24"), 1) == [net("10.0.0.0/24")]


def test_split_prefix_three_ways_uses_quarters() -> None:
    assert split_prefix(net("10.0.0.0/24"), 3) == [
        net("10.0.0.0/26"),
        net("10.0.0.64/26"),
        net("10.0.0.128/26"),
    ]
