"""What an InstantiateService call decides before anything is stored.

Admission runs in three stages of rising cost, each only when the one
before passed:

1. ``check_request``: the request's shape, its size against the node's
   ``DescriptorLimits`` and the values of its addressing. Only lengths and a
   few parses, on the event loop: an oversized request costs microseconds.
2. ``resolve``: every descriptor check and the service graph.
3. ``decide_placement``: placement, and (when the request gives the address
   space) a dry run of the address planner, so a space too small for the
   service is the call's error rather than a failed operation.

Stages 2 and 3 are pure functions of their arguments (snapshots taken on the
event loop), and their arguments and results pickle, so they run in the
admission worker process (``AdmissionWorker``); their inputs are bounded by
stage 1.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from addressing import PlanSettings, ServiceSpace, parse_id_range, plan_addresses
from lower_sp.local.leaves import PortBinding, port_bindings
from spfed.config import AddressingConfig
from spfed.descriptors import check_nsd, check_vnfd, limit_violations, prefix_violations
from spfed.descriptors.limits import limits_named, over_limit
from spfed.errors import FieldViolation, InvalidArgument, NotFound, ResourceExhausted
from spfed.lifecycle.addresses import link_demands, nap_placement, nap_points
from spfed.lifecycle.lookup import RequestLookup
from spfed.model import (
    AddressConstraints,
    DescriptorLimits,
    DescriptorRef,
    IdRange,
    InstantiateRequest,
    LocalPart,
    NetworkServiceDescriptor,
    OfferKind,
    split_ref,
)
from upper_sp.graph import ServiceGraph, build_graph
from upper_sp.placement import LowerView, Placement, PopView, check_rules, place

__all__ = [
    "MAX_NAME_LENGTH",
    "PlacementInputs",
    "check_request",
    "decide_placement",
    "local_bindings",
    "plan_settings",
    "request_size",
    "resolve",
]

MAX_NAME_LENGTH = 256
"""Longest service name (label) a request may carry."""
_MAX_REQUEST_ID = 128
_MIN_MTU = 576
"""Smallest MTU a request may ask for (the IPv4 minimum)."""
_MAX_MTU = 65535
"""Largest MTU a request may ask for."""
_MAX_VNI = (1 << 24) - 1
"""VXLAN network identifiers are 24 bits."""

_NOT_ASSIGNABLE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "fe80::/10",
        "ff00::/8",
    )
)
"""Blocks whose addresses no interface may take (this-network, loopback, link-local,
multicast, reserved and broadcast). A service space overlapping one of them (such
as ``0.0.0.0/0``) would hand them out."""


# --- stage 1: shape, size and values -------------------------------------------------


def request_size(request: InstantiateRequest) -> int:
    """A request's admission work, roughly: its functions, nested services, links and
    VNFDs in every NSD it carries, and its placement rules. From lengths only."""
    size = len(request.placement.rules)
    descriptors = request.descriptors
    if descriptors is None:
        return size
    for nsd in (descriptors.nsd, *descriptors.nested_nsds):
        size += len(nsd.network_functions) + len(nsd.network_services) + len(nsd.virtual_links)
    return size + len(descriptors.vnfds)


def check_request(request: InstantiateRequest, limits: DescriptorLimits) -> None:
    """Refuse a request whose shape, size or addressing values are wrong.

    The size checks come first and, when one fails, alone: nothing else is
    looked at in an oversized request, and the message names the bounds.
    Cost: linear in the number of descriptors, links and units, never in
    their contents.

    Raises:
        InvalidArgument: with a field violation per problem (at most
            ``limits.max_violations``).
    """
    oversized = _size_problems(request, limits)
    if oversized:
        raise InvalidArgument(
            f"the request exceeds this node's limits: {', '.join(limits_named(oversized))}",
            field_violations=oversized[: limits.max_violations],
        )
    problems = _shape_problems(request) + _addressing_problems(request.addressing)
    if problems:
        raise InvalidArgument(
            "the request is malformed", field_violations=problems[: limits.max_violations]
        )


def _shape_problems(request: InstantiateRequest) -> list[FieldViolation]:
    out = []
    if not request.request_id:
        out.append(FieldViolation("request_id", "required: a client-chosen idempotency key"))
    elif len(request.request_id) > _MAX_REQUEST_ID:
        out.append(FieldViolation("request_id", f"at most {_MAX_REQUEST_ID} characters"))
    if len(request.name) > MAX_NAME_LENGTH:
        out.append(FieldViolation("name", f"at most {MAX_NAME_LENGTH} characters"))
    if request.descriptors is None and request.offer is None:
        out.append(FieldViolation("source", "set either 'descriptors' or 'offer'"))
    if request.descriptors is not None and not request.descriptors.nsd.ref.name:
        out.append(
            FieldViolation("descriptors.nsd.ref", "required: vendor, name and version of the NSD")
        )
    addressing = request.addressing
    if addressing.ip_version not in (0, 4, 6):
        out.append(
            FieldViolation("addressing.ip_version", f"{addressing.ip_version}: use 4, 6 or 0")
        )
    if addressing.mtu and not _MIN_MTU <= addressing.mtu <= _MAX_MTU:
        out.append(
            FieldViolation("addressing.mtu", f"{addressing.mtu}: from {_MIN_MTU} to {_MAX_MTU}")
        )
    return out


def _size_problems(request: InstantiateRequest, limits: DescriptorLimits) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    rules = len(request.placement.rules)
    if rules > limits.max_placement_rules:
        found.append(
            over_limit(
                "placement.rules",
                rules,
                "placement rules",
                "max_placement_rules",
                limits.max_placement_rules,
            )
        )
    descriptors = request.descriptors
    if descriptors is None:
        return found
    # A request carries at most one descriptor per member it may name.
    for field, count, what in (
        ("descriptors.vnfds", len(descriptors.vnfds), "VNFDs"),
        ("descriptors.nested_nsds", len(descriptors.nested_nsds), "nested NSDs"),
    ):
        if count > limits.max_functions:
            found.append(over_limit(field, count, what, "max_functions", limits.max_functions))
    if found:
        return found
    found += limit_violations(descriptors.nsd, limits, path="descriptors.nsd")
    for i, vnfd in enumerate(descriptors.vnfds):
        found += limit_violations(vnfd, limits, path=f"descriptors.vnfds[{i}]")
    for i, nested in enumerate(descriptors.nested_nsds):
        found += limit_violations(nested, limits, path=f"descriptors.nested_nsds[{i}]")
    if not found:
        found += _expansion_problems(descriptors.nsd, descriptors.nested_nsds, limits)
    return found


@dataclass(frozen=True)
class _Expansion:
    depth: int
    members: int
    links: int


def _expansion_problems(
    top: NetworkServiceDescriptor,
    nested: Sequence[NetworkServiceDescriptor],
    limits: DescriptorLimits,
) -> list[FieldViolation]:
    """Bound the graph that flattening the sent nested NSDs would build.

    Each NSD is within the limits on its own, but one referenced many times
    at every level multiplies: the flattened service must itself stay within
    ``max_functions`` members, ``max_links`` links and ``max_nesting_depth``
    levels. Memoised per NSD, so the cost is linear in the descriptors sent.
    Nested references are matched by vendor and name only (any version): an
    over-estimate at worst, which ``check_nsd`` would refuse anyway.
    """
    by_name = {(n.ref.vendor, n.ref.name): n for n in nested}
    memo: dict[tuple[str, str], _Expansion] = {}
    cap = _Expansion(limits.max_nesting_depth + 1, limits.max_functions + 1, limits.max_links + 1)

    def expand(nsd: NetworkServiceDescriptor, visiting: frozenset[tuple[str, str]]) -> _Expansion:
        key = (nsd.ref.vendor, nsd.ref.name)
        if key in memo:
            return memo[key]
        if key in visiting:  # a cycle: check_nsd names it; here it is unbounded
            return cap
        depth, members, links = 0, len(nsd.network_functions), len(nsd.virtual_links)
        for ref in nsd.network_services:
            child = by_name.get((ref.descriptor.vendor, ref.descriptor.name))
            if child is None:  # onboarded or offered: one member, delegated or the node's own
                members += 1
                continue
            sub = expand(child, visiting | {key})
            depth, members, links = (
                max(depth, sub.depth + 1),
                members + sub.members,
                links + sub.links,
            )
            if depth > limits.max_nesting_depth or members > limits.max_functions:
                break  # already over: stop before the product grows further
        result = _Expansion(min(depth, cap.depth), min(members, cap.members), min(links, cap.links))
        memo[key] = result
        return result

    total = expand(top, frozenset())
    where = "descriptors.nsd.network_services"
    found = []
    if total.depth > limits.max_nesting_depth:
        found.append(
            over_limit(
                where,
                total.depth,
                "levels of nested services",
                "max_nesting_depth",
                limits.max_nesting_depth,
            )
        )
    if total.members > limits.max_functions:
        found.append(
            over_limit(
                where,
                total.members,
                "functions once nested services are expanded",
                "max_functions",
                limits.max_functions,
            )
        )
    if total.links > limits.max_links:
        found.append(
            over_limit(
                where,
                total.links,
                "virtual links once nested services are expanded",
                "max_links",
                limits.max_links,
            )
        )
    return found


def _addressing_problems(addressing: AddressConstraints) -> list[FieldViolation]:
    out = []
    if addressing.address_space:
        wrong = _space_problem(addressing.address_space)
        if wrong:
            out.append(FieldViolation("addressing.address_space", wrong))
    vnis = addressing.vni_space
    if vnis is not None:
        wrong = _vni_problem(vnis)
        if wrong:
            out.append(FieldViolation("addressing.vni_space", wrong))
    return out


def _space_problem(text: str) -> str:
    """What is wrong with a service's address space ("" for nothing)."""
    try:
        space = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        return f"'{text}' is not an IPv4 or IPv6 prefix with its host bits zero ({exc})"
    for special in _NOT_ASSIGNABLE:
        if special.version == space.version and space.overlaps(special):
            return (
                f"{space} overlaps {special}, whose addresses no interface may take;"
                " give a unicast block such as 10.1.0.0/16"
            )
    return ""


