"""Service records, requests, operations and lifecycle events.

A service record is a tree: a service has parts, each either *local* (the
functions deployed on one of the node's PoPs) or *delegated* (one sub-service
at a lower SP, whose own record is the next level of the tree).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import grpc

from spfed.errors import FieldViolation, QuotaViolation, SpfedError, error_for_code
from spfed.model.descriptors import DescriptorRef, NetworkServiceDescriptor, VnfDescriptor
from spfed.model.resources import Resources

__all__ = [
    "LOCAL_OPERATOR",
    "AddressConstraint",
    "AddressConstraints",
    "ErrorStatus",
    "InstantiateRequest",
    "Operation",
    "OperationKind",
    "OperationState",
    "PartKind",
    "PlacementConstraints",
    "PlacementRule",
    "PortRecord",
    "ServiceDescriptors",
    "ServiceEvent",
    "ServiceEventKind",
    "ServicePart",
    "ServiceRecord",
    "ServiceState",
    "TaskProgress",
    "TaskState",
    "UnitRecord",
    "VnfRecord",
]

LOCAL_OPERATOR = "local"
"""The value of ``PlacementRule.operator`` that pins a member to the node's own PoPs."""


class ServiceState(StrEnum):
    """Lifecycle state of a service."""

    INSTANTIATING = "instantiating"
    ACTIVE = "active"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"

    @property
    def settled(self) -> bool:
        """Whether no lifecycle work is under way in this state."""
        return self in (ServiceState.ACTIVE, ServiceState.TERMINATED, ServiceState.FAILED)


class PartKind(StrEnum):
    """Local (own PoP) or delegated (lower SP)."""

    LOCAL = "local"
    DELEGATED = "delegated"


class OperationKind(StrEnum):
    """What an operation does."""

    INSTANTIATE = "instantiate"
    TERMINATE = "terminate"


class OperationState(StrEnum):
    """State of an operation."""

    RUNNING = "running"
    COMPENSATING = "compensating"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        """Whether the operation has finished."""
        return self in (OperationState.SUCCEEDED, OperationState.FAILED)


class TaskState(StrEnum):
    """State of one workflow task."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    COMPENSATED = "compensated"
    CANCELLED = "cancelled"


class ServiceEventKind(StrEnum):
    """What a lifecycle event reports."""

    STATE_CHANGED = "state_changed"
    TASK_STARTED = "task_started"
    TASK_SUCCEEDED = "task_succeeded"
    TASK_FAILED = "task_failed"
    TASK_COMPENSATED = "task_compensated"
    PART_CHANGED = "part_changed"

    @property
    def milestone(self) -> bool:
        """Whether an upper SP relaying a sub-service gets this kind (not task progress)."""
        return self not in (ServiceEventKind.TASK_STARTED, ServiceEventKind.TASK_SUCCEEDED)


@dataclass(frozen=True)
class ErrorStatus:
    """A domain error at rest: what a failed service or operation reports."""

    code: str
    """Status code name, e.g. ``RESOURCE_EXHAUSTED``."""
    message: str
    """Readable message."""
    field_violations: tuple[FieldViolation, ...] = ()
    """Bad fields."""
    quota_violations: tuple[QuotaViolation, ...] = ()
    """Exhausted resources."""
    origin: tuple[str, ...] = ()
    """Operators from the holder down to where it was raised."""
    retry_after_s: float | None = None
    """When a retry may succeed (``google.rpc.RetryInfo``); None: not said."""

    @classmethod
    def from_error(cls, error: SpfedError) -> ErrorStatus:
        """Capture a raised error."""
        return cls(
            code=error.code.name,
            message=error.message,
            field_violations=error.field_violations,
            quota_violations=error.quota_violations,
            origin=error.origin,
            retry_after_s=error.retry_after_s,
        )

    def to_error(self) -> SpfedError:
        """The matching leaf of the error tree, ready to raise."""
        code = grpc.StatusCode[self.code] if self.code in grpc.StatusCode.__members__ else None
        cls = error_for_code(code) if code is not None else SpfedError
        return cls(
            self.message,
            field_violations=self.field_violations,
            quota_violations=self.quota_violations,
            origin=self.origin,
            retry_after_s=self.retry_after_s,
        )

    def describe(self) -> str:
        """One line: code, origin and message."""
        where = f" at {'/'.join(self.origin)}" if self.origin else ""
        return f"{self.code}{where}: {self.message}"


@dataclass(frozen=True)
class PlacementRule:
    """Where one member may go; empty fields mean 'any'."""

    region: str = ""
    """Region."""
    operator: str = ""
    """A direct lower SP, or ``local``."""
    pop: str = ""
    """A PoP of the receiving node."""


@dataclass(frozen=True)
class PlacementConstraints:
    """Placement constraints of a service."""

    rules: dict[str, PlacementRule] = field(default_factory=dict)
    """Rules by member id."""
    default_region: str = ""
    """Region for members without a rule."""

    def rule_for(self, member: str) -> PlacementRule:
        """The rule of a member; members without a rule get the default region."""
        rule = self.rules.get(member)
        return rule if rule is not None else PlacementRule(region=self.default_region)


@dataclass(frozen=True)
class IdRange:
    """An inclusive range of identifiers (VNIs, VLAN ids)."""

    first: int
    """First id."""
    last: int
    """Last id (≥ first)."""

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.first <= value <= self.last

    @property
    def size(self) -> int:
        """How many ids."""
        return self.last - self.first + 1

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class AddressConstraint:
    """What an upper SP allows on one external connection point of a sub-service.

    The lower SP chooses within it, for the interface it puts on the point,
    and reports what it chose (``AddressAssignment``).
    """

    connection_point: str
    """External connection point of the service's NSD."""
    prefix: str
    """Addresses allowed: a prefix (``10.1.4.128/25``) or a range
    (``10.1.4.130-10.1.4.140``)."""
    subnet: str = ""
    """Subnet of the link behind the point, whose prefix length interfaces use ("" = ``prefix``)."""
    gateway: str = ""
    """The link's gateway, which no interface may take ("" for none)."""
    excluded: tuple[str, ...] = ()
    """Addresses inside ``prefix`` that may not be assigned."""
    vni: IdRange | None = None
    """VXLAN network identifiers the point's segment may use (one, for a link that
    crosses operators: both sides must agree)."""
    vlan: IdRange | None = None
    """VLAN ids, where a driver needs one."""
    mac_prefix: str = ""
    """MAC addresses must start with these bytes, e.g. ``02:5f:00:3a``."""
    port_id_prefix: str = ""
    """Port identifiers must start with this."""
    mtu: int = 0
    """Largest MTU on the point (0: no bound)."""


