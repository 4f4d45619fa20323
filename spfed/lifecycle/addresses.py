"""A service's addressing at one node: what to plan, customers' NAPs, what was chosen,
and the checks of what lower SPs report.

- ``link_demands``: every link the node has to address, from the graph and
  the placement, with the upper SP's constraint on an own point, the
  customer's NAP, and the descriptor's ``cidr`` and ``dhcp`` hints.
- ``nap_points`` and ``nap_placement``: 5GTANGO ingress and egress NAPs
  become fixed addresses on the service's own points, and their location a
  region for the function behind each point (a conflicting rule is refused).
- ``assignments``: what the node chose on its own constrained points, for
  its upper SP to check: its local interfaces' plan, or what its lower SP
  reported for the point behind them.
- ``address_problems``: the checks of every lower SP's report (assignments
  against constraints, every address inside what the part was given) and
  of the whole tree (no address, MAC or port id twice).
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import assert_never

from addressing import (
    OWN,
    AddressPlan,
    Endpoint,
    LinkDemand,
    assignment_problems,
    find_collisions,
    find_duplicates,
    outside_constraints,
)
from lower_sp.local.leaves import PortBinding
from spfed.errors import FailedPrecondition, FieldViolation, InvalidArgument
from spfed.model import (
    AddressAssignment,
    AddressConstraint,
    AddressConstraints,
    ConnectivityType,
    DelegatedPart,
    IdRange,
    LocalPart,
    Nap,
    PartKind,
    PlacementConstraints,
    PlacementRule,
    ServicePart,
    ServiceRecord,
    split_ref,
)
from upper_sp.graph import ServiceGraph
from upper_sp.placement import Placement

__all__ = [
    "address_problems",
    "assignments",
    "link_demands",
    "nap_placement",
    "nap_points",
    "own_constraints",
    "tree_ports",
]


def _forwarding_ends(graph: ServiceGraph) -> tuple[str, str]:
    """The own points where the first forwarding path starts and ends ("" if none)."""
    for fg in graph.nsd.forwarding_graphs:
        for path in fg.network_forwarding_paths:
            hops = sorted(path.connection_points, key=lambda h: h.position)
            own = [split_ref(h.connection_point_ref) for h in hops]
            points = [cp for owner, cp in own if owner is None]
            if points:
                return points[0], points[-1]
    return "", ""


def _nap_address_problem(nap: Nap, addressing: AddressConstraints) -> str:
    """What is wrong with a NAP's address ("" for nothing): it must be one host address of
    the service's address family."""
    try:
        customer = ipaddress.ip_interface(nap.nap)
    except ValueError:
        return f"'{nap.nap}' is not an address"
    if customer.network.num_addresses != 1:
        return f"{nap.nap} is a network: give the customer's one address (/32 or /128)"
    family = 6 if addressing.ip_version == 6 else 4
    if addressing.address_space:
        with contextlib.suppress(ValueError):  # a malformed space is the planner's to report
            family = ipaddress.ip_network(addressing.address_space, strict=False).version
    if customer.version != family:
        return f"{nap.nap} is IPv{customer.version}; the service is planned in IPv{family}"
    return ""


def nap_points(
    graph: ServiceGraph,
    addressing: AddressConstraints,
    *,
    regions: Collection[str] | None = None,
) -> dict[str, Nap]:
    """The customer's NAP on each own point it names (explicitly, or by the forwarding graph).

    With ``regions`` (every region the node or a lower SP serves), a NAP's
    location must be one of them.

    Raises:
        InvalidArgument: a NAP names no own point and none can be derived, or
            names an unknown point, or two NAPs land on one point, or its
            address is not one host address of the service's family.
        FailedPrecondition: a NAP's location is a region nothing serves.
    """
    own = {cp.id for cp in graph.nsd.connection_points}
    ingress, egress = _forwarding_ends(graph)
    out: dict[str, Nap] = {}
    problems = []
    nowhere = []
    for side, naps, default in (
        ("ingresses", addressing.ingresses, ingress),
        ("egresses", addressing.egresses, egress),
    ):
        for i, nap in enumerate(naps):
            path = f"addressing.{side}[{i}]"
            wrong = _nap_address_problem(nap, addressing)
            if wrong:
                problems.append(FieldViolation(f"{path}.nap", wrong))
            if regions is not None and nap.location and nap.location not in regions:
                nowhere.append(
                    FieldViolation(
                        f"{path}.location",
                        f"no PoP here and no lower SP serves region '{nap.location}'"
                        f" (regions: {', '.join(sorted(regions)) or 'none'})",
                    )
                )
            point = nap.connection_point or default
            if not point:
                problems.append(
                    FieldViolation(
                        f"{path}.connection_point",
                        "name the service's point (the NSD has no forwarding graph to derive it)",
                    )
                )
            elif point not in own:
                problems.append(
                    FieldViolation(
                        f"{path}.connection_point",
                        f"'{point}' is not an external point of {graph.nsd.ref}",
                    )
                )
            elif point in out:
                problems.append(FieldViolation(path, f"a second NAP on point '{point}'"))
            else:
                out[point] = nap
    if problems:
        raise InvalidArgument("the NAPs cannot be attached", field_violations=problems)
    if nowhere:
        raise FailedPrecondition(
            "a NAP lies in a region nothing here or below serves", field_violations=nowhere
        )
    return out