def _vni_problem(vnis: IdRange) -> str:
    if vnis.first > vnis.last:
        return f"first {vnis.first} is above last {vnis.last}"
    if vnis.first < 1 or vnis.last > _MAX_VNI:
        return f"{vnis}: VNIs run from 1 to {_MAX_VNI}"
    return ""


# --- stage 2: descriptors and the graph ----------------------------------------------


def resolve(request: InstantiateRequest, lookup: RequestLookup) -> ServiceGraph:
    """Check every descriptor of an admitted-so-far request and build its graph.

    Pure and thread-safe for a ``lookup`` nobody mutates meanwhile.

    Raises:
        InvalidArgument: with one field violation per problem.
        NotFound: an offer reference names nothing onboarded here.
        FailedPrecondition: a NAP lies in a region nothing serves (see ``nap_points``).
    """
    descriptors = request.descriptors
    problems: list[FieldViolation] = []
    if descriptors is None:
        assert request.offer is not None
        nsd = lookup.nsd(request.offer)
        if nsd is None:
            raise NotFound(
                f"no network service {request.offer} is onboarded here "
                "(offers from lower SPs are instantiated by nesting them in an NSD)"
            )
    else:
        nsd = descriptors.nsd
        for i, vnfd in enumerate(descriptors.vnfds):
            problems += prefix_violations(check_vnfd(vnfd, paths="api"), f"descriptors.vnfds[{i}].")
        for i, nested in enumerate(descriptors.nested_nsds):
            problems += prefix_violations(
                check_nsd(nested, lookup), f"descriptors.nested_nsds[{i}]."
            )
        problems += prefix_violations(check_nsd(nsd, lookup), "descriptors.nsd.")
        if problems:
            raise InvalidArgument(
                f"the descriptors of {nsd.ref} are invalid", field_violations=problems
            )
    graph = build_graph(nsd, lookup, path="descriptors.nsd." if descriptors else "offer.")
    own = {cp.id for cp in nsd.connection_points}
    for i, c in enumerate(request.addressing.constraints):
        if c.connection_point not in own:
            problems.append(
                FieldViolation(
                    f"addressing.constraints[{i}].connection_point",
                    f"'{c.connection_point}' is not an external point of {nsd.ref} "
                    f"(points: {', '.join(sorted(own)) or 'none'})",
                )
            )
    if problems:
        raise InvalidArgument("the request's addressing is invalid", field_violations=problems)
    nap_points(graph, request.addressing)  # NAPs must name (or imply) an own point
    return graph


