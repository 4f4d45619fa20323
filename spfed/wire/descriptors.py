"""Descriptors: domain dataclasses to and from ``spfed.v1`` messages."""

from __future__ import annotations

from spfed.api.v1 import descriptors_pb2 as pb
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
from spfed.wire._enums import EnumMap

__all__ = [
    "cp_from_pb",
    "cp_to_pb",
    "nsd_from_pb",
    "nsd_to_pb",
    "ref_from_pb",
    "ref_to_pb",
    "resources_from_pb",
    "resources_to_pb",
    "vnfd_from_pb",
    "vnfd_to_pb",
]

DIALECTS = EnumMap(
    {Dialect.SONATA: pb.DESCRIPTOR_DIALECT_SONATA, Dialect.TANGO: pb.DESCRIPTOR_DIALECT_TANGO},
    default=Dialect.TANGO,
)
CP_TYPES = EnumMap(
    {
        ConnectionPointType.UNSPECIFIED: pb.CONNECTION_POINT_TYPE_UNSPECIFIED,
        ConnectionPointType.INTERNAL: pb.CONNECTION_POINT_TYPE_INTERNAL,
        ConnectionPointType.EXTERNAL: pb.CONNECTION_POINT_TYPE_EXTERNAL,
        ConnectionPointType.MANAGEMENT: pb.CONNECTION_POINT_TYPE_MANAGEMENT,
        ConnectionPointType.SERVICE_ENDPOINT: pb.CONNECTION_POINT_TYPE_SERVICE_ENDPOINT,
    },
    default=ConnectionPointType.UNSPECIFIED,
)
INTERFACES = EnumMap(
    {
        InterfaceType.UNSPECIFIED: pb.INTERFACE_TYPE_UNSPECIFIED,
        InterfaceType.ETHERNET: pb.INTERFACE_TYPE_ETHERNET,
        InterfaceType.IPV4: pb.INTERFACE_TYPE_IPV4,
        InterfaceType.IPV6: pb.INTERFACE_TYPE_IPV6,
    },
    default=InterfaceType.UNSPECIFIED,
)
CONNECTIVITY: EnumMap[ConnectivityType | None, pb.ConnectivityType.ValueType] = EnumMap(
    {
        ConnectivityType.E_LINE: pb.CONNECTIVITY_TYPE_E_LINE,
        ConnectivityType.E_TREE: pb.CONNECTIVITY_TYPE_E_TREE,
        ConnectivityType.E_LAN: pb.CONNECTIVITY_TYPE_E_LAN,
    },
    default=None,
)
UNIT_KINDS = EnumMap(
    {
        UnitKind.VIRTUAL_MACHINE: pb.DEPLOYMENT_UNIT_KIND_VIRTUAL_MACHINE,
        UnitKind.CONTAINER: pb.DEPLOYMENT_UNIT_KIND_CONTAINER,
        UnitKind.PHYSICAL: pb.DEPLOYMENT_UNIT_KIND_PHYSICAL,
    },
    default=UnitKind.VIRTUAL_MACHINE,
)


def ref_to_pb(ref: DescriptorRef) -> pb.DescriptorRef:
    return pb.DescriptorRef(vendor=ref.vendor, name=ref.name, version=ref.version)


def ref_from_pb(msg: pb.DescriptorRef) -> DescriptorRef:
    return DescriptorRef(msg.vendor, msg.name, msg.version)


def resources_to_pb(res: Resources) -> pb.ResourceRequirements:
    return pb.ResourceRequirements(
        vcpus=res.vcpus, memory_mib=res.memory_mib, disk_gib=res.disk_gib
    )


def resources_from_pb(msg: pb.ResourceRequirements) -> Resources:
    return Resources(msg.vcpus, msg.memory_mib, msg.disk_gib)


def cp_to_pb(cp: ConnectionPoint) -> pb.ConnectionPoint:
    return pb.ConnectionPoint(
        id=cp.id,
        interface=INTERFACES.to_pb(cp.interface),
        type=CP_TYPES.to_pb(cp.type),
        mac=cp.mac,
        ip=cp.ip,
        port=cp.port,
    )


def cp_from_pb(msg: pb.ConnectionPoint) -> ConnectionPoint:
    return ConnectionPoint(
        id=msg.id,
        interface=INTERFACES.from_pb(msg.interface),
        type=CP_TYPES.from_pb(msg.type),
        mac=msg.mac,
        ip=msg.ip,
        port=msg.port,
    )


def _vl_to_pb(vl: VirtualLink) -> pb.VirtualLink:
    return pb.VirtualLink(
        id=vl.id,
        connectivity_type=CONNECTIVITY.to_pb(vl.connectivity_type),
        connection_points_reference=list(vl.connection_points_reference),
        dhcp=vl.dhcp,
        cidr=vl.cidr,
        qos=pb.QosRequirements(
            policy=vl.qos.policy,
            bandwidth_limit_mbps=vl.qos.bandwidth_limit_mbps,
            minimum_bandwidth_mbps=vl.qos.minimum_bandwidth_mbps,
        ),
    )


def _vl_from_pb(msg: pb.VirtualLink) -> VirtualLink:
    # An unspecified connectivity type is caught by admission's field checks;
    # E-LAN is the most permissive reading until then.
    connectivity = CONNECTIVITY.from_pb(msg.connectivity_type) or ConnectivityType.E_LAN
    return VirtualLink(
        id=msg.id,
        connectivity_type=connectivity,
        connection_points_reference=tuple(msg.connection_points_reference),
        dhcp=msg.dhcp,
        cidr=msg.cidr,
        qos=QosRequirements(
            policy=msg.qos.policy,
            bandwidth_limit_mbps=msg.qos.bandwidth_limit_mbps,
            minimum_bandwidth_mbps=msg.qos.minimum_bandwidth_mbps,
        ),
    )