@dataclass(frozen=True)
class Nap:
    """A network access point of a service's customer (5GTANGO ``{location, nap}``)."""

    location: str
    """Where it is: a region."""
    nap: str
    """The customer's address there, e.g. ``10.10.10.1/32``."""
    connection_point: str = ""
    """The service's external point it attaches to ("": the first hop of the forwarding
    graph for an ingress, the last for an egress)."""


@dataclass(frozen=True)
class AddressConstraints:
    """Address space and per-point constraints of a service."""

    address_space: str = ""
    """Block for the node's own planning inside the service ("" to allocate one)."""
    constraints: tuple[AddressConstraint, ...] = ()
    """Per external connection point."""
    vni_space: IdRange | None = None
    """VNIs the node may use inside the service (None: from its own pool)."""
    mac_prefix: str = ""
    """MAC prefix of every port in the service ("" : the node's own)."""
    port_id_prefix: str = ""
    """Prefix of every port id in the service ("": the node makes one)."""
    mtu: int = 0
    """Largest MTU in the service (0: the node's default)."""
    ingresses: tuple[Nap, ...] = ()
    """Where the customer's traffic enters."""
    egresses: tuple[Nap, ...] = ()
    """Where it leaves."""
    ip_version: int = 0
    """4 or 6: the family of a block the node allocates (0: IPv4)."""

    def for_point(self, cp: str) -> AddressConstraint | None:
        """The constraint of one external connection point, if any."""
        return next((c for c in self.constraints if c.connection_point == cp), None)


@dataclass(frozen=True)
class AddressAssignment:
    """What a node chose for one of its service's constrained external points."""

    connection_point: str
    """The point."""
    address: str
    """Address with prefix length."""
    mac: str = ""
    """MAC address of the interface on the point."""
    port_id: str = ""
    """Port identifier."""
    vni: int = 0
    """VNI of the point's segment (0: none)."""
    mtu: int = 0
    """MTU of the interface."""
    chosen_by: str = ""
    """Operator whose plan chose it (the one that deployed the interface)."""


@dataclass(frozen=True)
class ServiceDescriptors:
    """Descriptors sent in full with a request."""

    nsd: NetworkServiceDescriptor
    """The service."""
    vnfds: tuple[VnfDescriptor, ...] = ()
    """Function descriptors."""
    nested_nsds: tuple[NetworkServiceDescriptor, ...] = ()
    """Nested service descriptors the node may expand itself."""


@dataclass(frozen=True)
class InstantiateRequest:
    """An instantiation request, as admitted by a node."""

    request_id: str
    """Client request id (idempotency key)."""
    name: str = ""
    """Label."""
    descriptors: ServiceDescriptors | None = None
    """Descriptors in full; exclusive with ``offer``."""
    offer: DescriptorRef | None = None
    """An offered network service; exclusive with ``descriptors``."""
    placement: PlacementConstraints = field(default_factory=PlacementConstraints)
    """Placement constraints."""
    addressing: AddressConstraints = field(default_factory=AddressConstraints)
    """Address constraints."""


