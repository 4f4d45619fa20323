"""What a slice template asks of the node: checks, and one service request per subnet.

Pure functions, no I/O:

- ``check_slice_request`` finds every problem of a ``CreateSliceRequest``
  (the template's own, unknown NSDs, slice links that do not join exactly
  two external points of two different subnets, placement for unknown
  subnets), each a field violation on the API's paths.
- ``link_points`` gives each point of a slice link its address in the
  link's /31 (/127): the network address to the first, the other to the
  second.
- ``subnet_request`` is the ``InstantiateRequest`` of one subnet: its NSD
  and the VNFDs it names, its placement, its ingresses and egresses as
  NAPs, and an ``AddressConstraint`` (one address, the /31, one VNI) on
  every point a slice link joins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from spfed.descriptors import check_nst
from spfed.errors import FieldViolation, InvalidArgument
from spfed.model import (
    AddressConstraint,
    AddressConstraints,
    ConnectionPointType,
    CreateSliceRequest,
    DescriptorRef,
    IdRange,
    InstantiateRequest,
    Nap,
    NetworkServiceDescriptor,
    PlacementConstraints,
    ServiceDescriptors,
    SliceAccessPoint,
    SliceLinkPoint,
    SliceLinkRecord,
    SliceSubnet,
)

__all__ = [
    "NsdFinder",
    "SubnetPlan",
    "check_slice_request",
    "link_points",
    "subnet_request",
    "subnet_request_id",
]

NsdFinder = Callable[[DescriptorRef], NetworkServiceDescriptor | None]
"""Finds an NSD the node knows (onboarded), by reference."""

_NST_PATHS = (
    ("slice_ns_subnets", "template.subnets"),
    ("slice_vld", "template.links"),
    ("nsd-connection-point-ref", "connection_points"),
    ("subnet-ref", "subnet_ref"),
)


@dataclass(frozen=True)
class SubnetPlan:
    """Everything a subnet's service is made from."""

    subnet: SliceSubnet
    """The template's subnet."""
    nsd: NetworkServiceDescriptor
    """Its NSD (sent, or onboarded)."""


def _api_path(path: str) -> str:
    for nst, api in _NST_PATHS:
        path = path.replace(nst, api)
    return path


def _find_nsd(
    ref: DescriptorRef, sent: Sequence[NetworkServiceDescriptor], known: NsdFinder
) -> NetworkServiceDescriptor | None:
    return next((n for n in sent if n.ref == ref), None) or known(ref)


def _external_points(nsd: NetworkServiceDescriptor) -> set[str]:
    return {
        cp.id
        for cp in nsd.connection_points
        if cp.type is not ConnectionPointType.MANAGEMENT
        and cp.type is not ConnectionPointType.INTERNAL
    }


def _link_problems(
    request: CreateSliceRequest, plans: dict[str, SubnetPlan]
) -> list[FieldViolation]:
    """Each slice link joins exactly two external points of two known subnets, and each
    point is on one link at most."""
    problems = []
    joined: dict[tuple[str, str], str] = {}
    for i, link in enumerate(request.template.links):
        path = f"template.links[{i}]"
        points = link.connection_points
        if len(points) != 2:
            problems.append(
                FieldViolation(
                    f"{path}.connection_points",
                    f"a slice link joins exactly two points; it names {len(points)}",
                )
            )
        elif points[0].subnet_ref == points[1].subnet_ref:
            problems.append(
                FieldViolation(f"{path}.connection_points", "the two points are in one subnet")
            )
        for j, point in enumerate(points):
            plan = plans.get(point.subnet_ref)
            if plan is None:
                continue  # an unknown subnet is check_nst's; an unknown NSD is reported above
            if point.nsd_cp_ref not in _external_points(plan.nsd):
                problems.append(
                    FieldViolation(
                        f"{path}.connection_points[{j}].nsd_cp_ref",
                        f"'{point.nsd_cp_ref}' is not an external point of {plan.nsd.ref}"
                        f" (points: {', '.join(sorted(_external_points(plan.nsd))) or 'none'})",
                    )
                )
            key = (point.subnet_ref, point.nsd_cp_ref)
            if key in joined:
                problems.append(
                    FieldViolation(
                        f"{path}.connection_points[{j}]",
                        f"point {point.subnet_ref}:{point.nsd_cp_ref} is on link {joined[key]}"
                        " already",
                    )
                )
            joined[key] = link.id
    return problems


