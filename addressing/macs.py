"""MAC blocks: prefixes of the 48-bit MAC space, written like CIDR (``02:5f:00:00:00:00/16``).

A node's pool is a locally administered unicast prefix; each service gets
an aligned block of it, each delegated part a sub-block, and each port one
address of its part's block, so MACs never repeat inside a service's plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from spfed.errors import AlreadyExists, InvalidArgument, QuotaViolation, ResourceExhausted

__all__ = ["MacBlock", "MacPool", "format_mac", "parse_mac", "parse_mac_block"]

_BITS = 48
_HEX = frozenset("0123456789abcdef")


def parse_mac(text: str) -> int:
    """A MAC as an integer.

    Raises:
        InvalidArgument: not six ``:``-separated hex bytes.
    """
    parts = text.strip().lower().split(":")
    # int() alone would also take signs and underscores ("-1", "0_")
    if len(parts) != 6 or not all(len(p) == 2 and set(p) <= _HEX for p in parts):
        raise InvalidArgument(f"'{text}' is not a MAC address (six hex bytes, ':'-separated)")
    return int("".join(parts), 16)


def format_mac(value: int) -> str:
    """``aa:bb:cc:dd:ee:ff``."""
    raw = f"{value:012x}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True)
class MacBlock:
    """An aligned block of MAC addresses."""

    start: int
    """First address."""
    length: int
    """Prefix length in bits (0 to 48)."""

    @property
    def size(self) -> int:
        """How many addresses."""
        return 1 << (_BITS - self.length)

    def __contains__(self, mac: object) -> bool:
        if not isinstance(mac, str):
            return False
        try:
            value = parse_mac(mac)
        except InvalidArgument:
            return False
        return self.start <= value < self.start + self.size

    def address(self, index: int) -> str:
        """The ``index``-th address of the block.

        Raises:
            ResourceExhausted: the block has fewer addresses.
        """
        if not 0 <= index < self.size:
            raise ResourceExhausted(
                f"MAC block {self} has no address #{index}",
                quota_violations=[QuotaViolation(f"macs:{self}", f"{index + 1} addresses asked")],
            )
        return format_mac(self.start + index)

    def split(self, bits: int) -> list[MacBlock]:
        """The block in ``2**bits`` aligned sub-blocks.

        Raises:
            ResourceExhausted: the block is too small.
        """
        if self.length + bits > _BITS:
            raise ResourceExhausted(
                f"MAC block {self} cannot be split {1 << bits} ways",
                quota_violations=[QuotaViolation(f"macs:{self}", f"{1 << bits} blocks asked")],
            )
        sub = self.length + bits
        step = 1 << (_BITS - sub)
        return [MacBlock(self.start + i * step, sub) for i in range(1 << bits)]

    def __str__(self) -> str:
        return f"{format_mac(self.start)}/{self.length}"


def parse_mac_block(text: str, *, field: str = "mac_prefix") -> MacBlock:
    """``02:5f:00:00:00:00/16``; host bits must be zero.

    Raises:
        InvalidArgument: malformed, or bits set past the prefix length.
    """
    mac, sep, length_text = text.partition("/")
    if not sep:
        raise InvalidArgument(f"{field}: '{text}' is not MAC/LENGTH")
    try:
        length = int(length_text)
    except ValueError:
        raise InvalidArgument(f"{field}: '{text}' has no prefix length") from None
    if not 0 <= length <= _BITS:
        raise InvalidArgument(f"{field}: '{text}': the length must be 0-48")
    start = parse_mac(mac)
    if start & ((1 << (_BITS - length)) - 1):
        raise InvalidArgument(f"{field}: '{text}' has bits set past /{length}")
    return MacBlock(start, length)


class MacPool:
    """Hands out aligned, disjoint MAC blocks of one prefix."""

    def __init__(self, name: str, block: MacBlock) -> None:
        self.name = name
        self.block = block
        self._held: list[tuple[MacBlock, str]] = []

    def allocate(self, length: int, owner: str) -> MacBlock:
        """The first free aligned block of ``length`` bits, for ``owner``.

        Raises:
            InvalidArgument: the length does not fit the pool at all.
            ResourceExhausted: no free block that large is left; names the pool.
        """
        if not self.block.length <= length <= _BITS:
            raise InvalidArgument(f"MAC pool {self.name} ({self.block}) cannot hold a /{length}")
        size = 1 << (_BITS - length)
        cursor = self.block.start
        end = self.block.start + self.block.size
        for held, _ in sorted(self._held, key=lambda h: h[0].start):
            aligned = -(-cursor // size) * size
            if aligned + size <= held.start:
                return self._take(MacBlock(aligned, length), owner)
            cursor = max(cursor, held.start + held.size)
        aligned = -(-cursor // size) * size
        if aligned + size <= end:
            return self._take(MacBlock(aligned, length), owner)
        raise ResourceExhausted(
            f"MAC pool {self.name} ({self.block}) has no free /{length} left",
            quota_violations=[
                QuotaViolation(f"pool:{self.name}", f"a /{length} MAC block was asked")
            ],
        )

    def _take(self, block: MacBlock, owner: str) -> MacBlock:
        self._held.append((block, owner))
        return block

    def reserve(self, block: MacBlock, owner: str) -> None:
        """Mark an exact block as taken (restoring persisted state).

        Raises:
            InvalidArgument: outside the pool.
            AlreadyExists: it overlaps a block held.
        """
        if block.start < self.block.start or block.start + block.size > (
            self.block.start + self.block.size
        ):
            raise InvalidArgument(f"MAC block {block} is outside pool {self.name}")
        for held, holder in self._held:
            if held.start < block.start + block.size and block.start < held.start + held.size:
                raise AlreadyExists(f"MAC block {block} overlaps {held} held by {holder}")
        self._held.append((block, owner))

    def release(self, owner: str) -> list[MacBlock]:
        """Release everything ``owner`` holds."""
        freed = [b for b, o in self._held if o == owner]
        self._held = [(b, o) for b, o in self._held if o != owner]
        return freed

    def allocated(self) -> dict[str, str]:
        """Every block held (as text) and its owner."""
        return {str(b): o for b, o in self._held}

    def counts(self) -> tuple[int, int]:
        """(MAC addresses allocated, MAC addresses in the pool)."""
        return sum(b.size for b, _ in self._held), self.block.size
