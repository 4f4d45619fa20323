"""First-fit search over taken integer ranges: the engine of the prefix and id pools.

A pool hands out the lowest free range of a size (aligned to a power of two
for prefixes). Sorting and scanning every taken range on each request made a
service's plan quadratic: a 256-function service allocates some 500 subnets
and 500 VNIs from its own pools. Here the taken ranges are kept sorted, and
for each (size, alignment) asked before, the search resumes where the last
one of that kind ended: below that point no such range was free, and taking
more never frees any. Only a release, which frees room, resets those points.
Each taken range is then stepped over at most once per kind of request
between releases.
"""

from __future__ import annotations

import bisect

__all__ = ["TakenRanges"]


class TakenRanges:
    """Disjoint taken ranges ``[start, end)`` inside ``[low, high)``, sorted by start."""

    def __init__(self, low: int, high: int) -> None:
        self._low = low
        self._high = high
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._resume: dict[tuple[int, int], int] = {}
        """Per (size, alignment): no free range of that kind starts below this point."""

    def first_fit(self, size: int, align: int = 1) -> int | None:
        """The lowest start of ``size`` free integers, a multiple of ``align``; None if none.

        ``size`` and ``align`` are positive; ``low`` is assumed aligned.
        """
        kind = (size, align)
        at = self._resume.get(kind, self._low)
        i = bisect.bisect_right(self._starts, at)
        if i > 0 and self._ends[i - 1] > at:
            at = self._ends[i - 1]  # ``at`` lies inside a taken range: resume after it
        while True:
            limit = self._starts[i] if i < len(self._starts) else self._high
            aligned = -(-at // align) * align
            if aligned + size <= limit:
                self._resume[kind] = aligned
                return aligned
            if i >= len(self._starts):
                self._resume[kind] = self._high
                return None
            at = max(at, self._ends[i])
            i += 1

    def take(self, start: int, end: int) -> None:
        """Mark ``[start, end)`` taken; it must be free (see ``overlapping``)."""
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)

    def overlapping(self, start: int, end: int) -> list[int]:
        """Starts of the taken ranges that overlap ``[start, end)``."""
        i = bisect.bisect_right(self._starts, start)
        first = i - 1 if i > 0 and self._ends[i - 1] > start else i
        last = bisect.bisect_left(self._starts, end)
        return self._starts[first:last]

    def reset(self, ranges: list[tuple[int, int]]) -> None:
        """Replace the taken ranges by ``ranges`` (disjoint), e.g. after a release."""
        ordered = sorted(ranges)
        self._starts = [s for s, _ in ordered]
        self._ends = [e for _, e in ordered]
        self._resume.clear()
