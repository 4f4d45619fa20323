"""Schema-valid NSD and VNFD documents to the domain model.

The input has passed spfed's schema, so required fields are present and typed;
what can still be wrong here is naming (see ``_names``) and the legacy nested
service strings, reported as field violations next to the mapped descriptor.
Lists keep their document order, so an index in the model is the index in the
document (units keep it within their own list: VDUs, then CDUs, then PDUs).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from spfed.descriptors._names import (
    NS_PREFIX,
    VNF_PREFIX,
    own_point_id,
    reference,
    unit_point_id,
)
from spfed.descriptors._quantities import to_gib, to_mbps, to_mib
from spfed.descriptors._versions import normalise_constraint
from spfed.errors import FieldViolation
from spfed.model import (
    ConnectionPoint,
    ConnectionPointType,
    ConnectivityType,
    DeploymentUnit,
    DescriptorRef,
    Dialect,
    ForwardingGraph,
    ForwardingPath,
    ForwardingPathHop,
    InterfaceType,
    NestedServiceRef,
    NetworkFunctionRef,
    NetworkServiceDescriptor,
    QosRequirements,
    Resources,
    UnitKind,
    VirtualLink,
    VnfDescriptor,
)

Doc = Mapping[str, Any]

UNIT_FIELDS: dict[UnitKind, str] = {
    UnitKind.VIRTUAL_MACHINE: "virtual_deployment_units",
    UnitKind.CONTAINER: "cloudnative_deployment_units",
    UnitKind.PHYSICAL: "physical_deployment_units",
}
"""The document field listing each kind of unit, in mapping order."""

_LEGACY_SERVICE = re.compile(
    r"^(?P<vendor>[a-z0-9\-_.]+):(?P<name>[a-z0-9\-_.]+):(?P<version>(?:[=<>!]= )?[0-9\-_.]+)$"
)


def _items(data: Doc, key: str) -> Sequence[Doc]:
    items: Sequence[Doc] = data.get(key) or ()
    return items


def _interface(value: Any) -> InterfaceType:
    known = {member.value: member for member in InterfaceType}
    return known.get(value, InterfaceType.UNSPECIFIED)


def _point_type(value: Any) -> ConnectionPointType:
    known = {member.value: member for member in ConnectionPointType}
    return known.get(value, ConnectionPointType.UNSPECIFIED)


def _point(data: Doc, point_id: str) -> ConnectionPoint:
    return ConnectionPoint(
        id=point_id,
        interface=_interface(data.get("interface")),
        type=_point_type(data.get("type")),
        mac=str(data.get("mac", "")),
        ip=str(data.get("ip", "")),
        port=int(data.get("port", 0)),
    )


def _own_points(
    data: Doc, own_prefix: str, out: list[FieldViolation]
) -> tuple[ConnectionPoint, ...]:
    points = []
    for index, item in enumerate(_items(data, "connection_points")):
        point_id, problem = own_point_id(item["id"], own_prefix)
        if problem:
            out.append(FieldViolation(f"connection_points[{index}].id", problem))
        points.append(_point(item, point_id))
    return tuple(points)


def _qos(data: Doc) -> QosRequirements:
    explicit: Doc = data.get("qos_requirements") or {}

    def mbps(key: str) -> float:
        given: Doc | None = explicit.get(key)
        return to_mbps(given["bandwidth"], given.get("bandwidth_unit")) if given else 0.0

    return QosRequirements(
        policy=data.get("qos", ""),
        bandwidth_limit_mbps=mbps("bandwidth_limit"),
        minimum_bandwidth_mbps=mbps("minimum_bandwidth"),
    )


def _links(data: Doc, own_prefix: str, members: Collection[str]) -> tuple[VirtualLink, ...]:
    return tuple(
        VirtualLink(
            id=link["id"],
            connectivity_type=ConnectivityType(link["connectivity_type"]),
            connection_points_reference=tuple(
                reference(ref, own_prefix, members) for ref in link["connection_points_reference"]
            ),
            dhcp=bool(link.get("dhcp", False)),
            cidr=str(link.get("cidr", "")),
            qos=_qos(link),
        )
        for link in _items(data, "virtual_links")
    )


def _ref(data: Doc) -> DescriptorRef:
    return DescriptorRef(str(data["vendor"]), str(data["name"]), str(data["version"]))


def _resources(data: Doc) -> Resources:
    memory: Doc | None = data.get("memory")
    storage: Doc | None = data.get("storage")
    return Resources(
        vcpus=int((data.get("cpu") or {}).get("vcpus", 0)),
        memory_mib=to_mib(memory["size"], memory.get("size_unit")) if memory else 0,
        disk_gib=to_gib(storage["size"], storage.get("size_unit")) if storage else 0,
    )


def _unit(kind: UnitKind, data: Doc, path: str, out: list[FieldViolation]) -> DeploymentUnit:
    points = []
    for index, item in enumerate(_items(data, "connection_points")):
        point_id, problem = unit_point_id(item["id"], data["id"])
        if problem:
            out.append(FieldViolation(f"{path}.connection_points[{index}].id", problem))
        points.append(_point(item, point_id))
    physical = kind is UnitKind.PHYSICAL
    return DeploymentUnit(
        id=data["id"],
        kind=kind,
        vm_image=str(data.get("image" if kind is UnitKind.CONTAINER else "vm_image", "")),
        vm_image_format=str(data.get("vm_image_format", "")),
        vm_image_md5=str(data.get("vm_image_md5", "")),
        vm_flavor=str(data.get("vm_flavor", "")),
        resource_requirements=(
            Resources() if physical else _resources(data.get("resource_requirements") or {})
        ),
        connection_points=tuple(points),
    )


def map_vnfd(data: Doc, dialect: Dialect) -> tuple[VnfDescriptor, list[FieldViolation]]:
    """The VNFD of a schema-valid document, and its naming violations."""
    out: list[FieldViolation] = []
    units = [
        _unit(kind, item, f"{key}[{index}]", out)
        for kind, key in UNIT_FIELDS.items()
        for index, item in enumerate(_items(data, key))
    ]
    unit_ids = {unit.id for unit in units}
    vnfd = VnfDescriptor(
        ref=_ref(data),
        dialect=dialect,
        author=str(data.get("author", "")),
        description=str(data.get("description", "")).strip(),
        deployment_units=tuple(units),
        connection_points=_own_points(data, VNF_PREFIX, out),
        virtual_links=_links(data, VNF_PREFIX, unit_ids),
    )
    return vnfd, out


def _functions(data: Doc) -> tuple[NetworkFunctionRef, ...]:
    return tuple(
        NetworkFunctionRef(
            vnf_id=item["vnf_id"],
            descriptor=DescriptorRef(
                item["vnf_vendor"], item["vnf_name"], normalise_constraint(item["vnf_version"])
            ),
        )
        for item in _items(data, "network_functions")
    )


def _nested(data: Doc, out: list[FieldViolation]) -> tuple[NestedServiceRef, ...]:
    nested = []
    for index, item in enumerate(data.get("network_services") or ()):
        if isinstance(item, str):  # original SONATA: "vendor:name:version"
            match = _LEGACY_SERVICE.match(item)
            if match is None:
                out.append(
                    FieldViolation(
                        f"network_services[{index}]",
                        f"'{item}' is not 'vendor:name:version'"
                        " (e.g. 'eu.sonata-nfv:sonata-demo:0.2.1')",
                    )
                )
                # A best guess keeps later indices (and paths) aligned with the document.
                parts = [*item.split(":", 2), "", ""] if ":" in item else ["", item, ""]
                nested.append(NestedServiceRef(parts[1], DescriptorRef(*parts[:3])))
                continue
            vendor, name, version = match.group("vendor", "name", "version")
            ref = DescriptorRef(vendor, name, normalise_constraint(version))
            nested.append(NestedServiceRef(ns_id=name, descriptor=ref))
        else:
            version = normalise_constraint(item["ns_version"])
            ref = DescriptorRef(item["ns_vendor"], item["ns_name"], version)
            nested.append(NestedServiceRef(ns_id=item["ns_id"], descriptor=ref))
    return tuple(nested)


def _graphs(data: Doc, members: Collection[str]) -> tuple[ForwardingGraph, ...]:
    def hops(path: Doc) -> tuple[ForwardingPathHop, ...]:
        return tuple(
            ForwardingPathHop(
                connection_point_ref=reference(hop["connection_point_ref"], NS_PREFIX, members),
                position=int(hop["position"]),
            )
            for hop in _items(path, "connection_points")
        )

    return tuple(
        ForwardingGraph(
            fg_id=graph["fg_id"],
            constituent_virtual_links=tuple(graph.get("constituent_virtual_links") or ()),
            constituent_vnfs=tuple(graph.get("constituent_vnfs") or ()),
            constituent_services=tuple(graph.get("constituent_services") or ()),
            network_forwarding_paths=tuple(
                ForwardingPath(
                    fp_id=path["fp_id"], policy=path.get("policy", ""), connection_points=hops(path)
                )
                for path in _items(graph, "network_forwarding_paths")
            ),
        )
        for graph in _items(data, "forwarding_graphs")
    )


def map_nsd(data: Doc, dialect: Dialect) -> tuple[NetworkServiceDescriptor, list[FieldViolation]]:
    """The NSD of a schema-valid document, and its naming and legacy-reference violations."""
    out: list[FieldViolation] = []
    functions = _functions(data)
    nested = _nested(data, out)
    members = {f.vnf_id for f in functions} | {s.ns_id for s in nested}
    nsd = NetworkServiceDescriptor(
        ref=_ref(data),
        dialect=dialect,
        author=str(data.get("author", "")),
        description=str(data.get("description", "")).strip(),
        network_functions=functions,
        network_services=nested,
        connection_points=_own_points(data, NS_PREFIX, out),
        virtual_links=_links(data, NS_PREFIX, members),
        forwarding_graphs=_graphs(data, members),
    )
    return nsd, out