def nap_placement(
    graph: ServiceGraph, constraints: PlacementConstraints, naps: Mapping[str, Nap]
) -> PlacementConstraints:
    """Placement with each NAP's location as the region of the function behind its point.

    Raises:
        FailedPrecondition: a rule pins that function elsewhere.
    """
    rules = dict(constraints.rules)
    for point, nap in naps.items():
        if not nap.location:
            continue
        for link in graph.links:
            if point not in link.refs:
                continue
            for ref in link.refs:
                member, _ = split_ref(ref)
                if member is None:
                    continue
                top = member.split("/")[0]
                rule = rules.get(member) or rules.get(top)
                if rule is not None and rule.region and rule.region != nap.location:
                    raise FailedPrecondition(
                        f"the NAP on '{point}' is in region {nap.location}, but {member} is"
                        f" pinned to region {rule.region}",
                        field_violations=[
                            FieldViolation(f"placement.rules[{member}].region", nap.location)
                        ],
                    )
                if rule is None:
                    rules[member] = PlacementRule(region=nap.location)
    return PlacementConstraints(rules=rules, default_region=constraints.default_region)


def link_demands(
    graph: ServiceGraph,
    placement: Placement,
    bindings: Sequence[PortBinding],
    addressing: AddressConstraints,
    naps: Mapping[str, Nap],
) -> list[LinkDemand]:
    """What the address planner has to address, from the graph and the placement.

    A delegated member's endpoint is its connection point itself (its lower SP
    addresses what lies behind it); a local member's are its port bindings.
    Endpoints name parts by their text form (``pop:<name>``, ``sp:<lower>``):
    the planner treats part names as opaque keys, next to the service's own
    points (``OWN``), and keys its stored plan by them.

    Linear in links plus bindings: a service at ``limits.max_functions`` has
    hundreds of each, and this runs on the event loop.
    """
    given = {c.connection_point: c for c in addressing.constraints}
    local: dict[tuple[str, str], list[PortBinding]] = {}
    for b in bindings:
        local.setdefault((b.member, b.link), []).append(b)
    demands = []
    for link in graph.links:
        endpoints: list[Endpoint] = []
        fixed: AddressConstraint | None = None
        nap = ""
        for ref in link.refs:
            owner, cp = split_ref(ref)
            if owner is None:
                endpoints.append(Endpoint(OWN, cp))
                fixed = fixed or given.get(cp)
                nap = nap or (naps[cp].nap if cp in naps else "")
                continue
            part = placement.parts[owner]
            match part:
                case DelegatedPart():
                    endpoints.append(Endpoint(str(part), ref))
                case LocalPart():
                    endpoints += [
                        Endpoint(str(part), b.endpoint) for b in local.get((owner, link.id), ())
                    ]
                case other:  # a bare string here would otherwise drop the endpoint
                    assert_never(other)
        demands.append(
            LinkDemand(
                link.id,
                tuple(dict.fromkeys(endpoints)),
                link.connectivity_type,
                fixed,
                nap if fixed is None else "",
                link.cidr,
                link.dhcp,
            )
        )
    service_links = {lk.id for lk in graph.links}
    internal: dict[str, list[Endpoint]] = {}
    for b in bindings:
        if b.link not in service_links:
            internal.setdefault(b.link, []).append(
                Endpoint(str(placement.parts[b.member]), b.endpoint)
            )
    members = {m.id: m for m in graph.members}
    for link_id, eps in internal.items():
        owner, _, vl_id = link_id.rpartition("/")
        vnfd = members[owner].vnfd if owner in members else None
        vl = next((v for v in vnfd.virtual_links if v.id == vl_id), None) if vnfd else None
        demands.append(
            LinkDemand(
                link_id,
                tuple(eps),
                vl.connectivity_type if vl else ConnectivityType.E_LAN,
                cidr=vl.cidr if vl else "",
                dhcp=vl.dhcp if vl else False,
                internal=True,
            )
        )
    return demands


