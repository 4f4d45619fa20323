"""A pool of addresses that hands out disjoint, aligned sub-prefixes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from addressing._first_fit import TakenRanges
from spfed.errors import AlreadyExists, InvalidArgument, QuotaViolation, ResourceExhausted

__all__ = ["Network", "PrefixPool", "parse_network", "split_prefix"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str, *, field: str = "prefix") -> Network:
    """Parse a prefix strictly (host bits must be zero).

    Raises:
        InvalidArgument: not a valid IPv4 or IPv6 prefix.
    """
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise InvalidArgument(f"{field}: '{text}' is not a valid prefix ({exc})") from exc


def split_prefix(prefix: Network, parts: int) -> list[Network]:
    """Split ``prefix`` into ``parts`` equal, disjoint sub-prefixes (a power of two ≥ parts).

    Raises:
        ResourceExhausted: the prefix is too small to split that many ways.
    """
    if parts <= 1:
        return [prefix]
    bits = (parts - 1).bit_length()
    if prefix.prefixlen + bits > prefix.max_prefixlen:
        raise ResourceExhausted(
            f"{prefix} cannot be split {parts} ways",
            quota_violations=[QuotaViolation(f"prefix:{prefix}", f"{parts} slices asked")],
        )
    subnets: list[Network] = list(prefix.subnets(prefixlen_diff=bits))
    return subnets[:parts]


@dataclass(frozen=True)
class _Allocation:
    network: Network
    owner: str


class PrefixPool:
    """Allocates disjoint, aligned sub-prefixes of one prefix.

    State is in memory; callers persist what they allocate and ``reserve`` it
    again after a restart.
    """

    def __init__(self, name: str, prefix: Network) -> None:
        self.name = name
        self.prefix = prefix
        self._allocations: list[_Allocation] = []
        """In the order they were made (``allocated`` and ``release`` keep it)."""
        start = int(prefix.network_address)
        self._taken = TakenRanges(start, start + prefix.num_addresses)
        self._by_start: dict[int, int] = {}
        """Start address of each allocation → its position in ``_allocations``."""

    def allocate(self, prefixlen: int, owner: str) -> Network:
        """The first free, aligned block of ``prefixlen`` for ``owner``.

        Raises:
            ResourceExhausted: no free block of that size is left; names the pool.
            InvalidArgument: the length does not fit the pool at all.
        """
        if not self.prefix.prefixlen <= prefixlen <= self.prefix.max_prefixlen:
            raise InvalidArgument(
                f"pool {self.name} ({self.prefix}) cannot hold a /{prefixlen} block"
            )
        size = 1 << (self.prefix.max_prefixlen - prefixlen)
        found = self._taken.first_fit(size, size)
        if found is not None:
            return self._take(found, prefixlen, owner)
        raise ResourceExhausted(
            f"address pool {self.name} ({self.prefix}) has no free /{prefixlen} left",
            quota_violations=[
                QuotaViolation(f"pool:{self.name}", f"a /{prefixlen} was asked; {self.usage()}")
            ],
        )

    def reserve(self, network: Network, owner: str) -> None:
        """Mark an exact prefix as taken (e.g. restoring persisted state).

        Raises:
            InvalidArgument: the prefix is outside the pool.
            AlreadyExists: it overlaps an existing allocation (the earliest made is named).
        """
        if network.version != self.prefix.version or not network.subnet_of(self.prefix):  # type: ignore[arg-type]
            raise InvalidArgument(f"{network} is outside pool {self.name} ({self.prefix})")
        start = int(network.network_address)
        clashes = self._taken.overlapping(start, start + network.num_addresses)
        if clashes:
            alloc = self._allocations[min(self._by_start[c] for c in clashes)]
            raise AlreadyExists(
                f"{network} overlaps {alloc.network} held by {alloc.owner} in pool {self.name}"
            )
        self._add(_Allocation(network, owner))

    def release(self, owner: str) -> list[Network]:
        """Release every prefix ``owner`` holds; returns them."""
        freed = [a.network for a in self._allocations if a.owner == owner]
        if freed:
            self._allocations = [a for a in self._allocations if a.owner != owner]
            self._by_start = {
                int(a.network.network_address): i for i, a in enumerate(self._allocations)
            }
            self._taken.reset(
                [
                    (int(a.network.network_address), int(a.network.broadcast_address) + 1)
                    for a in self._allocations
                ]
            )
        return freed

    def held_by(self, owner: str) -> list[Network]:
        """Prefixes an owner holds."""
        return [a.network for a in self._allocations if a.owner == owner]

    def allocated(self) -> dict[Network, str]:
        """Every allocation and its owner."""
        return {a.network: a.owner for a in self._allocations}

    def usage(self) -> str:
        """A readable summary: addresses used out of the pool's size."""
        used, size = self.counts()
        return f"{used} of {size} addresses allocated"

    def counts(self) -> tuple[int, int]:
        """(addresses allocated, addresses in the pool)."""
        return sum(a.network.num_addresses for a in self._allocations), self.prefix.num_addresses

    def _take(self, start: int, prefixlen: int, owner: str) -> Network:
        network: Network = (
            ipaddress.IPv4Network((start, prefixlen))
            if self.prefix.version == 4
            else ipaddress.IPv6Network((start, prefixlen))
        )
        self._add(_Allocation(network, owner))
        return network

    def _add(self, alloc: _Allocation) -> None:
        start = int(alloc.network.network_address)
        self._by_start[start] = len(self._allocations)
        self._allocations.append(alloc)
        self._taken.take(start, start + alloc.network.num_addresses)
