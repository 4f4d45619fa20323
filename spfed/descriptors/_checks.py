"""Semantic checks of VNFDs and slice templates, on the domain model.

These run after the schema has passed (or on descriptors that arrived as API
messages). Each problem is one ``FieldViolation`` whose path names the field
in the document, e.g. ``virtual_links[1].connection_points_reference[0]``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from spfed.descriptors._mapping import UNIT_FIELDS
from spfed.descriptors._suggest import did_you_mean, duplicates, unknown
from spfed.errors import FieldViolation
from spfed.model import (
    ConnectivityType,
    DeploymentUnit,
    SliceAccessPoint,
    SliceTemplate,
    VirtualLink,
    VnfDescriptor,
    split_ref,
)

T = TypeVar("T")

UnitPaths = Literal["yaml", "api"]
"""How unit paths read: ``virtual_deployment_units[0]`` (YAML) or ``deployment_units[0]`` (API)."""


def duplicate_ids(
    items: Sequence[T], key: Callable[[T], str], path: Callable[[int], str], what: str
) -> list[FieldViolation]:
    """One violation per item whose id an earlier item already has."""
    return [
        FieldViolation(path(index), f"duplicate {what} '{key(items[index])}' (also {path(first)})")
        for index, first in duplicates(items, key)
    ]


def item_path(list_path: str, suffix: str = "") -> Callable[[int], str]:
    """``index -> f"{list_path}[{index}]{suffix}"``."""
    return lambda index: f"{list_path}[{index}]{suffix}"


def link_shape(link: VirtualLink, path: str) -> list[FieldViolation]:
    """E-Line links join exactly two points, other links at least two, each once."""
    refs = link.connection_points_reference
    field = f"{path}.connection_points_reference"
    out = []
    if link.connectivity_type is ConnectivityType.E_LINE and len(refs) != 2:
        out.append(
            FieldViolation(
                field, f"an E-Line link joins exactly 2 connection points, not {len(refs)}"
            )
        )
    elif len(refs) < 2:
        out.append(
            FieldViolation(field, f"a link joins at least 2 connection points, not {len(refs)}")
        )
    out += [
        FieldViolation(f"{field}[{index}]", f"'{refs[index]}' is listed more than once")
        for index, _ in duplicates(refs, str)
    ]
    return out


def unit_paths(vnfd: VnfDescriptor, style: UnitPaths = "yaml") -> list[str]:
    """The path of each of ``vnfd.deployment_units``, in order."""
    if style == "api":
        return [f"deployment_units[{index}]" for index in range(len(vnfd.deployment_units))]
    seen = dict.fromkeys(UNIT_FIELDS, 0)
    out = []
    for unit in vnfd.deployment_units:
        out.append(f"{UNIT_FIELDS[unit.kind]}[{seen[unit.kind]}]")
        seen[unit.kind] += 1
    return out


def _reference_checker(vnfd: VnfDescriptor) -> Callable[[str], str | None]:
    """The problem with one link reference of ``vnfd``, or ``None``.

    The ids are indexed once, so checking every reference is linear in the
    descriptor rather than references times ids.
    """
    own = [cp.id for cp in vnfd.connection_points]
    own_ids = frozenset(own)
    units: dict[str, DeploymentUnit] = {}
    for each in vnfd.deployment_units:
        units.setdefault(each.id, each)  # the first of duplicates, as reported
    unit_points = {
        unit_id: (
            [cp.id for cp in unit.connection_points],
            {cp.id for cp in unit.connection_points},
        )
        for unit_id, unit in units.items()
    }

    def problem(reference: str) -> str | None:
        unit_id, point = split_ref(reference)
        if unit_id is None:
            return None if point in own_ids else unknown("connection point", point, own)
        if unit_id not in unit_points:
            return unknown("unit", unit_id, units)
        points, ids = unit_points[unit_id]
        if point in ids:
            return None
        return f"unit '{unit_id}' has no connection point '{point}'{did_you_mean(point, points)}"

    return problem


def check_vnfd(vnfd: VnfDescriptor, *, paths: UnitPaths = "yaml") -> list[FieldViolation]:
    """Every semantic problem of a VNFD.

    Ids are unique (units, each unit's points, own points, links); every link
    reference resolves (``unit:cp`` to a unit and one of its points, a bare
    id to an own point); E-Line links join exactly two points; every own
    point is on some link. ``paths`` chooses how unit paths read.
    """
    units = vnfd.deployment_units
    where = unit_paths(vnfd, paths)
    out = duplicate_ids(units, lambda u: u.id, lambda i: f"{where[i]}.id", "unit id")
    for unit, path in zip(units, where, strict=True):
        out += duplicate_ids(
            unit.connection_points,
            lambda cp: cp.id,
            item_path(f"{path}.connection_points", ".id"),
            "connection point id",
        )
    out += duplicate_ids(
        vnfd.connection_points,
        lambda cp: cp.id,
        lambda i: f"connection_points[{i}].id",
        "connection point id",
    )
    out += duplicate_ids(
        vnfd.virtual_links, lambda vl: vl.id, lambda i: f"virtual_links[{i}].id", "link id"
    )
    attached: set[str] = set()
    reference_problem = _reference_checker(vnfd)
    for index, link in enumerate(vnfd.virtual_links):
        path = f"virtual_links[{index}]"
        out += link_shape(link, path)
        for position, reference in enumerate(link.connection_points_reference):
            attached.add(reference)
            problem = reference_problem(reference)
            if problem:
                out.append(
                    FieldViolation(f"{path}.connection_points_reference[{position}]", problem)
                )
    out += [
        FieldViolation(
            f"connection_points[{index}]",
            f"connection point '{cp.id}' is not attached to any virtual link",
        )
        for index, cp in enumerate(vnfd.connection_points)
        if cp.id not in attached
    ]
    return out


def _nap_problem(point: SliceAccessPoint) -> str | None:
    try:
        ipaddress.ip_network(point.nap, strict=False)
    except ValueError:
        return f"'{point.nap}' is not an IP address or prefix"
    return None


def check_nst(nst: SliceTemplate) -> list[FieldViolation]:
    """Every semantic problem of a slice template.

    Subnet and link ids are unique; every link point names a subnet id; every
    ingress and egress ``nap`` is an IP address or prefix.
    """
    out = duplicate_ids(
        nst.subnets, lambda s: s.id, lambda i: f"slice_ns_subnets[{i}].id", "subnet id"
    )
    out += duplicate_ids(nst.links, lambda vl: vl.id, lambda i: f"slice_vld[{i}].id", "link id")
    for index, subnet in enumerate(nst.subnets):
        for key, points in (("ingresses", subnet.ingresses), ("egresses", subnet.egresses)):
            for position, point in enumerate(points):
                problem = _nap_problem(point)
                if problem:
                    out.append(
                        FieldViolation(f"slice_ns_subnets[{index}].{key}[{position}].nap", problem)
                    )
    subnet_ids = [subnet.id for subnet in nst.subnets]
    known = frozenset(subnet_ids)
    for index, link in enumerate(nst.links):
        for position, link_point in enumerate(link.connection_points):
            if link_point.subnet_ref not in known:
                out.append(
                    FieldViolation(
                        f"slice_vld[{index}].nsd-connection-point-ref[{position}].subnet-ref",
                        unknown("subnet", link_point.subnet_ref, subnet_ids),
                    )
                )
    return out
