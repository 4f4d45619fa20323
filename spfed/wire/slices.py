"""Network slices: templates, requests and slice records to and from ``spfed.v1`` messages."""

from __future__ import annotations

from spfed.api.v1 import services_pb2 as spb
from spfed.api.v1 import slices_pb2 as pb
from spfed.model import (
    ConnectivityType,
    CreateSliceRequest,
    PlacementConstraints,
    PlacementRule,
    SliceAccessPoint,
    SliceLink,
    SliceLinkPoint,
    SliceLinkRecord,
    SliceRecord,
    SliceState,
    SliceSubnet,
    SliceSubnetRecord,
    SliceTemplate,
)
from spfed.wire._enums import EnumMap
from spfed.wire.descriptors import (
    CONNECTIVITY,
    nsd_from_pb,
    nsd_to_pb,
    ref_from_pb,
    ref_to_pb,
    vnfd_from_pb,
    vnfd_to_pb,
)
from spfed.wire.services import time_from_pb, timestamp_to_pb
from spfed.wire.status import error_status_from_pb, error_status_to_pb

__all__ = [
    "create_slice_request_from_pb",
    "create_slice_request_to_pb",
    "slice_from_pb",
    "slice_template_from_pb",
    "slice_template_to_pb",
    "slice_to_pb",
]

SLICE_STATES: EnumMap[SliceState | None, pb.SliceState.ValueType] = EnumMap(
    {
        SliceState.CREATING: pb.SLICE_STATE_CREATING,
        SliceState.ACTIVE: pb.SLICE_STATE_ACTIVE,
        SliceState.FAILED: pb.SLICE_STATE_FAILED,
        SliceState.DELETING: pb.SLICE_STATE_DELETING,
        SliceState.DELETED: pb.SLICE_STATE_DELETED,
    },
    default=None,
)


def _points_to_pb(points: tuple[SliceLinkPoint, ...]) -> list[pb.SliceLinkPoint]:
    return [
        pb.SliceLinkPoint(subnet_ref=p.subnet_ref, nsd_cp_ref=p.nsd_cp_ref, ip_address=p.ip_address)
        for p in points
    ]


def _points_from_pb(msgs: list[pb.SliceLinkPoint]) -> tuple[SliceLinkPoint, ...]:
    return tuple(SliceLinkPoint(m.subnet_ref, m.nsd_cp_ref, m.ip_address) for m in msgs)


def _aps_to_pb(points: tuple[SliceAccessPoint, ...]) -> list[pb.SliceAccessPoint]:
    return [pb.SliceAccessPoint(location=p.location, nap=p.nap) for p in points]


def _aps_from_pb(msgs: list[pb.SliceAccessPoint]) -> tuple[SliceAccessPoint, ...]:
    return tuple(SliceAccessPoint(m.location, m.nap) for m in msgs)


def slice_template_to_pb(template: SliceTemplate) -> pb.SliceTemplate:
    """Serialise a slice template."""
    return pb.SliceTemplate(
        ref=ref_to_pb(template.ref),
        author=template.author,
        description=template.description,
        slice_service_type=template.slice_service_type,
        slice_differentiator=template.slice_differentiator,
        subnets=[
            pb.SliceSubnet(
                id=s.id,
                nsd=ref_to_pb(s.nsd),
                nsd_ref=s.nsd_ref,
                is_shared=s.is_shared,
                sla_name=s.sla_name,
                sla_ref=s.sla_ref,
                ingresses=_aps_to_pb(s.ingresses),
                egresses=_aps_to_pb(s.egresses),
            )
            for s in template.subnets
        ],
        links=[
            pb.SliceLink(
                id=link.id,
                connectivity_type=CONNECTIVITY.to_pb(link.connectivity_type),
                name=link.name,
                mgmt_network=link.mgmt_network,
                access_net=link.access_net,
                connection_points=_points_to_pb(link.connection_points),
                bandwidth_mbps=link.bandwidth_mbps,
            )
            for link in template.links
        ],
    )


