"""Service records, requests, operations and events: domain to and from ``spfed.v1``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from spfed.api.v1 import platform_service_pb2 as api
from spfed.api.v1 import services_pb2 as pb
from spfed.model import (
    AddressAssignment,
    AddressConstraint,
    AddressConstraints,
    IdRange,
    InstantiateRequest,
    Nap,
    Operation,
    OperationKind,
    OperationState,
    PartKind,
    PlacementConstraints,
    PlacementRule,
    PortRecord,
    ServiceDescriptors,
    ServiceEvent,
    ServiceEventKind,
    ServicePart,
    ServiceRecord,
    ServiceState,
    TaskProgress,
    TaskState,
    UnitRecord,
    VnfRecord,
)
from spfed.wire._enums import EnumMap
from spfed.wire.descriptors import (
    nsd_from_pb,
    nsd_to_pb,
    ref_from_pb,
    ref_to_pb,
    resources_from_pb,
    resources_to_pb,
    vnfd_from_pb,
    vnfd_to_pb,
)
from spfed.wire.status import error_status_from_pb, error_status_to_pb

__all__ = [
    "event_from_pb",
    "event_to_pb",
    "instantiate_request_from_pb",
    "instantiate_request_to_pb",
    "operation_from_pb",
    "operation_to_pb",
    "service_from_pb",
    "service_to_pb",
    "time_from_pb",
    "timestamp_to_pb",
]

SERVICE_STATES: EnumMap[ServiceState | None, pb.ServiceState.ValueType] = EnumMap(
    {
        ServiceState.INSTANTIATING: pb.SERVICE_STATE_INSTANTIATING,
        ServiceState.ACTIVE: pb.SERVICE_STATE_ACTIVE,
        ServiceState.TERMINATING: pb.SERVICE_STATE_TERMINATING,
        ServiceState.TERMINATED: pb.SERVICE_STATE_TERMINATED,
        ServiceState.FAILED: pb.SERVICE_STATE_FAILED,
    },
    default=None,
)
PART_KINDS = EnumMap(
    {PartKind.LOCAL: pb.PART_KIND_LOCAL, PartKind.DELEGATED: pb.PART_KIND_DELEGATED},
    default=PartKind.LOCAL,
)
OPERATION_KINDS = EnumMap(
    {
        OperationKind.INSTANTIATE: pb.OPERATION_KIND_INSTANTIATE,
        OperationKind.TERMINATE: pb.OPERATION_KIND_TERMINATE,
    },
    default=OperationKind.INSTANTIATE,
)
OPERATION_STATES = EnumMap(
    {
        OperationState.RUNNING: pb.OPERATION_STATE_RUNNING,
        OperationState.COMPENSATING: pb.OPERATION_STATE_COMPENSATING,
        OperationState.SUCCEEDED: pb.OPERATION_STATE_SUCCEEDED,
        OperationState.FAILED: pb.OPERATION_STATE_FAILED,
    },
    default=OperationState.RUNNING,
)
TASK_STATES = EnumMap(
    {
        TaskState.PENDING: pb.TASK_STATE_PENDING,
        TaskState.RUNNING: pb.TASK_STATE_RUNNING,
        TaskState.SUCCEEDED: pb.TASK_STATE_SUCCEEDED,
        TaskState.FAILED: pb.TASK_STATE_FAILED,
        TaskState.COMPENSATED: pb.TASK_STATE_COMPENSATED,
        TaskState.CANCELLED: pb.TASK_STATE_CANCELLED,
    },
    default=TaskState.PENDING,
)
EVENT_KINDS = EnumMap(
    {
        ServiceEventKind.STATE_CHANGED: pb.SERVICE_EVENT_KIND_STATE_CHANGED,
        ServiceEventKind.TASK_STARTED: pb.SERVICE_EVENT_KIND_TASK_STARTED,
        ServiceEventKind.TASK_SUCCEEDED: pb.SERVICE_EVENT_KIND_TASK_SUCCEEDED,
        ServiceEventKind.TASK_FAILED: pb.SERVICE_EVENT_KIND_TASK_FAILED,
        ServiceEventKind.TASK_COMPENSATED: pb.SERVICE_EVENT_KIND_TASK_COMPENSATED,
        ServiceEventKind.PART_CHANGED: pb.SERVICE_EVENT_KIND_PART_CHANGED,
    },
    default=ServiceEventKind.PART_CHANGED,
)


def timestamp_to_pb(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def time_from_pb(stamp: timestamp_pb2.Timestamp) -> datetime:
    """The UTC moment of a timestamp."""
    return stamp.ToDatetime(tzinfo=UTC)


def _range_to_pb(value: IdRange | None) -> pb.IdRange | None:
    return pb.IdRange(first=value.first, last=value.last) if value is not None else None


def _range_from_pb(msg: pb.IdRange, present: bool) -> IdRange | None:
    return IdRange(msg.first, msg.last) if present else None


def _constraint_to_pb(c: AddressConstraint) -> pb.AddressConstraint:
    return pb.AddressConstraint(
        connection_point=c.connection_point,
        prefix=c.prefix,
        subnet=c.subnet,
        gateway=c.gateway,
        excluded=list(c.excluded),
        vni=_range_to_pb(c.vni),
        vlan=_range_to_pb(c.vlan),
        mac_prefix=c.mac_prefix,
        port_id_prefix=c.port_id_prefix,
        mtu=c.mtu,
    )


def _constraints_to_pb(constraints: tuple[AddressConstraint, ...]) -> list[pb.AddressConstraint]:
    return [_constraint_to_pb(c) for c in constraints]


def _constraints_from_pb(msgs: Iterable[pb.AddressConstraint]) -> tuple[AddressConstraint, ...]:
    return tuple(
        AddressConstraint(
            c.connection_point,
            c.prefix,
            c.subnet,
            c.gateway,
            excluded=tuple(c.excluded),
            vni=_range_from_pb(c.vni, c.HasField("vni")),
            vlan=_range_from_pb(c.vlan, c.HasField("vlan")),
            mac_prefix=c.mac_prefix,
            port_id_prefix=c.port_id_prefix,
            mtu=c.mtu,
        )
        for c in msgs
    )


def _naps_to_pb(naps: tuple[Nap, ...]) -> list[pb.Nap]:
    return [
        pb.Nap(location=n.location, nap=n.nap, connection_point=n.connection_point) for n in naps
    ]


def _naps_from_pb(msgs: Iterable[pb.Nap]) -> tuple[Nap, ...]:
    return tuple(Nap(n.location, n.nap, n.connection_point) for n in msgs)


def addressing_to_pb(addressing: AddressConstraints) -> pb.AddressConstraints:
    """A request's addressing as the API carries it."""
    return pb.AddressConstraints(
        address_space=addressing.address_space,
        constraints=_constraints_to_pb(addressing.constraints),
        vni_space=_range_to_pb(addressing.vni_space),
        mac_prefix=addressing.mac_prefix,
        port_id_prefix=addressing.port_id_prefix,
        mtu=addressing.mtu,
        ingresses=_naps_to_pb(addressing.ingresses),
        egresses=_naps_to_pb(addressing.egresses),
        ip_version=addressing.ip_version,
    )