def own_constraints(
    graph: ServiceGraph, addressing: AddressConstraints, plan: AddressPlan | None
) -> tuple[AddressConstraint, ...]:
    """Where each of the service's own points sits: the given constraint, or the planned slice."""
    given = {c.connection_point: c for c in addressing.constraints}
    out = []
    for link in graph.links:
        for ref in link.refs:
            owner, cp = split_ref(ref)
            if owner is not None:
                continue
            if cp in given:
                out.append(given[cp])
            elif plan is not None and link.id in plan.links:
                lp = plan.links[link.id]
                out.append(
                    AddressConstraint(
                        cp,
                        lp.slices.get(OWN, lp.subnet),
                        lp.subnet,
                        lp.gateway,
                        vni=IdRange(lp.vni, lp.vni) if lp.vni else None,
                        mtu=lp.mtu,
                    )
                )
    return tuple(dict.fromkeys(out))


def assignments(
    graph: ServiceGraph,
    addressing: AddressConstraints,
    plan: AddressPlan,
    parts: Sequence[ServicePart],
    node_id: str,
) -> tuple[AddressAssignment, ...]:
    """What the node chose on each of its own constrained points.

    A local interface on the point reports its plan; a delegated part with
    the point's link on its boundary reports what its lower SP reported for
    that boundary point (named after the link).
    """
    constrained = {c.connection_point for c in addressing.constraints}
    out: list[AddressAssignment] = []
    for link in graph.links:
        points = [cp for owner, cp in map(split_ref, link.refs) if owner is None]
        lp = plan.links.get(link.id)
        for point in (p for p in points if p in constrained):
            if lp is not None:
                out += [
                    AddressAssignment(
                        point,
                        address,
                        lp.macs.get(endpoint, ""),
                        lp.port_ids.get(endpoint, ""),
                        lp.vni,
                        lp.mtu,
                        node_id,
                    )
                    for endpoint, address in lp.addresses.items()
                    if endpoint not in points
                ]
            for part in parts:
                if part.kind is not PartKind.DELEGATED or part.remote is None:
                    continue
                if not any(c.connection_point == link.id for c in part.constraints):
                    continue
                out += [
                    replace(a, connection_point=point)
                    for a in part.remote.assignments
                    if a.connection_point == link.id
                ]
    return tuple(dict.fromkeys(out))


def tree_ports(record: ServiceRecord, who: str) -> list[tuple[str, str, str, str]]:
    """Every port of a service tree: (holder, address, mac, port id); the address is ""
    on a function's private network (outside the service's plan)."""
    out = []
    for part in record.parts:
        for vnf in part.vnfs:
            for unit in vnf.units:
                out += [
                    (
                        f"{who}/{part.id}/{vnf.vnf_id}/{unit.unit_id}:{p.connection_point}",
                        "" if p.private else p.address,
                        p.mac,
                        p.port_id,
                    )
                    for p in unit.ports
                ]
        if part.remote is not None:
            out += tree_ports(part.remote, f"{who}/{part.lower_sp}")
    return out


def address_problems(record: ServiceRecord, node_id: str) -> list[str]:
    """Everything wrong with what the lower SPs report, and with the tree as a whole."""
    problems: list[str] = []
    for part in record.parts:
        if part.kind is not PartKind.DELEGATED or part.remote is None:
            continue
        lower = part.lower_sp
        allowed = [part.address_space, *(c.prefix for c in part.constraints)]
        reported = [address for _, address, _, _ in tree_ports(part.remote, lower) if address]
        problems += [
            f"lower SP {lower} assigned {a}, outside {', '.join(allowed)}"
            for a in outside_constraints(allowed, reported)
        ]
        given = {c.connection_point: c for c in part.constraints}
        answered: dict[str, int] = {}
        for assignment in part.remote.assignments:
            constraint = given.get(assignment.connection_point)
            if constraint is None:
                problems.append(
                    f"lower SP {lower} reports point {assignment.connection_point},"
                    " which has no constraint"
                )
                continue
            answered[assignment.connection_point] = answered.get(assignment.connection_point, 0) + 1
            problems += assignment_problems(constraint, assignment, f"lower SP {lower}")
        problems += [
            f"lower SP {lower} reports nothing for point {cp}" for cp in given if cp not in answered
        ]
    ports = tree_ports(record, node_id)
    problems += find_collisions((holder, address) for holder, address, _, _ in ports if address)
    problems += find_duplicates(((holder, mac) for holder, _, mac, _ in ports), "MAC")
    problems += find_duplicates(((holder, pid) for holder, _, _, pid in ports), "port id")
    return problems
