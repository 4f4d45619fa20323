"""Parts of a service: where a group of its members runs.

A part is either one of the node's own PoPs (``LocalPart``) or a lower SP
that receives those members as one sub-service (``DelegatedPart``). Code
that must tell them apart matches on the type::

    match part:
        case LocalPart(pop):
            ...
        case DelegatedPart(lower):
            ...

``str(part)`` is the stable text form, ``pop:<name>`` or ``sp:<lower>``: it
is what stored state, service records, events, the API and the command line
carry, so it must never change. ``parse_part`` is its only inverse; text
becomes a part only at those edges.

Parts order by their text form, which is the order the bare strings had
before they were typed, so anything sorted by part keeps its order.
"""

from __future__ import annotations

from dataclasses import dataclass

from spfed.errors import FieldViolation, InvalidArgument

__all__ = ["DelegatedPart", "LocalPart", "Part", "parse_part"]

_LOCAL = "pop:"
_DELEGATED = "sp:"


class _Ordered:
    """Orders parts of either kind by their text form (see the module docstring)."""

    __slots__ = ()

    def __lt__(self, other: LocalPart | DelegatedPart) -> bool:
        return str(self) < str(other)


def _check_name(kind: str, name: str) -> None:
    # An empty name would print as a bare prefix, which parse_part refuses: keep
    # str() and parse_part exact inverses by refusing it here too.
    if not name:
        raise InvalidArgument(
            f"a {kind} part needs a non-empty name",
            field_violations=[FieldViolation("part", f"empty {kind} name")],
        )


@dataclass(frozen=True, slots=True)
class LocalPart(_Ordered):
    """Members deployed on one of the node's own PoPs."""

    pop: str
    """PoP name."""

    def __post_init__(self) -> None:
        """Raises: InvalidArgument: the PoP name is empty."""
        _check_name("local", self.pop)

    def __str__(self) -> str:
        return f"{_LOCAL}{self.pop}"


@dataclass(frozen=True, slots=True)
class DelegatedPart(_Ordered):
    """Members sent to one lower SP as one sub-service."""

    lower: str
    """The lower SP's operator id."""

    def __post_init__(self) -> None:
        """Raises: InvalidArgument: the lower SP's id is empty."""
        _check_name("delegated", self.lower)

    def __str__(self) -> str:
        return f"{_DELEGATED}{self.lower}"


Part = LocalPart | DelegatedPart
"""Where a group of a service's members runs."""


def parse_part(text: str) -> Part:
    """The part whose text form is ``text``: ``parse_part(str(p)) == p`` for every part.

    Raises:
        InvalidArgument: ``text`` is neither ``pop:<name>`` nor ``sp:<lower>`` with
            a non-empty name.
    """
    for prefix, kind in ((_LOCAL, LocalPart), (_DELEGATED, DelegatedPart)):
        if text.startswith(prefix) and len(text) > len(prefix):
            return kind(text[len(prefix) :])
    raise InvalidArgument(
        f"not a part id: {text[:80]!r} (expected 'pop:<name>' or 'sp:<lower>')",
        field_violations=[FieldViolation("part", "expected 'pop:<name>' or 'sp:<lower>'")],
    )