def addressing_from_pb(msg: pb.AddressConstraints) -> AddressConstraints:
    """A request's addressing, read from the API."""
    return AddressConstraints(
        address_space=msg.address_space,
        constraints=_constraints_from_pb(msg.constraints),
        vni_space=_range_from_pb(msg.vni_space, msg.HasField("vni_space")),
        mac_prefix=msg.mac_prefix,
        port_id_prefix=msg.port_id_prefix,
        mtu=msg.mtu,
        ingresses=_naps_from_pb(msg.ingresses),
        egresses=_naps_from_pb(msg.egresses),
        ip_version=msg.ip_version,
    )


def _assignments_to_pb(items: tuple[AddressAssignment, ...]) -> list[pb.AddressAssignment]:
    return [
        pb.AddressAssignment(
            connection_point=a.connection_point,
            address=a.address,
            mac=a.mac,
            port_id=a.port_id,
            vni=a.vni,
            mtu=a.mtu,
            chosen_by=a.chosen_by,
        )
        for a in items
    ]


def _assignments_from_pb(msgs: Iterable[pb.AddressAssignment]) -> tuple[AddressAssignment, ...]:
    return tuple(
        AddressAssignment(
            a.connection_point, a.address, a.mac, a.port_id, a.vni, a.mtu, a.chosen_by
        )
        for a in msgs
    )


