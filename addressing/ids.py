"""Identifier pools: VNIs (and VLAN ids) handed out as disjoint ranges."""

from __future__ import annotations

from dataclasses import dataclass

from addressing._first_fit import TakenRanges
from spfed.errors import AlreadyExists, InvalidArgument, QuotaViolation, ResourceExhausted
from spfed.model import IdRange

__all__ = ["IdPool", "parse_id_range", "split_ids"]


def parse_id_range(text: str, *, field: str = "range") -> IdRange:
    """``"100-200"`` (inclusive) or ``"7"``.

    Raises:
        InvalidArgument: not a range of non-negative integers, first ≤ last.
    """
    first, sep, last = text.strip().partition("-")
    try:
        low, high = int(first), int(last if sep else first)
    except ValueError:
        raise InvalidArgument(f"{field}: '{text}' is not FIRST-LAST") from None
    if low < 0 or high < low:
        raise InvalidArgument(f"{field}: '{text}' is not FIRST-LAST with 0 ≤ FIRST ≤ LAST")
    return IdRange(low, high)


def split_ids(space: IdRange, parts: int) -> list[IdRange]:
    """``space`` in ``parts`` disjoint ranges of equal size (the remainder is left over).

    Raises:
        ResourceExhausted: fewer ids than parts.
    """
    if parts <= 0:
        return []
    size = space.size // parts
    if size == 0:
        raise ResourceExhausted(
            f"ids {space} cannot be split {parts} ways",
            quota_violations=[QuotaViolation(f"ids:{space}", f"{parts} ranges asked")],
        )
    return [IdRange(space.first + i * size, space.first + (i + 1) * size - 1) for i in range(parts)]


@dataclass(frozen=True)
class _Held:
    ids: IdRange
    owner: str


class IdPool:
    """Hands out disjoint ranges of one id space, first fit.

    State is in memory; callers persist what they allocate and ``reserve`` it
    again after a restart.
    """

    def __init__(self, name: str, space: IdRange) -> None:
        self.name = name
        self.space = space
        self._held: list[_Held] = []
        """In the order they were taken (``allocated`` and ``release`` keep it)."""
        self._taken = TakenRanges(space.first, space.last + 1)
        self._by_first: dict[int, int] = {}
        """First id of each range held → its position in ``_held``."""

    def allocate(self, size: int, owner: str) -> IdRange:
        """The first free range of ``size`` ids, for ``owner``.

        Raises:
            InvalidArgument: ``size`` is less than one.
            ResourceExhausted: no free range that large is left; names the pool.
        """
        if size < 1:
            raise InvalidArgument(f"id pool {self.name}: {size} ids asked, at least 1 expected")
        first = self._taken.first_fit(size)
        if first is None:
            raise ResourceExhausted(
                f"id pool {self.name} ({self.space}) has no {size} free ids left",
                quota_violations=[
                    QuotaViolation(f"pool:{self.name}", f"{size} ids asked; {self.usage()}")
                ],
            )
        ids = IdRange(first, first + size - 1)
        self._add(_Held(ids, owner))
        return ids

    def reserve(self, ids: IdRange, owner: str) -> None:
        """Mark an exact range as taken (e.g. restoring persisted state).

        Raises:
            InvalidArgument: the range is outside the pool.
            AlreadyExists: it overlaps a range held (the earliest taken is named).
        """
        if ids.first < self.space.first or ids.last > self.space.last:
            raise InvalidArgument(f"ids {ids} are outside pool {self.name} ({self.space})")
        clashes = self._taken.overlapping(ids.first, ids.last + 1)
        if clashes:
            held = self._held[min(self._by_first[c] for c in clashes)]
            raise AlreadyExists(
                f"ids {ids} overlap {held.ids} held by {held.owner} in pool {self.name}"
            )
        self._add(_Held(ids, owner))

    def release(self, owner: str) -> list[IdRange]:
        """Release every range ``owner`` holds; returns them."""
        freed = [h.ids for h in self._held if h.owner == owner]
        if freed:
            self._held = [h for h in self._held if h.owner != owner]
            self._by_first = {h.ids.first: i for i, h in enumerate(self._held)}
            self._taken.reset([(h.ids.first, h.ids.last + 1) for h in self._held])
        return freed

    def _add(self, held: _Held) -> None:
        self._by_first[held.ids.first] = len(self._held)
        self._held.append(held)
        self._taken.take(held.ids.first, held.ids.last + 1)

    def allocated(self) -> dict[IdRange, str]:
        """Every range held and its owner."""
        return {h.ids: h.owner for h in self._held}

    def usage(self) -> str:
        """A readable summary."""
        used, size = self.counts()
        return f"{used} of {size} ids allocated"

    def counts(self) -> tuple[int, int]:
        """(ids allocated, ids in the pool)."""
        return sum(h.ids.size for h in self._held), self.space.size
