"""Small descriptors, catalogues and lookups for the upper SP tests.

Lookups are the project's own ``RequestLookup`` over ``DescriptorSet``s and catalogues, so
the tests exercise the same resolution (version constraints included) as a running node.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from addressing import (
    OWN,
    AddressPlan,
    Endpoint,
    LinkDemand,
    PlanSettings,
    ServiceSpace,
    plan_addresses,
)
from spfed.descriptors import DescriptorSet
from spfed.lifecycle.lookup import RequestLookup
from spfed.model import (
    Catalogue,
    ConnectionPoint,
    ConnectionPointType,
    ConnectivityType,
    DeploymentUnit,
    DescriptorRef,
    ForwardingGraph,
    ForwardingPath,
    ForwardingPathHop,
    IdRange,
    InterfaceType,
    NestedServiceRef,
    NetworkFunctionRef,
    NetworkServiceDescriptor,
    Offer,
    OfferKind,
    RegionCapacity,
    Resources,
    VirtualLink,
    VnfDescriptor,
    split_ref,
)
from upper_sp.graph import ServiceGraph
from upper_sp.placement import Placement

VENDOR = "eu.test"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ref(name: str, version: str = "1.0") -> DescriptorRef:
    return DescriptorRef(VENDOR, name, version)


def cps(*names: str) -> tuple[ConnectionPoint, ...]:
    return tuple(
        ConnectionPoint(n, InterfaceType.IPV4, ConnectionPointType.EXTERNAL) for n in names
    )


def vnfd(
    name: str,
    version: str = "1.0",
    *,
    points: Sequence[str] = ("in", "out"),
    vcpus: int = 1,
    memory_mib: int = 512,
) -> VnfDescriptor:
    """One VM unit whose ``eth<i>`` sits on the function's point ``points[i]``."""
    return VnfDescriptor(
        ref=ref(name, version),
        deployment_units=(
            DeploymentUnit(
                "vdu",
                resource_requirements=Resources(vcpus, memory_mib, 1),
                connection_points=tuple(
                    ConnectionPoint(f"eth{i}", InterfaceType.IPV4) for i in range(len(points))
                ),
            ),
        ),
        connection_points=cps(*points),
        virtual_links=tuple(
            VirtualLink(f"vl-{p}", ConnectivityType.E_LINE, (p, f"vdu:eth{i}"))
            for i, p in enumerate(points)
        ),
    )


def link(link_id: str, *refs: str, kind: ConnectivityType = ConnectivityType.E_LINE) -> VirtualLink:
    return VirtualLink(link_id, kind, tuple(refs))


def path(fp_id: str, *hops: str) -> ForwardingPath:
    return ForwardingPath(
        fp_id, connection_points=tuple(ForwardingPathHop(h, i + 1) for i, h in enumerate(hops))
    )


def nsd(
    name: str,
    version: str = "1.0",
    *,
    functions: Mapping[str, DescriptorRef] | None = None,
    services: Mapping[str, DescriptorRef] | None = None,
    points: Sequence[str] = (),
    links: Sequence[VirtualLink] = (),
    fgs: Sequence[ForwardingGraph] = (),
) -> NetworkServiceDescriptor:
    return NetworkServiceDescriptor(
        ref=ref(name, version),
        network_functions=tuple(NetworkFunctionRef(k, v) for k, v in (functions or {}).items()),
        network_services=tuple(NestedServiceRef(k, v) for k, v in (services or {}).items()),
        connection_points=cps(*points),
        virtual_links=tuple(links),
        forwarding_graphs=tuple(fgs),
    )


def offer(
    kind: OfferKind,
    name: str,
    version: str = "1.0",
    *,
    regions: Sequence[str] = ("eu",),
    points: Sequence[str] = ("in", "out"),
    vcpus: int = 1,
) -> Offer:
    return Offer(kind, ref(name, version), cps(*points), tuple(regions), Resources(vcpus, 512, 1))


def catalogue(
    publisher: str,
    offers: Iterable[Offer] = (),
    free: Mapping[str, Resources] | None = None,
    version: int = 1,
) -> Catalogue:
    """A lower SP's catalogue; ``free`` is the free (and total) capacity per region."""
    return Catalogue(
        publisher=publisher,
        version=version,
        issue_time=T0,
        offers=tuple(offers),
        regions=tuple(RegionCapacity(r, f, f) for r, f in (free or {}).items()),
    )


def lookup(
    vnfds: Iterable[VnfDescriptor] = (),
    nsds: Iterable[NetworkServiceDescriptor] = (),
    catalogues: Iterable[Catalogue] = (),
    onboarded: Iterable[VnfDescriptor | NetworkServiceDescriptor] = (),
) -> RequestLookup:
    return RequestLookup(
        DescriptorSet((*vnfds, *nsds)), DescriptorSet(tuple(onboarded)), tuple(catalogues)
    )


def plan_for(graph: ServiceGraph, placement: Placement, block: str = "10.1.0.0/16") -> AddressPlan:
    """The plan the node would make: own points OWN, members in their placed parts."""
    demands = []
    for lk in graph.links:
        endpoints = []
        for r in lk.refs:
            member, _cp = split_ref(r)
            part = OWN if member is None else str(placement.parts[member])
            endpoints.append(Endpoint(part, r))
        demands.append(LinkDemand(lk.id, tuple(endpoints)))
    delegated = [str(p) for p in placement.delegated_parts()]
    return plan_addresses(space(block), demands, delegated, PlanSettings())


def space(block: str = "10.1.0.0/16") -> ServiceSpace:
    """A top-level service's space: a block, 4096 VNIs, a /32 MAC block, MTU 1500."""
    return ServiceSpace(block, IdRange(5000, 9095), "02:5f:00:01:00:00/32", "", 1500)