def _fg_to_pb(fg: ForwardingGraph) -> pb.ForwardingGraph:
    return pb.ForwardingGraph(
        fg_id=fg.fg_id,
        constituent_virtual_links=list(fg.constituent_virtual_links),
        constituent_vnfs=list(fg.constituent_vnfs),
        constituent_services=list(fg.constituent_services),
        network_forwarding_paths=[
            pb.ForwardingPath(
                fp_id=p.fp_id,
                policy=p.policy,
                connection_points=[
                    pb.ForwardingPathHop(
                        connection_point_ref=h.connection_point_ref, position=h.position
                    )
                    for h in p.connection_points
                ],
            )
            for p in fg.network_forwarding_paths
        ],
    )


def _fg_from_pb(msg: pb.ForwardingGraph) -> ForwardingGraph:
    return ForwardingGraph(
        fg_id=msg.fg_id,
        constituent_virtual_links=tuple(msg.constituent_virtual_links),
        constituent_vnfs=tuple(msg.constituent_vnfs),
        constituent_services=tuple(msg.constituent_services),
        network_forwarding_paths=tuple(
            ForwardingPath(
                fp_id=p.fp_id,
                policy=p.policy,
                connection_points=tuple(
                    ForwardingPathHop(h.connection_point_ref, h.position)
                    for h in p.connection_points
                ),
            )
            for p in msg.network_forwarding_paths
        ),
    )


def nsd_to_pb(nsd: NetworkServiceDescriptor) -> pb.NetworkServiceDescriptor:
    return pb.NetworkServiceDescriptor(
        ref=ref_to_pb(nsd.ref),
        dialect=DIALECTS.to_pb(nsd.dialect),
        author=nsd.author,
        description=nsd.description,
        network_functions=[
            pb.NetworkFunctionRef(vnf_id=f.vnf_id, descriptor=ref_to_pb(f.descriptor))
            for f in nsd.network_functions
        ],
        network_services=[
            pb.NestedServiceRef(ns_id=s.ns_id, descriptor=ref_to_pb(s.descriptor))
            for s in nsd.network_services
        ],
        connection_points=[cp_to_pb(cp) for cp in nsd.connection_points],
        virtual_links=[_vl_to_pb(vl) for vl in nsd.virtual_links],
        forwarding_graphs=[_fg_to_pb(fg) for fg in nsd.forwarding_graphs],
    )


def nsd_from_pb(msg: pb.NetworkServiceDescriptor) -> NetworkServiceDescriptor:
    return NetworkServiceDescriptor(
        ref=ref_from_pb(msg.ref),
        dialect=DIALECTS.from_pb(msg.dialect),
        author=msg.author,
        description=msg.description,
        network_functions=tuple(
            NetworkFunctionRef(f.vnf_id, ref_from_pb(f.descriptor)) for f in msg.network_functions
        ),
        network_services=tuple(
            NestedServiceRef(s.ns_id, ref_from_pb(s.descriptor)) for s in msg.network_services
        ),
        connection_points=tuple(cp_from_pb(cp) for cp in msg.connection_points),
        virtual_links=tuple(_vl_from_pb(vl) for vl in msg.virtual_links),
        forwarding_graphs=tuple(_fg_from_pb(fg) for fg in msg.forwarding_graphs),
    )


def vnfd_to_pb(vnfd: VnfDescriptor) -> pb.VnfDescriptor:
    return pb.VnfDescriptor(
        ref=ref_to_pb(vnfd.ref),
        dialect=DIALECTS.to_pb(vnfd.dialect),
        author=vnfd.author,
        description=vnfd.description,
        deployment_units=[
            pb.DeploymentUnit(
                id=u.id,
                kind=UNIT_KINDS.to_pb(u.kind),
                vm_image=u.vm_image,
                vm_image_format=u.vm_image_format,
                vm_image_md5=u.vm_image_md5,
                vm_flavor=u.vm_flavor,
                resource_requirements=resources_to_pb(u.resource_requirements),
                connection_points=[cp_to_pb(cp) for cp in u.connection_points],
            )
            for u in vnfd.deployment_units
        ],
        connection_points=[cp_to_pb(cp) for cp in vnfd.connection_points],
        virtual_links=[_vl_to_pb(vl) for vl in vnfd.virtual_links],
    )


def vnfd_from_pb(msg: pb.VnfDescriptor) -> VnfDescriptor:
    return VnfDescriptor(
        ref=ref_from_pb(msg.ref),
        dialect=DIALECTS.from_pb(msg.dialect),
        author=msg.author,
        description=msg.description,
        deployment_units=tuple(
            DeploymentUnit(
                id=u.id,
                kind=UNIT_KINDS.from_pb(u.kind),
                vm_image=u.vm_image,
                vm_image_format=u.vm_image_format,
                vm_image_md5=u.vm_image_md5,
                vm_flavor=u.vm_flavor,
                resource_requirements=resources_from_pb(u.resource_requirements),
                connection_points=tuple(cp_from_pb(cp) for cp in u.connection_points),
            )
            for u in msg.deployment_units
        ),
        connection_points=tuple(cp_from_pb(cp) for cp in msg.connection_points),
        virtual_links=tuple(_vl_from_pb(vl) for vl in msg.virtual_links),
    )
