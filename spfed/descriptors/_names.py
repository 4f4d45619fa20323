"""Connection point naming: both conventions, normalised to the bare form.

Current convention: a unit's points have bare ids (``eth0``) and links
reference them as ``vdu01:eth0``; the descriptor's own points are bare
(``mgmt``) and referenced bare.

Older convention: a unit's point id carries the unit (``vdu01:eth0``), and the
descriptor's own points may be written ``vnf:mgmt`` (in a VNFD) or
``ns:mgmt`` (in an NSD), and referenced that way.

The model stores the current form. A unit point id loses its prefix when the
prefix is that unit's id (a different prefix is an error, the prefix is
dropped all the same); an own point id loses ``vnf:``/``ns:`` (any other
prefix is an error, likewise dropped); a reference loses
``vnf:``/``ns:`` unless a unit or member has that very id, in which case it
names that unit or member.
"""

from __future__ import annotations

from collections.abc import Collection

VNF_PREFIX = "vnf"
"""Prefix of a VNFD's own points in the older convention."""
NS_PREFIX = "ns"
"""Prefix of an NSD's own points in the older convention."""


def unit_point_id(raw: str, unit_id: str) -> tuple[str, str | None]:
    """The bare id of a unit's point, and a problem (or ``None``).

    ``vdu01:eth0`` in unit ``vdu01`` gives ``eth0``; in unit ``vdu02`` it is a
    problem, and ``eth0`` is still returned so that later checks do not
    report the same mistake again.
    """
    prefix, sep, bare = raw.partition(":")
    if not sep:
        return raw, None
    if prefix == unit_id:
        return bare, None
    return bare, (
        f"'{raw}' names unit '{prefix}', but the point belongs to unit '{unit_id}'"
        f" (write '{bare}' or '{unit_id}:{bare}')"
    )


def own_point_id(raw: str, own_prefix: str) -> tuple[str, str | None]:
    """The bare id of a descriptor's own point, and a problem (or ``None``).

    ``vnf:mgmt`` (with ``own_prefix`` ``vnf``) gives ``mgmt``; any other prefix
    is a problem, and the bare part is still returned (see ``unit_point_id``).
    """
    prefix, sep, bare = raw.partition(":")
    if not sep:
        return raw, None
    if prefix == own_prefix:
        return bare, None
    return (
        bare,
        f"own connection point ids are bare ('{bare}') or '{own_prefix}:{bare}', not '{raw}'",
    )


def reference(raw: str, own_prefix: str, members: Collection[str]) -> str:
    """A link or path reference in the bare form: ``vnf:mgmt`` gives ``mgmt``.

    A prefix that is the id of a unit or member (``members``) is kept, since it
    names that unit or member.
    """
    prefix, sep, bare = raw.partition(":")
    if sep and prefix == own_prefix and prefix not in members:
        return bare
    return raw
