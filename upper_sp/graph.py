"""The service graph: an NSD resolved and flattened for placement.

A nested service whose NSD this node knows (sent with the request or
onboarded) is expanded in place: its members become ``ns_id/member`` and its
links are merged with the parent links that attach to it, so every function
can be placed on its own. A nested service known only from a lower SP's
offer stays one member, to be delegated as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from spfed.errors import FieldViolation, InvalidArgument
from spfed.model import (
    ConnectionPoint,
    ConnectivityType,
    DescriptorRef,
    ForwardingGraph,
    ForwardingPath,
    ForwardingPathHop,
    NetworkServiceDescriptor,
    Offer,
    QosRequirements,
    Resources,
    VnfDescriptor,
    split_ref,
)

__all__ = [
    "DescriptorLookup",
    "GraphLink",
    "Member",
    "MemberKind",
    "ServiceGraph",
    "build_graph",
]


class MemberKind(StrEnum):
    """A function, or a nested service delegated as a whole."""

    FUNCTION = "function"
    SERVICE = "service"


class DescriptorLookup(Protocol):
    """What a node can resolve descriptor references against."""

    def vnfd(self, ref: DescriptorRef) -> VnfDescriptor | None:
        """A VNFD sent with the request or onboarded here."""
        ...

    def nsd(self, ref: DescriptorRef) -> NetworkServiceDescriptor | None:
        """A nested NSD sent with the request or onboarded here."""
        ...

    def function_offer(self, ref: DescriptorRef) -> Offer | None:
        """A lower SP's offer of a function type."""
        ...

    def service_offer(self, ref: DescriptorRef) -> Offer | None:
        """A lower SP's offer of a network service."""
        ...


@dataclass(frozen=True)
class Member:
    """A placeable member of the flattened service."""

    id: str
    """Member id; nested members read ``ns_id/vnf_id``."""
    kind: MemberKind
    """Function or delegated service."""
    descriptor: DescriptorRef
    """Its descriptor."""
    points: tuple[str, ...]
    """External connection point ids."""
    resources: Resources
    """What one instance needs."""
    rule_keys: tuple[str, ...]
    """Placement rule keys to try, most specific first."""
    vnfd: VnfDescriptor | None = None
    """The VNFD, when known here (needed to deploy locally)."""
    written: DescriptorRef | None = None
    """The reference as the NSD wrote it (its version may be a range); None: ``descriptor``."""

    @property
    def reference(self) -> DescriptorRef:
        """What the NSD asked for: offers of any version it names will do."""
        return self.written or self.descriptor


@dataclass(frozen=True)
class GraphLink:
    """A link of the flattened service."""

    id: str
    """Link id; links of expanded nested services read ``ns_id/link``."""
    connectivity_type: ConnectivityType
    """E-Line, E-Tree or E-LAN."""
    refs: tuple[str, ...]
    """``member:cp`` references, or bare ids of the service's own points."""
    qos: QosRequirements = field(default_factory=QosRequirements)
    """QoS requirements."""
    cidr: str = ""
    """Subnet the descriptor asks for ("" for none)."""
    dhcp: bool = False
    """Whether the descriptor asks for DHCP."""


@dataclass(frozen=True)
class ServiceGraph:
    """An NSD resolved against what this node knows, nested services flattened."""

    nsd: NetworkServiceDescriptor
    """The root NSD."""
    members: tuple[Member, ...]
    """Placeable members."""
    links: tuple[GraphLink, ...]
    """Links."""
    own_points: tuple[ConnectionPoint, ...]
    """The service's own external points."""
    forwarding_graphs: tuple[ForwardingGraph, ...] = ()
    """Forwarding graphs, with flattened references."""

    def member(self, member_id: str) -> Member:
        """A member by id.

        Raises:
            KeyError: no member has that id.
        """
        for m in self.members:
            if m.id == member_id:
                return m
        raise KeyError(member_id)

    def member_ids(self) -> set[str]:
        """Every member id."""
        return {m.id for m in self.members}


def _prefixed(prefix: str, ref: str) -> str:
    return f"{prefix}/{ref}" if prefix else ref


def _flatten(
    nsd: NetworkServiceDescriptor,
    lookup: DescriptorLookup,
    prefix: str,
    rule_keys: tuple[str, ...],
    path: str,
    trail: tuple[DescriptorRef, ...],
) -> tuple[list[Member], list[GraphLink], list[ForwardingGraph]]:
    members: list[Member] = []
    problems: list[FieldViolation] = []
    expanded: dict[str, NetworkServiceDescriptor] = {}
    child_links: dict[str, list[GraphLink]] = {}
    fgs: list[ForwardingGraph] = []
    for i, fn in enumerate(nsd.network_functions):
        mid = _prefixed(prefix, fn.vnf_id)
        keys = (mid, *rule_keys)
        vnfd = lookup.vnfd(fn.descriptor)
        if vnfd is not None:
            points = tuple(cp.id for cp in vnfd.connection_points)
            members.append(
                Member(
                    mid,
                    MemberKind.FUNCTION,
                    vnfd.ref,
                    points,
                    vnfd.resources(),
                    keys,
                    vnfd,
                    written=fn.descriptor,
                )
            )
            continue
        offer = lookup.function_offer(fn.descriptor)
        if offer is None:
            problems.append(
                FieldViolation(
                    f"{path}network_functions[{i}]",
                    f"no VNFD {fn.descriptor} in the request, among the node's onboarded "
                    "descriptors, or offered by any lower SP",
                )
            )
            continue
        points = tuple(cp.id for cp in offer.connection_points)
        members.append(
            Member(
                mid,
                MemberKind.FUNCTION,
                offer.descriptor,
                points,
                offer.resources,
                keys,
                written=fn.descriptor,
            )
        )
    for i, ns in enumerate(nsd.network_services):
        mid = _prefixed(prefix, ns.ns_id)
        keys = (mid, *rule_keys)
        nested = lookup.nsd(ns.descriptor)
        if nested is not None and nested.ref in trail:
            problems.append(
                FieldViolation(f"{path}network_services[{i}]", f"{ns.descriptor} nests itself")
            )
            continue
        if nested is not None:
            try:
                sub_members, sub_links, sub_fgs = _flatten(
                    nested, lookup, mid, keys, f"{path}network_services[{i}].", (*trail, nested.ref)
                )
            except InvalidArgument as exc:
                problems += exc.field_violations
                continue
            expanded[mid] = nested
            members += sub_members
            child_links[mid] = sub_links
            fgs += sub_fgs
            continue
        offer = lookup.service_offer(ns.descriptor)
        if offer is None:
            problems.append(
                FieldViolation(
                    f"{path}network_services[{i}]",
                    f"nested service {ns.descriptor} is neither known here "
                    "nor offered by any lower SP",
                )
            )
            continue
        points = tuple(cp.id for cp in offer.connection_points)
        members.append(
            Member(
                mid,
                MemberKind.SERVICE,
                offer.descriptor,
                points,
                offer.resources,
                keys,
                written=ns.descriptor,
            )
        )
    if problems:
        raise InvalidArgument("the service's descriptors do not resolve", field_violations=problems)
    links = _merge_links(nsd, prefix, expanded, child_links)
    fgs = [_flatten_fg(fg, prefix, expanded) for fg in nsd.forwarding_graphs] + fgs
    return members, links, fgs


