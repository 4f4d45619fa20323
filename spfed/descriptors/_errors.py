"""The error a rejected descriptor raises, and re-rooting its field paths."""

from __future__ import annotations

from collections.abc import Iterable

from spfed.descriptors._paths import reroot
from spfed.errors import FieldViolation, InvalidArgument


class DescriptorError(InvalidArgument):
    """A descriptor (or a set of them) is invalid; every problem is a field violation.

    ``field_violations`` holds all problems found, not only the first; each
    field path is relative to the document root (see ``prefix_violations``).
    """

    def __init__(
        self, message: str, violations: Iterable[FieldViolation], *, source: str = ""
    ) -> None:
        super().__init__(message, field_violations=violations)
        self.source = source
        """Where the descriptor came from (a file name, or "")."""


def prefix_violations(violations: Iterable[FieldViolation], prefix: str) -> list[FieldViolation]:
    """Re-root field paths below ``prefix``, e.g. ``descriptors.nsd.``.

    ``virtual_links[0]`` becomes ``descriptors.nsd.virtual_links[0]`` and the
    document root (``""``) becomes ``descriptors.nsd``.
    """
    return [FieldViolation(reroot(prefix, v.field), v.description) for v in violations]