@dataclass(frozen=True)
class PortRecord:
    """One port of a deployed unit."""

    connection_point: str
    """The unit's connection point."""
    virtual_link: str
    """Link of the deployed service the port sits on."""
    address: str = ""
    """Address with prefix length, e.g. ``10.1.0.5/27``."""
    mac: str = ""
    """MAC address."""
    port_id: str = ""
    """Port identifier (unique in the service's federation-wide plan)."""
    vni: int = 0
    """VNI of the port's link segment (0: none)."""
    mtu: int = 0
    """MTU of the port (0: the VIM's default)."""
    private: bool = False
    """On a network private to its function (a descriptor's own subnet outside the
    service's block): not part of the service's address plan."""


@dataclass(frozen=True)
class UnitRecord:
    """A deployed unit."""

    unit_id: str
    """Unit id in the VNFD."""
    server_id: str
    """VIM server id."""
    resources: Resources = field(default_factory=Resources)
    """Resources held."""
    ports: tuple[PortRecord, ...] = ()
    """Ports."""


@dataclass(frozen=True)
class VnfRecord:
    """A function deployed on one of the node's PoPs."""

    vnf_id: str
    """Member id (``ns/vnf`` for members of locally expanded nested services)."""
    descriptor: DescriptorRef
    """VNFD."""
    pop: str
    """PoP."""
    units: tuple[UnitRecord, ...] = ()
    """Units."""


@dataclass(frozen=True)
class ServicePart:
    """What goes to one PoP, or to one lower SP."""

    id: str
    """``pop:<name>`` or ``sp:<name>``."""
    kind: PartKind
    """Local or delegated."""
    members: tuple[str, ...] = ()
    """Members of the service in this part."""
    pop: str = ""
    """Local: the PoP."""
    vnfs: tuple[VnfRecord, ...] = ()
    """Local: deployed functions."""
    lower_sp: str = ""
    """Delegated: the lower SP."""
    remote_service_id: str = ""
    """Delegated: the sub-service id at the lower SP."""
    remote: ServiceRecord | None = None
    """Delegated: the lower SP's view of the sub-service."""
    constraints: tuple[AddressConstraint, ...] = ()
    """Address constraints given (delegated) or planned (local)."""
    address_space: str = ""
    """Block for the part's internal addressing."""


@dataclass(frozen=True)
class ServiceRecord:
    """A service as seen by the node that owns the record."""

    id: str
    """Service id."""
    name: str
    """Label."""
    descriptor: DescriptorRef
    """The NSD."""
    state: ServiceState
    """State."""
    operator: str
    """Node that owns the record."""
    owner: str
    """Requesting account."""
    request_id: str
    """Client request id."""
    create_time: datetime
    """Requested at."""
    update_time: datetime
    """Last change."""
    parts: tuple[ServicePart, ...] = ()
    """The tree."""
    address_space: str = ""
    """Address block."""
    error: ErrorStatus | None = None
    """Why it failed."""
    constraints: tuple[AddressConstraint, ...] = ()
    """Own external points and their constraints."""
    assignments: tuple[AddressAssignment, ...] = ()
    """What the node chose on its own external points (for the upper SP to check)."""

    def part_holding(self, address: str) -> ServicePart | None:
        """The top-level part whose tree has a port with ``address`` (bare, or with a
        prefix length), None when no port has it."""
        wanted = ipaddress.ip_interface(address).ip
        for part in self.parts:
            if wanted in set(_port_ips(part)):
                return part
        return None


def _port_ips(part: ServicePart) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    for vnf in part.vnfs:
        for unit in vnf.units:
            for port in unit.ports:
                if port.address:
                    yield ipaddress.ip_interface(port.address).ip
    if part.remote is not None:
        for inner in part.remote.parts:
            yield from _port_ips(inner)


@dataclass(frozen=True)
class TaskProgress:
    """Progress of one task of an operation."""

    task: str
    """Task id."""
    state: TaskState
    """State."""
    attempts: int = 0
    """Attempts so far."""
    error: ErrorStatus | None = None
    """Last error."""


@dataclass(frozen=True)
class Operation:
    """A long-running operation on a service."""

    id: str
    """Operation id."""
    kind: OperationKind
    """Instantiate or terminate."""
    service_id: str
    """Service."""
    state: OperationState
    """State."""
    create_time: datetime
    """Started."""
    update_time: datetime
    """Last change."""
    error: ErrorStatus | None = None
    """Failure."""
    tasks: tuple[TaskProgress, ...] = ()
    """Per-task progress in schedule order."""

    @property
    def done(self) -> bool:
        """Whether it finished."""
        return self.state.done


@dataclass(frozen=True)
class ServiceEvent:
    """A lifecycle event of a service or any part below it."""

    sequence: int
    """Position in the service's event log at this node (0 until stored)."""
    service_id: str
    """Service at this node."""
    operation_id: str
    """Producing operation."""
    time: datetime
    """Emitted at (by the origin)."""
    origin: tuple[str, ...]
    """Operators from this node down to the emitter."""
    kind: ServiceEventKind
    """What happened."""
    task: str = ""
    """Task, for task events."""
    part_id: str = ""
    """Part at this node, if any."""
    state: ServiceState | None = None
    """New state, for state events."""
    message: str = ""
    """Detail."""
    error: ErrorStatus | None = None
    """Error, for failures."""