def _child_point(ref: str, mid: str, nested: NetworkServiceDescriptor) -> bool:
    # Inside an expanded child, the child's own points are carried as bare
    # "mid/cp" references; they vanish when the child is merged.
    return ":" not in ref and any(ref == f"{mid}/{cp.id}" for cp in nested.connection_points)


def _merge_links(
    nsd: NetworkServiceDescriptor,
    prefix: str,
    expanded: Mapping[str, NetworkServiceDescriptor],
    child_links: Mapping[str, list[GraphLink]],
) -> list[GraphLink]:
    merged: set[tuple[str, int]] = set()
    links: list[GraphLink] = []
    for vl in nsd.virtual_links:
        refs: list[str] = []
        for ref in vl.connection_points_reference:
            member, cp = split_ref(ref)
            if member is None:
                refs.append(_prefixed(prefix, cp))
                continue
            mid = _prefixed(prefix, member)
            if mid not in expanded:
                refs.append(f"{mid}:{cp}")
                continue
            token = f"{mid}/{cp}"
            for idx, child in enumerate(child_links[mid]):
                if token in child.refs and (mid, idx) not in merged:
                    merged.add((mid, idx))
                    refs += [r for r in child.refs if not _child_point(r, mid, expanded[mid])]
        links.append(
            GraphLink(
                _prefixed(prefix, vl.id),
                vl.connectivity_type,
                tuple(dict.fromkeys(refs)),
                vl.qos,
                vl.cidr,
                vl.dhcp,
            )
        )
    for mid, children in child_links.items():
        for idx, child in enumerate(children):
            if (mid, idx) in merged:
                continue
            kept = tuple(r for r in child.refs if not _child_point(r, mid, expanded[mid]))
            if kept:
                links.append(
                    GraphLink(
                        child.id, child.connectivity_type, kept, child.qos, child.cidr, child.dhcp
                    )
                )
    return links


def _flatten_fg(
    fg: ForwardingGraph, prefix: str, expanded: Mapping[str, NetworkServiceDescriptor]
) -> ForwardingGraph:
    def ref(r: str) -> str:
        member, cp = split_ref(r)
        return f"{_prefixed(prefix, member)}:{cp}" if member is not None else _prefixed(prefix, cp)

    def kept(r: str) -> bool:
        # Hops on an expanded child's points are dropped; the child's own
        # forwarding graphs (flattened alongside) describe its inside.
        member, _ = split_ref(r)
        return member is None or _prefixed(prefix, member) not in expanded

    return ForwardingGraph(
        fg_id=_prefixed(prefix, fg.fg_id),
        constituent_virtual_links=tuple(_prefixed(prefix, v) for v in fg.constituent_virtual_links),
        constituent_vnfs=tuple(_prefixed(prefix, v) for v in fg.constituent_vnfs),
        constituent_services=tuple(
            _prefixed(prefix, s)
            for s in fg.constituent_services
            if _prefixed(prefix, s) not in expanded
        ),
        network_forwarding_paths=tuple(
            ForwardingPath(
                fp_id=p.fp_id,
                policy=p.policy,
                connection_points=tuple(
                    ForwardingPathHop(ref(h.connection_point_ref), h.position)
                    for h in p.connection_points
                    if kept(h.connection_point_ref)
                ),
            )
            for p in fg.network_forwarding_paths
        ),
    )


def build_graph(
    nsd: NetworkServiceDescriptor, lookup: DescriptorLookup, *, path: str = ""
) -> ServiceGraph:
    """Resolve and flatten ``nsd``.

    Raises:
        InvalidArgument: a function or nested service resolves nowhere, or a
            nested service nests itself; field paths start with ``path``.
    """
    members, links, fgs = _flatten(nsd, lookup, "", (), path, (nsd.ref,))
    return ServiceGraph(
        nsd=nsd,
        members=tuple(members),
        links=tuple(links),
        own_points=nsd.connection_points,
        forwarding_graphs=tuple(fgs),
    )


def members_of(graph: ServiceGraph, ids: Sequence[str]) -> list[Member]:
    """Members by id, in graph order."""
    wanted = set(ids)
    return [m for m in graph.members if m.id in wanted]
