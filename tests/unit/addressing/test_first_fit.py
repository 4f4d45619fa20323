"""The pools' first-fit search gives what the scan of every held range gave, op for op.

``PrefixPool`` and ``IdPool`` used to sort and scan all their allocations on
each request (quadratic over a service's plan). The reference allocators
below are those scans, kept as oracles: any sequence of allocations,
reservations and releases must give the same blocks, the same refusals (with
the same messages) and the same books.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addressing import IdPool, Network, PrefixPool
from addressing._first_fit import TakenRanges
from spfed.errors import AlreadyExists, InvalidArgument, ResourceExhausted
from spfed.model import IdRange

# --- the reference allocators (the former scans) -------------------------------------


@dataclass
class _RefPrefixPool:
    prefix: Network
    held: list[tuple[Network, str]]

    def allocate(self, prefixlen: int, owner: str) -> Network | None:
        size = 1 << (self.prefix.max_prefixlen - prefixlen)
        cursor = int(self.prefix.network_address)
        end = cursor + self.prefix.num_addresses
        for network, _ in sorted(self.held, key=lambda h: int(h[0].network_address)):
            aligned = -(-cursor // size) * size
            if aligned + size <= int(network.network_address):
                return self._take(aligned, prefixlen, owner)
            cursor = max(cursor, int(network.broadcast_address) + 1)
        aligned = -(-cursor // size) * size
        return self._take(aligned, prefixlen, owner) if aligned + size <= end else None

    def _take(self, start: int, prefixlen: int, owner: str) -> Network:
        network = ipaddress.ip_network((start, prefixlen))
        self.held.append((network, owner))
        return network

    def reserve(self, network: Network, owner: str) -> str:
        """ "" when reserved, else the holder it clashes with (the earliest taken)."""
        for held, holder in self.held:
            if held.overlaps(network):
                return f"{held} held by {holder}"
        self.held.append((network, owner))
        return ""


@dataclass
class _RefIdPool:
    space: IdRange
    held: list[tuple[IdRange, str]]

    def allocate(self, size: int, owner: str) -> IdRange | None:
        cursor = self.space.first
        for ids, _ in sorted(self.held, key=lambda h: h[0].first):
            if ids.first - cursor >= size:
                break
            cursor = max(cursor, ids.last + 1)
        if self.space.last - cursor + 1 < size:
            return None
        ids = IdRange(cursor, cursor + size - 1)
        self.held.append((ids, owner))
        return ids

    def reserve(self, ids: IdRange, owner: str) -> str:
        for held, holder in self.held:
            if held.first <= ids.last and ids.first <= held.last:
                return f"{held} held by {holder}"
        self.held.append((ids, owner))
        return ""


# --- prefix pools --------------------------------------------------------------------

_OWNERS = st.sampled_from("abcd")
_PREFIX_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), st.integers(20, 32), _OWNERS),
        st.tuples(
            st.just("reserve"), st.tuples(st.integers(0, 4095), st.integers(20, 32)), _OWNERS
        ),
        st.tuples(st.just("release"), st.just(0), _OWNERS),
    ),
    max_size=80,
)


def _prefix_in(pool: Network, offset: int, length: int) -> Network:
    """An aligned /length inside ``pool`` near ``offset`` (addresses from its start)."""
    size = 1 << (32 - length)
    start = int(pool.network_address) + (offset // size) * size
    return ipaddress.ip_network((start, length))


@settings(deadline=None, max_examples=300)
@given(_PREFIX_OPS)
def test_prefix_pool_matches_the_reference_scan(ops: list[tuple[str, object, str]]) -> None:
    prefix = ipaddress.ip_network("10.0.0.0/20")
    pool = PrefixPool("p", prefix)
    ref = _RefPrefixPool(prefix, [])
    for op, arg, owner in ops:
        if op == "alloc":
            assert isinstance(arg, int)
            expected = ref.allocate(arg, owner)
            if expected is None:
                with pytest.raises(ResourceExhausted):
                    pool.allocate(arg, owner)
            else:
                assert pool.allocate(arg, owner) == expected
        elif op == "reserve":
            assert isinstance(arg, tuple)
            network = _prefix_in(prefix, *arg)
            clash = ref.reserve(network, owner)
            if clash:
                with pytest.raises(AlreadyExists) as info:
                    pool.reserve(network, owner)
                assert clash in info.value.message
            else:
                pool.reserve(network, owner)
        else:
            assert pool.release(owner) == [n for n, o in ref.held if o == owner]
            ref.held = [(n, o) for n, o in ref.held if o != owner]
        assert pool.allocated() == dict(ref.held)
        assert pool.usage() == (
            f"{sum(n.num_addresses for n, _ in ref.held)} of {prefix.num_addresses}"
            " addresses allocated"
        )


def test_a_plan_sized_sequence_matches_the_reference_scan() -> None:
    """What a 256-function plan asks of its pool: hundreds of /30s and /31s, a few larger."""
    prefix = ipaddress.ip_network("10.7.0.0/16")
    pool = PrefixPool("plan", prefix)
    ref = _RefPrefixPool(prefix, [])
    lengths = [24, 26] + [30, 31, 29] * 200 + [25, 28] * 10
    got = [pool.allocate(n, f"l{i}") for i, n in enumerate(lengths)]
    assert got == [ref.allocate(n, f"l{i}") for i, n in enumerate(lengths)]


# --- id pools ------------------------------------------------------------------------

_ID_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), st.integers(1, 40), _OWNERS),
        st.tuples(
            st.just("reserve"), st.tuples(st.integers(100, 400), st.integers(1, 30)), _OWNERS
        ),
        st.tuples(st.just("release"), st.just(0), _OWNERS),
    ),
    max_size=80,
)


@settings(deadline=None, max_examples=300)
@given(_ID_OPS)
def test_id_pool_matches_the_reference_scan(ops: list[tuple[str, object, str]]) -> None:
    space = IdRange(100, 400)
    pool = IdPool("v", space)
    ref = _RefIdPool(space, [])
    for op, arg, owner in ops:
        if op == "alloc":
            assert isinstance(arg, int)
            expected = ref.allocate(arg, owner)
            if expected is None:
                with pytest.raises(ResourceExhausted):
                    pool.allocate(arg, owner)
            else:
                assert pool.allocate(arg, owner) == expected
        elif op == "reserve":
            assert isinstance(arg, tuple)
            first, size = arg
            ids = IdRange(first, min(first + size - 1, space.last))
            clash = ref.reserve(ids, owner)
            if clash:
                with pytest.raises(AlreadyExists) as info:
                    pool.reserve(ids, owner)
                assert clash in info.value.message
            else:
                pool.reserve(ids, owner)
        else:
            assert pool.release(owner) == [i for i, o in ref.held if o == owner]
            ref.held = [(i, o) for i, o in ref.held if o != owner]
        assert pool.allocated() == dict(ref.held)


def test_an_id_pool_refuses_an_empty_request() -> None:
    with pytest.raises(InvalidArgument, match="at least 1"):
        IdPool("v", IdRange(1, 10)).allocate(0, "a")


# --- the search itself ---------------------------------------------------------------


def test_taken_ranges_find_the_lowest_aligned_gap_and_forget_nothing_on_reset() -> None:
    taken = TakenRanges(0, 64)
    taken.take(0, 4)
    taken.take(8, 16)
    assert taken.first_fit(4, 4) == 4
    taken.take(4, 8)
    assert taken.first_fit(4, 4) == 16
    assert taken.first_fit(32, 32) == 32
    assert taken.first_fit(64, 64) is None
    assert taken.overlapping(6, 10) == [4, 8]
    assert taken.overlapping(16, 64) == []
    taken.reset([(8, 16)])  # a release frees room below where searches had got to
    assert taken.first_fit(4, 4) == 0
    assert taken.first_fit(16, 16) == 16
