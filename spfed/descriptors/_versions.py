"""Version constraints of descriptor references: ``0.3``, ``== 0.3``, ``>= 0.2``.

The schema allows an optional operator (``==``, ``>=``, ``<=``, ``!=``) and
one space before the version; a plain version means equal. Versions compare
numerically part by part (``0.10`` is above ``0.9``); ``.``, ``-`` and ``_``
all separate parts, and missing parts count as zero (``1.0`` equals ``1``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

_CONSTRAINT = re.compile(r"^\s*(==|>=|<=|!=)?\s*([0-9][0-9\-_.]*)\s*$")
_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": operator.eq,
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
}


def version_key(version: str) -> tuple[int, ...]:
    """A key that orders versions numerically; trailing zero parts are dropped.

    Raises ``ValueError`` when a part is not a number.
    """
    parts = [int(p) if p else 0 for p in re.split(r"[.\-_]", version.strip())]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def parse_constraint(constraint: str) -> tuple[str, str]:
    """Split a constraint into ``(operator, version)``; a plain version gives ``==``.

    Raises ``ValueError`` for anything the schema pattern would reject.
    """
    match = _CONSTRAINT.match(constraint)
    if match is None:
        raise ValueError(f"not a version constraint: {constraint!r}")
    return match.group(1) or "==", match.group(2)


def normalise_constraint(constraint: str) -> str:
    """``== 0.3`` and ``0.3`` both give ``0.3``; other operators are kept, one space after."""
    op, version = parse_constraint(constraint)
    return version if op == "==" else f"{op} {version}"


def version_matches(constraint: str, version: str) -> bool:
    """Whether ``version`` satisfies ``constraint`` (``0.3``, ``== 0.3``, ``>= 0.2`` ...).

    A version that is not numeric matches only a plain or ``==`` constraint
    naming exactly the same string. Raises ``ValueError`` for a malformed
    constraint.
    """
    op, wanted = parse_constraint(constraint)
    try:
        have_key = version_key(version)
    except ValueError:
        return op == "==" and version.strip() == wanted
    return _OPERATORS[op](have_key, version_key(wanted))