def instantiate_request_to_pb(request: InstantiateRequest) -> api.InstantiateServiceRequest:
    """Serialise a request (used by the upper SP's client and the CLI)."""
    msg = api.InstantiateServiceRequest(
        request_id=request.request_id,
        name=request.name,
        placement=pb.PlacementConstraints(
            rules={
                member: pb.PlacementRule(region=r.region, operator=r.operator, pop=r.pop)
                for member, r in request.placement.rules.items()
            },
            default_region=request.placement.default_region,
        ),
        addressing=addressing_to_pb(request.addressing),
    )
    if request.descriptors is not None:
        msg.descriptors.CopyFrom(
            pb.ServiceDescriptors(
                nsd=nsd_to_pb(request.descriptors.nsd),
                vnfds=[vnfd_to_pb(v) for v in request.descriptors.vnfds],
                nested_nsds=[nsd_to_pb(n) for n in request.descriptors.nested_nsds],
            )
        )
    elif request.offer is not None:
        msg.offer.CopyFrom(ref_to_pb(request.offer))
    return msg


def instantiate_request_from_pb(msg: api.InstantiateServiceRequest) -> InstantiateRequest:
    """Read a request; shape checks (required fields) belong to admission."""
    source = msg.WhichOneof("source")
    descriptors = None
    if source == "descriptors":
        descriptors = ServiceDescriptors(
            nsd=nsd_from_pb(msg.descriptors.nsd),
            vnfds=tuple(vnfd_from_pb(v) for v in msg.descriptors.vnfds),
            nested_nsds=tuple(nsd_from_pb(n) for n in msg.descriptors.nested_nsds),
        )
    return InstantiateRequest(
        request_id=msg.request_id,
        name=msg.name,
        descriptors=descriptors,
        offer=ref_from_pb(msg.offer) if source == "offer" else None,
        placement=PlacementConstraints(
            rules={
                member: PlacementRule(region=r.region, operator=r.operator, pop=r.pop)
                for member, r in msg.placement.rules.items()
            },
            default_region=msg.placement.default_region,
        ),
        addressing=addressing_from_pb(msg.addressing),
    )


def _vnf_to_pb(vnf: VnfRecord) -> pb.VnfRecord:
    return pb.VnfRecord(
        vnf_id=vnf.vnf_id,
        descriptor=ref_to_pb(vnf.descriptor),
        pop=vnf.pop,
        units=[
            pb.UnitRecord(
                unit_id=u.unit_id,
                server_id=u.server_id,
                resources=resources_to_pb(u.resources),
                ports=[
                    pb.PortRecord(
                        connection_point=p.connection_point,
                        virtual_link=p.virtual_link,
                        address=p.address,
                        mac=p.mac,
                        port_id=p.port_id,
                        vni=p.vni,
                        mtu=p.mtu,
                        private=p.private,
                    )
                    for p in u.ports
                ],
            )
            for u in vnf.units
        ],
    )


def _vnf_from_pb(msg: pb.VnfRecord) -> VnfRecord:
    return VnfRecord(
        vnf_id=msg.vnf_id,
        descriptor=ref_from_pb(msg.descriptor),
        pop=msg.pop,
        units=tuple(
            UnitRecord(
                unit_id=u.unit_id,
                server_id=u.server_id,
                resources=resources_from_pb(u.resources),
                ports=tuple(
                    PortRecord(
                        p.connection_point,
                        p.virtual_link,
                        p.address,
                        p.mac,
                        p.port_id,
                        p.vni,
                        p.mtu,
                        p.private,
                    )
                    for p in u.ports
                ),
            )
            for u in msg.units
        ),
    )


def service_to_pb(service: ServiceRecord, *, with_remote: bool = True) -> pb.Service:
    """Serialise a record; ``with_remote=False`` leaves out lower SPs' views."""
    msg = pb.Service(
        id=service.id,
        name=service.name,
        descriptor=ref_to_pb(service.descriptor),
        state=SERVICE_STATES.to_pb(service.state),
        operator=service.operator,
        owner=service.owner,
        request_id=service.request_id,
        create_time=timestamp_to_pb(service.create_time),
        update_time=timestamp_to_pb(service.update_time),
        address_space=service.address_space,
        constraints=_constraints_to_pb(service.constraints),
        assignments=_assignments_to_pb(service.assignments),
    )
    if service.error is not None:
        msg.error.CopyFrom(error_status_to_pb(service.error, service.operator))
    for part in service.parts:
        part_msg = msg.parts.add(
            id=part.id,
            kind=PART_KINDS.to_pb(part.kind),
            members=list(part.members),
            pop=part.pop,
            vnfs=[_vnf_to_pb(v) for v in part.vnfs],
            lower_sp=part.lower_sp,
            remote_service_id=part.remote_service_id,
            constraints=_constraints_to_pb(part.constraints),
            address_space=part.address_space,
        )
        if with_remote and part.remote is not None:
            part_msg.remote.CopyFrom(service_to_pb(part.remote))
    return msg