# --- stage 3: placement and the plan's dry run ---------------------------------------


@dataclass(frozen=True)
class PlacementInputs:
    """A snapshot of what placement reads from the node, taken on the event loop."""

    pops: tuple[PopView, ...]
    """The node's PoPs with their free capacity."""
    lowers: tuple[LowerView, ...]
    """Lower SPs with their latest catalogues."""
    withdrawn: frozenset[tuple[OfferKind, DescriptorRef]]
    """Offers the operator withdrew."""
    addressing: AddressingConfig
    """How the node carves address spaces (for the plan's dry run)."""


def decide_placement(
    graph: ServiceGraph, request: InstantiateRequest, inputs: PlacementInputs
) -> Placement:
    """Place every member; with a given address space, check the plan fits in it.

    Raises:
        InvalidArgument: a rule names an unknown member, PoP or lower SP; the
            given space cannot hold the service (``addressing.address_space``).
        FailedPrecondition: nothing offers a member where asked.
        ResourceExhausted: no room for a member.
    """
    regions = {p.region for p in inputs.pops} | {
        r.region for lv in inputs.lowers if lv.catalogue is not None for r in lv.catalogue.regions
    }
    constraints = nap_placement(
        graph,
        request.placement,
        nap_points(graph, request.addressing, regions=regions),
    )
    check_rules(graph, constraints, [p.name for p in inputs.pops], [lv.id for lv in inputs.lowers])
    placement = place(graph, constraints, inputs.pops, inputs.lowers, inputs.withdrawn)
    if request.addressing.address_space:
        _dry_run_plan(graph, placement, request.addressing, inputs.addressing)
    return placement


