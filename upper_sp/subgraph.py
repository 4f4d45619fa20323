"""Sub-services: what one lower SP receives for its part of a service.

Everything placed at the same lower SP travels as **one** sub-service: an NSD
holding those members and the links among them. A link that crosses the part
boundary becomes an external connection point of the sub-service, named after
the link, and carries an address constraint: the slice of the link's subnet
that the upper SP reserved for this part, the link's gateway, VNI and MTU, the
part's MAC block and port-id prefix. The sub-service also gets the part's
space: its block, a share of the VNIs, the MAC block, the port-id prefix and
the MTU. The lower SP plans inside them, and may delegate again: recursion.
"""

from __future__ import annotations

from dataclasses import dataclass

from addressing import AddressPlan
from spfed.model import (
    AddressConstraints,
    ConnectionPoint,
    ConnectionPointType,
    DelegatedPart,
    DescriptorRef,
    ForwardingGraph,
    ForwardingPath,
    ForwardingPathHop,
    InstantiateRequest,
    InterfaceType,
    NestedServiceRef,
    NetworkFunctionRef,
    NetworkServiceDescriptor,
    PlacementConstraints,
    PlacementRule,
    ServiceDescriptors,
    VirtualLink,
    split_ref,
)
from upper_sp.graph import GraphLink, MemberKind, ServiceGraph
from upper_sp.placement import Placement

__all__ = ["SubService", "build_subservice"]


@dataclass(frozen=True)
class SubService:
    """The request for one delegated part, and how its boundary maps back."""

    part: DelegatedPart
    """The delegated part (its lower SP is ``part.lower``)."""
    request: InstantiateRequest
    """What the lower SP receives."""
    boundary: dict[str, str]
    """Parent link id by boundary connection point of the sub-service."""

    @property
    def lower(self) -> str:
        """The lower SP."""
        return self.part.lower


def _interface(plan: AddressPlan, link: str) -> InterfaceType:
    planned = plan.links.get(link)
    subnet = planned.subnet if planned is not None else plan.block
    return InterfaceType.IPV6 if ":" in subnet else InterfaceType.IPV4


def _owner(ref: str) -> str | None:
    member, _ = split_ref(ref)
    return member


def _link_split(link: GraphLink, members: set[str]) -> tuple[list[str], bool]:
    inside = [r for r in link.refs if _owner(r) in members]
    return inside, 0 < len(inside) < len(link.refs)


def _project_path(
    path: ForwardingPath, graph: ServiceGraph, members: set[str], boundary: set[str]
) -> ForwardingPath:
    link_of: dict[str, str] = {}
    for graph_link in graph.links:
        for ref in graph_link.refs:
            link_of.setdefault(ref, graph_link.id)
    hops: list[str] = []
    for hop in sorted(path.connection_points, key=lambda h: h.position):
        ref = hop.connection_point_ref
        if _owner(ref) in members:
            token = ref
        else:
            link_id = link_of.get(ref, "")
            if link_id not in boundary:
                continue
            token = link_id
        if not hops or hops[-1] != token:
            hops.append(token)
    return ForwardingPath(
        fp_id=path.fp_id,
        policy=path.policy,
        connection_points=tuple(ForwardingPathHop(r, i + 1) for i, r in enumerate(hops)),
    )


def build_subservice(
    graph: ServiceGraph,
    placement: Placement,
    plan: AddressPlan,
    constraints: PlacementConstraints,
    part: DelegatedPart,
    request_id: str,
    name: str,
) -> SubService:
    """The sub-service request for one delegated part (to lower SP ``part.lower``)."""
    lower = part.lower
    member_ids = placement.members_of(part)
    members = set(member_ids)
    chosen = [graph.member(m) for m in member_ids]
    links: list[VirtualLink] = []
    points: list[ConnectionPoint] = []
    boundary: dict[str, str] = {}
    for link in graph.links:
        inside, crossing = _link_split(link, members)
        if not inside:
            continue
        refs = list(inside)
        if crossing:
            points.append(
                ConnectionPoint(
                    id=link.id,
                    interface=_interface(plan, link.id),
                    type=ConnectionPointType.EXTERNAL,
                )
            )
            boundary[link.id] = link.id
            refs.append(link.id)
        links.append(
            VirtualLink(
                link.id,
                link.connectivity_type,
                tuple(refs),
                dhcp=link.dhcp,
                cidr=link.cidr,
                qos=link.qos,
            )
        )
    fgs = []
    for fg in graph.forwarding_graphs:
        fg_links = [v for v in fg.constituent_virtual_links if any(lk.id == v for lk in links)]
        paths = tuple(
            _project_path(p, graph, members, set(boundary)) for p in fg.network_forwarding_paths
        )
        paths = tuple(p for p in paths if p.connection_points)
        if paths or fg_links:
            fgs.append(
                ForwardingGraph(
                    fg_id=fg.fg_id,
                    constituent_virtual_links=tuple(fg_links),
                    constituent_vnfs=tuple(v for v in fg.constituent_vnfs if v in members),
                    constituent_services=tuple(s for s in fg.constituent_services if s in members),
                    network_forwarding_paths=paths,
                )
            )
    parent = graph.nsd.ref
    nsd = NetworkServiceDescriptor(
        ref=DescriptorRef(parent.vendor, f"{parent.name}.{lower}", parent.version),
        dialect=graph.nsd.dialect,
        author=graph.nsd.author,
        description=f"Part of {parent} delegated to {lower}",
        network_functions=tuple(
            NetworkFunctionRef(m.id, m.descriptor) for m in chosen if m.kind is MemberKind.FUNCTION
        ),
        network_services=tuple(
            NestedServiceRef(m.id, m.descriptor) for m in chosen if m.kind is MemberKind.SERVICE
        ),
        connection_points=tuple(points),
        virtual_links=tuple(links),
        forwarding_graphs=tuple(fgs),
    )
    vnfds = {m.vnfd.ref: m.vnfd for m in chosen if m.vnfd is not None}
    rules = {}
    for m in chosen:
        rule = next((constraints.rules[k] for k in m.rule_keys if k in constraints.rules), None)
        if rule is not None and rule.region:
            rules[m.id] = PlacementRule(region=rule.region)
    # The address plan names parts by their text form (it also names the service's
    # own points, which are no part): look this one up by it.
    key = str(part)
    slices = plan.boundary(key)
    given = tuple(plan.constraint(key, cp, cp) for cp in boundary if cp in slices)
    space = plan.part_spaces.get(key)
    return SubService(
        part=part,
        request=InstantiateRequest(
            request_id=request_id,
            name=name,
            descriptors=ServiceDescriptors(nsd=nsd, vnfds=tuple(vnfds.values())),
            placement=PlacementConstraints(rules=rules, default_region=constraints.default_region),
            addressing=AddressConstraints(
                address_space=plan.part_blocks[key],
                constraints=given,
                vni_space=space.vnis if space else None,
                mac_prefix=space.macs if space else "",
                port_id_prefix=space.port_id_prefix if space else "",
                mtu=space.mtu if space else 0,
            ),
        ),
        boundary=boundary,
    )