def slice_template_from_pb(msg: pb.SliceTemplate) -> SliceTemplate:
    """Read a slice template; an unset link type reads as E-Line (an NST's default)."""
    return SliceTemplate(
        ref=ref_from_pb(msg.ref),
        author=msg.author,
        description=msg.description,
        slice_service_type=msg.slice_service_type,
        slice_differentiator=msg.slice_differentiator,
        subnets=tuple(
            SliceSubnet(
                id=s.id,
                nsd=ref_from_pb(s.nsd),
                nsd_ref=s.nsd_ref,
                is_shared=s.is_shared,
                sla_name=s.sla_name,
                sla_ref=s.sla_ref,
                ingresses=_aps_from_pb(list(s.ingresses)),
                egresses=_aps_from_pb(list(s.egresses)),
            )
            for s in msg.subnets
        ),
        links=tuple(
            SliceLink(
                id=link.id,
                connectivity_type=CONNECTIVITY.from_pb(link.connectivity_type)
                or ConnectivityType.E_LINE,
                name=link.name,
                mgmt_network=link.mgmt_network,
                access_net=link.access_net,
                connection_points=_points_from_pb(list(link.connection_points)),
                bandwidth_mbps=link.bandwidth_mbps,
            )
            for link in msg.links
        ),
    )


def _placement_to_pb(placement: PlacementConstraints) -> spb.PlacementConstraints:
    return spb.PlacementConstraints(
        rules={
            member: spb.PlacementRule(region=r.region, operator=r.operator, pop=r.pop)
            for member, r in placement.rules.items()
        },
        default_region=placement.default_region,
    )


def _placement_from_pb(msg: spb.PlacementConstraints) -> PlacementConstraints:
    return PlacementConstraints(
        rules={
            member: PlacementRule(region=r.region, operator=r.operator, pop=r.pop)
            for member, r in msg.rules.items()
        },
        default_region=msg.default_region,
    )


def create_slice_request_to_pb(request: CreateSliceRequest) -> pb.CreateSliceRequest:
    """Serialise a request (the client's side)."""
    return pb.CreateSliceRequest(
        request_id=request.request_id,
        name=request.name,
        template=slice_template_to_pb(request.template),
        nsds=[nsd_to_pb(n) for n in request.nsds],
        vnfds=[vnfd_to_pb(v) for v in request.vnfds],
        placement={k: _placement_to_pb(v) for k, v in request.placement.items()},
    )


def create_slice_request_from_pb(msg: pb.CreateSliceRequest) -> CreateSliceRequest:
    """Read a request; its checks belong to the lifecycle."""
    return CreateSliceRequest(
        request_id=msg.request_id,
        name=msg.name,
        template=slice_template_from_pb(msg.template),
        nsds=tuple(nsd_from_pb(n) for n in msg.nsds),
        vnfds=tuple(vnfd_from_pb(v) for v in msg.vnfds),
        placement={k: _placement_from_pb(v) for k, v in msg.placement.items()},
    )


def slice_to_pb(record: SliceRecord, node_id: str) -> pb.Slice:
    """Serialise a slice held at ``node_id``."""
    msg = pb.Slice(
        id=record.id,
        name=record.name,
        template=ref_to_pb(record.template),
        owner=record.owner,
        state=SLICE_STATES.to_pb(record.state),
        request_id=record.request_id,
        create_time=timestamp_to_pb(record.create_time),
        update_time=timestamp_to_pb(record.update_time),
        subnets=[
            pb.SliceSubnetInstance(
                subnet_id=s.subnet_id,
                nsd=ref_to_pb(s.nsd),
                service_id=s.service_id,
                shared=s.shared,
            )
            for s in record.subnets
        ],
        links=[
            pb.SliceLinkInstance(
                id=link.id,
                subnet=link.subnet,
                vni=link.vni,
                connection_points=_points_to_pb(link.points),
                connectivity_ids=list(link.connectivity_ids),
            )
            for link in record.links
        ],
    )
    if record.error is not None:
        msg.error.CopyFrom(error_status_to_pb(record.error, node_id))
    return msg


def slice_from_pb(msg: pb.Slice) -> SliceRecord:
    """Read a slice."""
    return SliceRecord(
        id=msg.id,
        name=msg.name,
        template=ref_from_pb(msg.template),
        state=SLICE_STATES.from_pb(msg.state) or SliceState.FAILED,
        owner=msg.owner,
        request_id=msg.request_id,
        create_time=time_from_pb(msg.create_time),
        update_time=time_from_pb(msg.update_time),
        subnets=tuple(
            SliceSubnetRecord(s.subnet_id, ref_from_pb(s.nsd), s.service_id, s.shared)
            for s in msg.subnets
        ),
        links=tuple(
            SliceLinkRecord(
                id=link.id,
                subnet=link.subnet,
                vni=link.vni,
                points=_points_from_pb(list(link.connection_points)),
                connectivity_ids=tuple(link.connectivity_ids),
            )
            for link in msg.links
        ),
        error=error_status_from_pb(msg.error) if msg.HasField("error") else None,
    )
