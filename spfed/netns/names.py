"""Linux names for what the data plane creates: deterministic, short and owned by a prefix.

Everything the fabric creates carries the caller's *prefix*, so that one call to
``cleanup(prefix)`` finds it again after a crash, and so that two fabrics (two
test runs, two nodes) on one machine never touch each other's objects.

- A prefix is 2 to 8 characters, ``[a-z][a-z0-9]*``. It holds no ``-``, so the
  ``-`` that follows it in every name ends it: prefix ``sf1`` never owns
  ``sf12-...``.
- A namespace name is ``{prefix}-{readable label}``; the kernel allows long
  names there (they are files under ``/run/netns``), so a person can read them.
- An interface name is limited to 15 characters (``IFNAMSIZ`` minus the NUL).
  It is ``{prefix}-{hash}``: the hash of the logical label in lower-case base32
  fills the characters that are left (at least 6, i.e. 30 bits). The same label
  always gives the same name, so a create can be retried and find its own object.
  The full label is written in the interface's alias, which lets the fabric
  detect the (improbable) collision of two labels on one name.
"""

from __future__ import annotations

import base64
import hashlib
import re

from spfed.errors import FieldViolation, InvalidArgument

__all__ = [
    "IFNAME_MAX",
    "check_label",
    "check_prefix",
    "interface_name",
    "is_valid_interface_name",
    "namespace_name",
    "owned_by",
]

IFNAME_MAX = 15
"""Longest interface name Linux accepts (``IFNAMSIZ`` is 16 with the NUL)."""

_PREFIX = re.compile(r"[a-z][a-z0-9]{1,7}")
_LABEL_MAX = 64
_READABLE_MAX = 20
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can own names, else raise ``InvalidArgument``."""
    if not _PREFIX.fullmatch(prefix):
        raise InvalidArgument(
            f"bad data plane prefix {prefix!r}",
            field_violations=[
                FieldViolation("prefix", "2 to 8 characters [a-z0-9], starting with a letter")
            ],
        )
    return prefix


def check_label(label: str, field: str = "label") -> str:
    """Return ``label`` if it is 1 to 64 printable characters without white space.

    Raises:
        InvalidArgument: otherwise; the violation names ``field``.
    """
    if (
        not 0 < len(label) <= _LABEL_MAX
        or not label.isprintable()
        or any(c.isspace() for c in label)
    ):
        raise InvalidArgument(
            f"bad label {label!r}",
            field_violations=[
                FieldViolation(field, "1 to 64 printable characters without white space")
            ],
        )
    return label


def _digest(label: str, length: int) -> str:
    raw = hashlib.blake2s(label.encode(), digest_size=16).digest()
    return base64.b32encode(raw).decode().lower()[:length]


def interface_name(prefix: str, *labels: str) -> str:
    """The interface name for ``labels`` under ``prefix``: ``{prefix}-{hash}``, 15 characters.

    The hash covers the labels joined by ``/`` (``("br", "gw-a", "vl1")``), so that a
    caller can scope a label by its kind and namespace. Deterministic (same inputs,
    same name) and valid for Linux.

    Raises:
        InvalidArgument: the prefix or a label is malformed, or no label is given.
    """
    check_prefix(prefix)
    if not labels:
        raise InvalidArgument("an interface name needs a label")
    for label in labels:
        check_label(label)
    return f"{prefix}-{_digest('/'.join(labels), IFNAME_MAX - len(prefix) - 1)}"


def namespace_name(prefix: str, label: str) -> str:
    """The network namespace name for ``label`` under ``prefix``, readable and deterministic.

    A label made only of ``[a-z0-9_.-]`` and at most 20 characters long is used as is
    (``sf1a2b3c-gw-ams``); any other label is squeezed to that alphabet and length and
    followed by a 6-character hash of the original, so two labels never share a name.

    Raises:
        InvalidArgument: the prefix or the label is malformed.
    """
    check_prefix(prefix)
    check_label(label)
    readable = _UNSAFE.sub("-", label.lower()).strip("-.")[:_READABLE_MAX].rstrip("-.")
    if readable == label and readable not in {".", ".."}:
        return f"{prefix}-{label}"
    return f"{prefix}-{readable or 'x'}-{_digest(label, 6)}"


def is_valid_interface_name(name: str) -> bool:
    """Whether Linux accepts ``name`` for an interface (``dev_valid_name``)."""
    return (
        0 < len(name) <= IFNAME_MAX
        and name not in {".", ".."}
        and not any(c in "/:" or c.isspace() or not c.isprintable() for c in name)
    )


def owned_by(prefix: str, name: str) -> bool:
    """Whether a namespace or interface ``name`` belongs to ``prefix``."""
    return name.startswith(f"{prefix}-")
