"""Semantic checks of NSDs, on the domain model.

Local checks need only the NSD: unique ids, references that name a member or
an own point, link shapes, forwarding graphs. Interface checks need to know
the members' descriptors (an ``InterfaceResolver``): every function and nested
service resolves, and every ``member:cp`` names one of that member's external
points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from spfed.descriptors._checks import duplicate_ids, item_path, link_shape
from spfed.descriptors._resolver import InterfaceResolver, refers_to
from spfed.descriptors._suggest import did_you_mean, listing, unknown
from spfed.errors import FieldViolation
from spfed.model import (
    DescriptorRef,
    Dialect,
    ForwardingGraph,
    NetworkServiceDescriptor,
    split_ref,
)


@dataclass(frozen=True)
class _Member:
    label: str
    """``function 'vnf_fw' (eu.x/fw/1.0)``."""
    points: tuple[str, ...] | None
    """External points, ``None`` when not known."""


def _members(
    nsd: NetworkServiceDescriptor, resolver: InterfaceResolver | None
) -> dict[str, _Member]:
    members: dict[str, _Member] = {}
    for function in nsd.network_functions:
        points = resolver.function_points(function.descriptor) if resolver else None
        label = f"function '{function.vnf_id}' ({function.descriptor})"
        members.setdefault(function.vnf_id, _Member(label, points))
    for service in nsd.network_services:
        points = resolver.service_points(service.descriptor) if resolver else None
        label = f"nested service '{service.ns_id}' ({service.descriptor})"
        members.setdefault(service.ns_id, _Member(label, points))
    return members


def _member_word(nsd: NetworkServiceDescriptor) -> str:
    return "function or nested service" if nsd.network_services else "function"


def _local_reference_checker(nsd: NetworkServiceDescriptor) -> Callable[[str], str | None]:
    """The problem with one reference of ``nsd`` to its own points or members, or ``None``.

    The ids are indexed once: checking every reference stays linear in the NSD.
    """
    own = [cp.id for cp in nsd.connection_points]
    ids = [f.vnf_id for f in nsd.network_functions] + [s.ns_id for s in nsd.network_services]
    own_ids, member_ids, word = frozenset(own), frozenset(ids), _member_word(nsd)

    def problem(reference: str) -> str | None:
        member, point = split_ref(reference)
        if member is None:
            return None if point in own_ids else unknown("connection point", point, own)
        return None if member in member_ids else unknown(word, member, ids)

    return problem


def _interface_reference(members: dict[str, _Member], reference: str) -> str | None:
    member_id, point = split_ref(reference)
    member = members.get(member_id) if member_id is not None else None
    if member is None or member.points is None or point in member.points:
        return None
    return f"{member.label} has no connection point '{point}'{did_you_mean(point, member.points)}"


def _references(nsd: NetworkServiceDescriptor) -> list[tuple[str, str]]:
    """Every ``(path, reference)`` in links and forwarding paths."""
    out = []
    for index, link in enumerate(nsd.virtual_links):
        for position, reference in enumerate(link.connection_points_reference):
            out.append(
                (f"virtual_links[{index}].connection_points_reference[{position}]", reference)
            )
    for g, graph in enumerate(nsd.forwarding_graphs):
        for p, path in enumerate(graph.network_forwarding_paths):
            for h, hop in enumerate(path.connection_points):
                where = (
                    f"forwarding_graphs[{g}].network_forwarding_paths[{p}].connection_points[{h}]"
                )
                out.append((f"{where}.connection_point_ref", hop.connection_point_ref))
    return out


def _graph(
    nsd: NetworkServiceDescriptor, graph: ForwardingGraph, path: str
) -> list[FieldViolation]:
    links = [link.id for link in nsd.virtual_links]
    functions = [f.vnf_id for f in nsd.network_functions]
    services = [s.ns_id for s in nsd.network_services]
    out = []
    for key, names, known, what in (
        ("constituent_virtual_links", graph.constituent_virtual_links, links, "virtual link"),
        ("constituent_vnfs", graph.constituent_vnfs, functions, "function"),
        ("constituent_services", graph.constituent_services, services, "nested service"),
    ):
        present = frozenset(known)
        out += [
            FieldViolation(f"{path}.{key}[{index}]", unknown(what, name, known))
            for index, name in enumerate(names)
            if name not in present
        ]
    paths = graph.network_forwarding_paths
    out += duplicate_ids(
        paths, lambda fp: fp.fp_id, item_path(f"{path}.network_forwarding_paths", ".fp_id"), "fp_id"
    )
    for p, forwarding_path in enumerate(paths):
        hops = item_path(f"{path}.network_forwarding_paths[{p}].connection_points", ".position")
        out += duplicate_ids(
            forwarding_path.connection_points, lambda hop: str(hop.position), hops, "position"
        )
    return out


def nsd_local_violations(nsd: NetworkServiceDescriptor) -> list[FieldViolation]:
    """Problems visible in the NSD alone (see the module docstring)."""
    legacy = nsd.dialect is Dialect.SONATA
    members = [
        (f"network_functions[{i}].vnf_id", f.vnf_id) for i, f in enumerate(nsd.network_functions)
    ]
    members += [
        (f"network_services[{i}]" if legacy else f"network_services[{i}].ns_id", s.ns_id)
        for i, s in enumerate(nsd.network_services)
    ]
    out = duplicate_ids(members, lambda m: m[1], lambda i: members[i][0], "member id")
    out += duplicate_ids(
        nsd.connection_points,
        lambda cp: cp.id,
        item_path("connection_points", ".id"),
        "connection point id",
    )
    out += duplicate_ids(
        nsd.virtual_links, lambda vl: vl.id, item_path("virtual_links", ".id"), "link id"
    )
    out += duplicate_ids(
        nsd.forwarding_graphs,
        lambda fg: fg.fg_id,
        item_path("forwarding_graphs", ".fg_id"),
        "fg_id",
    )
    for index, service in enumerate(nsd.network_services):
        if refers_to(service.descriptor, nsd.ref):
            out.append(FieldViolation(f"network_services[{index}]", "a service cannot nest itself"))
    for index, link in enumerate(nsd.virtual_links):
        out += link_shape(link, f"virtual_links[{index}]")
    local_problem = _local_reference_checker(nsd)
    for path, reference in _references(nsd):
        problem = local_problem(reference)
        if problem:
            out.append(FieldViolation(path, problem))
    for index, graph in enumerate(nsd.forwarding_graphs):
        out += _graph(nsd, graph, f"forwarding_graphs[{index}]")
    return out


def _missing(kind: str, ref: DescriptorRef, known: str | None, hint: str) -> str:
    """``known`` is the listing of the known descriptors, ``None`` for none."""
    if known is None:
        return f"no {kind} {ref} is known (no {kind} at all){hint}"
    return f"no {kind} {ref} among {known}{hint}"


def _known(refs: Sequence[DescriptorRef]) -> str | None:
    """The listing of ``refs`` for messages, ``None`` for none."""
    return listing([str(ref) for ref in refs]) if refs else None


def nsd_interface_violations(
    nsd: NetworkServiceDescriptor, resolver: InterfaceResolver, *, missing_hint: str = ""
) -> list[FieldViolation]:
    """Problems that need the members' descriptors (see the module docstring).

    ``missing_hint`` is appended to the text for a function or service the
    resolver does not know, e.g. ``"; pass its file too"``.
    """
    out = []
    # The listings of known descriptors, made once when first needed: once
    # per missing member would be quadratic.
    functions: list[str | None] = []
    services: list[str | None] = []
    for index, function in enumerate(nsd.network_functions):
        if resolver.function_points(function.descriptor) is None:
            if not functions:
                functions.append(_known(resolver.known_functions()))
            text = _missing("VNFD", function.descriptor, functions[0], missing_hint)
            out.append(FieldViolation(f"network_functions[{index}]", text))
    for index, service in enumerate(nsd.network_services):
        if resolver.service_points(service.descriptor) is None:
            if not services:
                others = [ref for ref in resolver.known_services() if ref != nsd.ref]
                services.append(_known(others))
            text = _missing("NSD", service.descriptor, services[0], missing_hint)
            out.append(FieldViolation(f"network_services[{index}]", text))
    members = _members(nsd, resolver)
    for path, reference in _references(nsd):
        problem = _interface_reference(members, reference)
        if problem:
            out.append(FieldViolation(path, problem))
    return out


def check_nsd(
    nsd: NetworkServiceDescriptor,
    resolver: InterfaceResolver | None = None,
    *,
    missing_hint: str = "",
) -> list[FieldViolation]:
    """Every semantic problem of an NSD.

    Without a resolver only what the NSD alone shows is checked; with one,
    also that every function and nested service resolves and that every
    ``member:cp`` names an external point of that member. ``missing_hint`` is
    appended to the text for an unresolved function or service.
    """
    out = nsd_local_violations(nsd)
    if resolver is not None:
        out += nsd_interface_violations(nsd, resolver, missing_hint=missing_hint)
    return out


_Find = Callable[[DescriptorRef], NetworkServiceDescriptor | None]


def _nested_within(
    start: NetworkServiceDescriptor, first: DescriptorRef, find: _Find, levels: int
) -> tuple[list[DescriptorRef] | None, bool]:
    """Follow nesting from ``first`` (one of ``start``'s nested services), breadth first.

    Returns the shortest chain back to ``start`` (``start -> ... -> start``)
    if one is at most ``levels`` services long, and whether nesting goes on
    deeper than ``levels`` below ``start``. A loop and deep nesting cost at
    most the services within ``levels`` of ``first``, each visited once: no
    recursion, so a chain of thousands of services cannot overflow the stack.
    """
    target = find(first)
    if target is None:
        return None, False
    parent: dict[DescriptorRef, DescriptorRef] = {target.ref: start.ref}
    level = [target]
    for depth in range(1, levels + 1):
        below: list[NetworkServiceDescriptor] = []
        for nsd in level:
            if nsd.ref == start.ref:
                chain = [start.ref]
                while chain[-1] != start.ref or len(chain) == 1:
                    chain.append(parent[chain[-1]])
                return chain[::-1], False
            for nested in nsd.network_services:
                found = find(nested.descriptor)
                if found is not None and (found.ref == start.ref or found.ref not in parent):
                    parent.setdefault(found.ref, nsd.ref)
                    below.append(found)
        if depth == levels:
            return None, bool(below)
        level = below
    return None, False


def nesting_loops(
    nsd: NetworkServiceDescriptor, find: _Find, *, max_depth: int = 8
) -> list[FieldViolation]:
    """Nested services whose own nesting leads back to ``nsd`` (which would never end),
    or goes deeper than ``max_depth`` levels below ``nsd`` (``limits.max_nesting_depth``).

    ``find`` resolves a reference to an NSD. A service nesting itself
    directly is a local problem (see ``nsd_local_violations``), not repeated
    here. A loop longer than ``max_depth`` is reported as too deep.
    """
    out = []
    for index, service in enumerate(nsd.network_services):
        loop, deeper = _nested_within(nsd, service.descriptor, find, max_depth)
        if loop and len(loop) > 2:
            chain = " -> ".join(str(ref) for ref in loop)
            out.append(
                FieldViolation(
                    f"network_services[{index}]", f"nesting loops back to this service: {chain}"
                )
            )
        elif deeper:
            out.append(
                FieldViolation(
                    f"network_services[{index}]",
                    f"nests services more than {max_depth} levels deep;"
                    f" limits.max_nesting_depth is {max_depth}",
                )
            )
    return out