def check_slice_request(request: CreateSliceRequest, known: NsdFinder) -> list[SubnetPlan]:
    """The subnets of a valid request, with their NSDs.

    Raises:
        InvalidArgument: with one field violation per problem.
    """
    template = request.template
    problems = [FieldViolation(_api_path(v.field), v.description) for v in check_nst(template)]
    if not template.subnets:
        problems.append(FieldViolation("template.subnets", "a slice needs at least one subnet"))
    for field, value in (
        ("template.ref.vendor", template.ref.vendor),
        ("template.ref.name", template.ref.name),
        ("template.ref.version", template.ref.version),
    ):
        if not value:
            problems.append(FieldViolation(field, "required"))
    plans: dict[str, SubnetPlan] = {}
    for i, subnet in enumerate(template.subnets):
        nsd = _find_nsd(subnet.nsd, request.nsds, known)
        if nsd is None:
            problems.append(
                FieldViolation(
                    f"template.subnets[{i}].nsd",
                    f"NSD {subnet.nsd} is neither sent in nsds nor onboarded at this node",
                )
            )
        elif subnet.id not in plans:
            plans[subnet.id] = SubnetPlan(subnet, nsd)
    problems += _link_problems(request, plans)
    subnet_ids = {s.id for s in template.subnets}
    for name in sorted(request.placement):
        if name not in subnet_ids:
            problems.append(FieldViolation(f"placement[{name}]", f"no subnet '{name}'"))
    if problems:
        raise InvalidArgument(
            "the slice template cannot be instantiated", field_violations=problems
        )
    return list(plans.values())


def link_points(points: Sequence[SliceLinkPoint], subnet: str) -> tuple[SliceLinkPoint, ...]:
    """The two points of a slice link, each with its address in the link's /31 (/127)."""
    network = ipaddress.ip_network(subnet)
    addresses = (network.network_address, network.broadcast_address)
    return tuple(
        SliceLinkPoint(p.subnet_ref, p.nsd_cp_ref, str(address))
        for p, address in zip(points, addresses, strict=True)
    )


def subnet_request_id(slice_id: str, subnet_id: str) -> str:
    """The request id of a subnet's service: deterministic, so a repeated run finds it."""
    return f"slice:{slice_id}/{subnet_id}"


def _naps(points: Sequence[SliceAccessPoint]) -> tuple[Nap, ...]:
    return tuple(Nap(location=p.location, nap=p.nap) for p in points)


def subnet_request(
    slice_id: str,
    request: CreateSliceRequest,
    plan: SubnetPlan,
    links: Sequence[SliceLinkRecord],
) -> InstantiateRequest:
    """The request of one subnet's service; ``links`` are the slice's links with their
    addresses (``link_points``) and VNIs."""
    subnet = plan.subnet
    constraints = []
    for link in links:
        network = ipaddress.ip_network(link.subnet)
        for point in link.points:
            if point.subnet_ref != subnet.id:
                continue
            constraints.append(
                AddressConstraint(
                    connection_point=point.nsd_cp_ref,
                    prefix=f"{point.ip_address}/{network.max_prefixlen}",
                    subnet=str(network),
                    vni=IdRange(link.vni, link.vni),
                )
            )
    names = {(f.descriptor.vendor, f.descriptor.name) for f in plan.nsd.network_functions}
    vnfds = tuple(v for v in request.vnfds if (v.ref.vendor, v.ref.name) in names)
    label = request.name or request.template.ref.name
    return InstantiateRequest(
        request_id=subnet_request_id(slice_id, subnet.id),
        name=f"{label}/{subnet.id}",
        descriptors=ServiceDescriptors(nsd=plan.nsd, vnfds=vnfds),
        placement=request.placement.get(subnet.id, PlacementConstraints()),
        addressing=AddressConstraints(
            constraints=tuple(constraints),
            ingresses=_naps(subnet.ingresses),
            egresses=_naps(subnet.egresses),
        ),
    )
