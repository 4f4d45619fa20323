"""Size bounds on one descriptor, checked before any other work on it.

``limit_violations`` only takes lengths of the descriptor's lists, so a
descriptor of any size is judged in microseconds; every later check (schema,
references, graph building, placement) may then assume its input is bounded.
Each violation's description names the configuration key it exceeds
(``limits.max_functions is 256``), so the caller knows which knob to ask the
operator about, and its field names the list that is too long.

Request-level bounds (nesting depth, placement rules, how many descriptors a
request carries) are the lifecycle's: one descriptor cannot see them.
"""

from __future__ import annotations

from collections.abc import Iterable

from spfed.descriptors._paths import child
from spfed.errors import FieldViolation
from spfed.model.descriptors import NetworkServiceDescriptor, VirtualLink, VnfDescriptor
from spfed.model.limits import DescriptorLimits

__all__ = ["limit_violations", "limits_named", "over_limit"]


_BOUND = "; limits."


def over_limit(field: str, count: int, what: str, key: str, limit: int) -> FieldViolation:
    """The violation for ``count`` items of ``what`` at ``field`` above ``limits.<key>``."""
    return FieldViolation(field, f"{count} {what}{_BOUND}{key} is {limit}")


def limits_named(violations: Iterable[FieldViolation]) -> list[str]:
    """The bounds (``limits.max_links is 1024``) that ``over_limit`` violations name, once each."""
    named = (v.description.rpartition(_BOUND) for v in violations)
    return list(dict.fromkeys(f"limits.{bound}" for _, sep, bound in named if sep))


def limit_violations(
    descriptor: NetworkServiceDescriptor | VnfDescriptor,
    limits: DescriptorLimits,
    *,
    path: str = "",
) -> list[FieldViolation]:
    """Every size bound ``descriptor`` exceeds, with field paths below ``path``.

    An NSD is bounded in functions plus nested services (``max_functions``,
    reported on ``network_functions``, or on ``network_services`` when the
    functions alone fit), virtual links (``max_links``) and connection points
    (``max_connection_points``: its own plus every reference from its links).
    A VNFD is bounded in internal links and in connection points (its own,
    its units', and its links' references). The cost is linear in the number
    of links and units only, never in their contents. An empty list means the
    descriptor is within ``limits``.
    """
    if isinstance(descriptor, NetworkServiceDescriptor):
        return _nsd_violations(descriptor, limits, path)
    return _vnfd_violations(descriptor, limits, path)


def _nsd_violations(
    nsd: NetworkServiceDescriptor, limits: DescriptorLimits, path: str
) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    members = len(nsd.network_functions) + len(nsd.network_services)
    if members > limits.max_functions:
        # Name the list that overflows: the functions when they alone do, else
        # the nested services that push the total over.
        overflowing = (
            "network_services"
            if nsd.network_services and len(nsd.network_functions) <= limits.max_functions
            else "network_functions"
        )
        found.append(
            over_limit(
                child(path, overflowing),
                members,
                "functions and nested services",
                "max_functions",
                limits.max_functions,
            )
        )
    found += _link_and_point_violations(nsd.virtual_links, len(nsd.connection_points), limits, path)
    return found


def _vnfd_violations(
    vnfd: VnfDescriptor, limits: DescriptorLimits, path: str
) -> list[FieldViolation]:
    own_points = len(vnfd.connection_points) + sum(
        len(unit.connection_points) for unit in vnfd.deployment_units
    )
    return _link_and_point_violations(vnfd.virtual_links, own_points, limits, path)


def _link_and_point_violations(
    links: tuple[VirtualLink, ...],
    own_points: int,
    limits: DescriptorLimits,
    path: str,
) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    if len(links) > limits.max_links:
        found.append(
            over_limit(
                child(path, "virtual_links"),
                len(links),
                "virtual links",
                "max_links",
                limits.max_links,
            )
        )
    points = own_points + sum(len(link.connection_points_reference) for link in links)
    if points > limits.max_connection_points:
        found.append(
            over_limit(
                child(path, "connection_points"),
                points,
                "connection points (own, units' and link references)",
                "max_connection_points",
                limits.max_connection_points,
            )
        )
    return found