def _dry_run_plan(
    graph: ServiceGraph,
    placement: Placement,
    addressing: AddressConstraints,
    config: AddressingConfig,
) -> None:
    """Plan inside the given space and throw the plan away; raise if it cannot fit.

    The VNIs and MACs the node would draw from its own pools (when the
    request gives none) are stood in for by the whole pools: this checks what
    the request gave, not the node's pools, which ``plan_addresses`` checks
    when it runs for real.

    Raises:
        InvalidArgument: the given block is too small (``addressing.address_space``).
        ResourceExhausted, FailedPrecondition: anything else ``plan_addresses``
            refuses (too few VNIs or MACs, a link with more endpoints than a
            link subnet holds), as it says.
    """
    naps = nap_points(graph, addressing)
    bindings = [b for part in local_bindings(graph, placement).values() for b in part]
    space = ServiceSpace(
        addressing.address_space,
        addressing.vni_space or parse_id_range(config.vni_pool),
        addressing.mac_prefix or config.mac_pool,
        addressing.port_id_prefix or "dry-run/",
        addressing.mtu or config.mtu,
    )
    try:
        plan_addresses(
            space,
            link_demands(graph, placement, bindings, addressing, naps),
            [str(p) for p in placement.delegated_parts()],
            plan_settings(config),
            owner=_DRY_RUN,
        )
    except ResourceExhausted as exc:
        blamed = _given_field(exc)
        if not blamed:
            raise
        # The request chose what ran out, so its argument is at fault, not the node.
        raise InvalidArgument(
            f"{blamed} is too small for the service: {exc.message}",
            field_violations=[
                FieldViolation(
                    blamed, "; ".join(f"{v.subject}: {v.description}" for v in exc.quota_violations)
                )
            ],
        ) from exc


_DRY_RUN = "admission"
"""Owner of the dry-run plan: its block's pool is named ``admission:<block>``."""


def _given_field(exc: ResourceExhausted) -> str:
    """The request field whose value ran out in the planner ("" when it is not the block).

    Only the block is blamed on the request: VNIs and MACs too few for the
    service stay RESOURCE_EXHAUSTED, as they are when a node's own pools run
    out, so an upper SP sees the same error whichever of them sized them.
    """
    subjects = [v.subject for v in exc.quota_violations]
    if any(s.startswith((f"pool:{_DRY_RUN}:", "prefix:")) for s in subjects):
        return "addressing.address_space"
    return ""


def plan_settings(config: AddressingConfig) -> PlanSettings:
    """How the node carves a service's space, from its configuration."""
    return PlanSettings(
        config.link_prefix_length,
        config.crossing_link_prefix_length,
        config.part_block_bits,
        config.point_to_point_links is not False,
    )


def local_bindings(graph: ServiceGraph, placement: Placement) -> dict[LocalPart, list[PortBinding]]:
    """Port bindings of every locally deployed function, by part."""
    external_by_member: dict[str, dict[str, str]] = {}
    for link in graph.links:
        for ref in link.refs:
            owner, cp = split_ref(ref)
            if owner is not None:
                external_by_member.setdefault(owner, {})[cp] = link.id
    out: dict[LocalPart, list[PortBinding]] = {}
    for member in graph.members:
        part = placement.parts[member.id]
        if not isinstance(part, LocalPart) or member.vnfd is None:
            continue
        external: Mapping[str, str] = external_by_member.get(member.id, {})
        out.setdefault(part, []).extend(port_bindings(member.id, member.vnfd, external))
    return out
