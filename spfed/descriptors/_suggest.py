"""Readable hints: "did you mean", and duplicate detection."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

T = TypeVar("T")


MAX_CANDIDATES = 100
"""Above this many candidates no guess is made. A guess costs time linear in the
candidates for every unknown word, and a hostile descriptor can hold thousands
of both; real ones have a few dozen ids per list."""


def did_you_mean(word: str, candidates: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or "" when none is close.

    No guess among more than ``MAX_CANDIDATES`` candidates.
    """
    if len(candidates) > MAX_CANDIDATES:
        return ""
    pool = list(candidates)
    same_but_case = [c for c in pool if c.lower() == word.lower() and c != word]
    close = same_but_case or difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown(what: str, word: str, candidates: Collection[str]) -> str:
    """``unknown unit 'vdu1' (did you mean 'vdu01'?)``."""
    return f"unknown {what} '{word}'{did_you_mean(word, candidates)}"


def duplicates(items: Sequence[T], key: Callable[[T], str]) -> list[tuple[int, int]]:
    """``(index, first_index)`` for every item whose key an earlier item already has."""
    first: dict[str, int] = {}
    out = []
    for index, item in enumerate(items):
        k = key(item)
        if k in first:
            out.append((index, first[k]))
        else:
            first[k] = index
    return out


def listing(words: Sequence[str], *, limit: int = 8) -> str:
    """``a, b, c`` or ``a, b, ... and 4 more``; ``(none)`` for an empty list."""
    if not words:
        return "(none)"
    shown = ", ".join(words[:limit])
    rest = len(words) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown
