"""Records to store: a service with its instantiate operation, events, parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from spfed.model import (
    AddressConstraint,
    AddressConstraints,
    DescriptorRef,
    InstantiateRequest,
    NetworkServiceDescriptor,
    Operation,
    OperationKind,
    OperationState,
    PlacementConstraints,
    PlacementRule,
    ServiceDescriptors,
    ServiceEvent,
    ServiceEventKind,
    ServiceRecord,
    ServiceState,
    TaskProgress,
    TaskState,
)
from spfed.storage import NewOperation

T0 = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
NSD_REF = DescriptorRef("eu.test", "chain", "1.0")
SCHEDULE = (("validate",), ("place",), ("deploy_local", "delegate_subservices"))


def event(
    kind: ServiceEventKind = ServiceEventKind.PART_CHANGED,
    *,
    state: ServiceState | None = None,
    part_id: str = "",
    message: str = "",
) -> ServiceEvent:
    """An event not yet stored (sequence 0, no service)."""
    return ServiceEvent(
        0, "", "op", T0, ("node",), kind, part_id=part_id, state=state, message=message
    )


def state_event(state: ServiceState) -> ServiceEvent:
    return event(ServiceEventKind.STATE_CHANGED, state=state)


@dataclass(frozen=True)
class NewService:
    record: ServiceRecord
    request: InstantiateRequest
    operation: NewOperation


def new_service(
    service_id: str,
    *,
    owner: str = "alice",
    request_id: str = "",
    created: datetime = T0,
    state: ServiceState = ServiceState.INSTANTIATING,
    name: str = "chain",
) -> NewService:
    request = InstantiateRequest(
        request_id=request_id or f"req-{service_id}",
        name=name,
        descriptors=ServiceDescriptors(nsd=NetworkServiceDescriptor(NSD_REF, author="ä ß ✓")),
        placement=PlacementConstraints({"fw": PlacementRule(region="eu")}, "us"),
        addressing=AddressConstraints(
            "10.1.0.0/16", (AddressConstraint("input", "10.9.0.128/25", "10.9.0.0/24", "10.9.0.1"),)
        ),
    )
    record = ServiceRecord(
        id=service_id,
        name=name,
        descriptor=NSD_REF,
        state=state,
        operator="",
        owner=owner,
        request_id=request.request_id,
        create_time=created,
        update_time=created,
    )
    op = Operation(
        id=f"op-{service_id}",
        kind=OperationKind.INSTANTIATE,
        service_id=service_id,
        state=OperationState.RUNNING,
        create_time=created,
        update_time=created,
        tasks=tuple(
            TaskProgress(t, TaskState.SUCCEEDED if t == "validate" else TaskState.PENDING)
            for step in SCHEDULE
            for t in step
        ),
    )
    return NewService(
        record, request, NewOperation(op, request.request_id, "instantiate", SCHEDULE, '{"s":1}')
    )


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)