def service_from_pb(msg: pb.Service) -> ServiceRecord:
    """Read a record (e.g. a lower SP's view of a sub-service)."""
    return ServiceRecord(
        id=msg.id,
        name=msg.name,
        descriptor=ref_from_pb(msg.descriptor),
        state=SERVICE_STATES.from_pb(msg.state) or ServiceState.FAILED,
        operator=msg.operator,
        owner=msg.owner,
        request_id=msg.request_id,
        create_time=time_from_pb(msg.create_time),
        update_time=time_from_pb(msg.update_time),
        address_space=msg.address_space,
        constraints=_constraints_from_pb(msg.constraints),
        assignments=_assignments_from_pb(msg.assignments),
        error=error_status_from_pb(msg.error) if msg.HasField("error") else None,
        parts=tuple(
            ServicePart(
                id=p.id,
                kind=PART_KINDS.from_pb(p.kind),
                members=tuple(p.members),
                pop=p.pop,
                vnfs=tuple(_vnf_from_pb(v) for v in p.vnfs),
                lower_sp=p.lower_sp,
                remote_service_id=p.remote_service_id,
                remote=service_from_pb(p.remote) if p.HasField("remote") else None,
                constraints=_constraints_from_pb(p.constraints),
                address_space=p.address_space,
            )
            for p in msg.parts
        ),
    )


def operation_to_pb(op: Operation, node_id: str) -> pb.Operation:
    msg = pb.Operation(
        id=op.id,
        kind=OPERATION_KINDS.to_pb(op.kind),
        service_id=op.service_id,
        state=OPERATION_STATES.to_pb(op.state),
        done=op.done,
        create_time=timestamp_to_pb(op.create_time),
        update_time=timestamp_to_pb(op.update_time),
    )
    if op.error is not None:
        msg.error.CopyFrom(error_status_to_pb(op.error, node_id))
    for task in op.tasks:
        task_msg = msg.tasks.add(
            task=task.task, state=TASK_STATES.to_pb(task.state), attempts=task.attempts
        )
        if task.error is not None:
            task_msg.error.CopyFrom(error_status_to_pb(task.error, node_id))
    return msg


def operation_from_pb(msg: pb.Operation) -> Operation:
    return Operation(
        id=msg.id,
        kind=OPERATION_KINDS.from_pb(msg.kind),
        service_id=msg.service_id,
        state=OPERATION_STATES.from_pb(msg.state),
        create_time=time_from_pb(msg.create_time),
        update_time=time_from_pb(msg.update_time),
        error=error_status_from_pb(msg.error) if msg.HasField("error") else None,
        tasks=tuple(
            TaskProgress(
                task=t.task,
                state=TASK_STATES.from_pb(t.state),
                attempts=t.attempts,
                error=error_status_from_pb(t.error) if t.HasField("error") else None,
            )
            for t in msg.tasks
        ),
    )


def event_to_pb(event: ServiceEvent, node_id: str) -> pb.ServiceEvent:
    msg = pb.ServiceEvent(
        sequence=event.sequence,
        service_id=event.service_id,
        operation_id=event.operation_id,
        time=timestamp_to_pb(event.time),
        origin=list(event.origin),
        kind=EVENT_KINDS.to_pb(event.kind),
        task=event.task,
        part_id=event.part_id,
        state=SERVICE_STATES.to_pb(event.state),
        message=event.message,
    )
    if event.error is not None:
        # Event errors travel with the origin path already in the event.
        msg.error.CopyFrom(error_status_to_pb(event.error, node_id))
    return msg


def event_from_pb(msg: pb.ServiceEvent) -> ServiceEvent:
    return ServiceEvent(
        sequence=msg.sequence,
        service_id=msg.service_id,
        operation_id=msg.operation_id,
        time=time_from_pb(msg.time),
        origin=tuple(msg.origin),
        kind=EVENT_KINDS.from_pb(msg.kind),
        task=msg.task,
        part_id=msg.part_id,
        state=SERVICE_STATES.from_pb(msg.state),
        message=msg.message,
        error=error_status_from_pb(msg.error) if msg.HasField("error") else None,
    )
