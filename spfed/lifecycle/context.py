"""The state a workflow run carries from task to task.

``*State`` is what is persisted after every task (JSON through pydantic): just
enough to resume, or to compensate after a restart. ``*Context`` adds what
lives only in memory (the collaborators, the resolved graph).

An instantiation's state is the typed outputs of its tasks
(``InstantiateOutputs``): each task returns its own and the run listener stores
it with the task's success. Parts are typed in memory and stored in their text
form (``pop:<name>``, ``sp:<lower>``); a state stored before outputs existed
(one shared, mutable state) still loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, TypeAdapter

from addressing import AddressPlan, ServiceSpace
from lower_sp.local.vim import ServerHandle
from spfed.errors import Internal, InvalidArgument
from spfed.lifecycle.runtime import NodeRuntime
from spfed.model import (
    DelegatedPart,
    InstantiateRequest,
    LocalPart,
    Part,
    ServicePart,
    ServiceRecord,
    parse_part,
)
from upper_sp.graph import ServiceGraph

__all__ = [
    "AddressesPlanned",
    "Delegated",
    "InstantiateContext",
    "InstantiateOutputs",
    "InstantiateState",
    "LocalDeployed",
    "Placed",
    "RemotePart",
    "RetryUntil",
    "TerminateContext",
    "TerminateState",
    "dump_state",
    "load_instantiate_state",
    "load_terminate_state",
]


def _stored_part(value: object) -> Part:
    """A part from its stored text (or as it is, when the state is validated in memory)."""
    if isinstance(value, LocalPart | DelegatedPart):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a part is stored as text, not {type(value).__name__}")
    try:
        return parse_part(value)
    except InvalidArgument as exc:
        # As ValueError, pydantic reports it as a ValidationError naming the field,
        # like any other malformed state.
        raise ValueError(exc.message) from exc


def _stored_delegated_part(value: object) -> DelegatedPart:
    part = _stored_part(value)
    if not isinstance(part, DelegatedPart):
        raise ValueError(f"{part} is not a delegated part")
    return part


_StoredPart = Annotated[Part, PlainValidator(_stored_part), PlainSerializer(str, return_type=str)]
_StoredDelegatedPart = Annotated[
    DelegatedPart, PlainValidator(_stored_delegated_part), PlainSerializer(str, return_type=str)
]


@dataclass
class RemotePart:
    """A delegated part's sub-service at its lower SP."""

    lower: str
    """Lower SP id."""
    service_id: str = ""
    """Sub-service id ("" until the lower SP admitted it)."""
    last_sequence: int = 0
    """Last event relayed from it."""


@dataclass(frozen=True)
class RetryUntil:
    """How a termination waits for a lower SP that fails temporarily."""

    deadline: datetime
    """When to give up (the TerminateService's time plus ``federation.terminate_deadline_s``,
    so a restart of this node does not extend it)."""
    initial_s: float
    """First delay between attempts."""
    max_s: float
    """Largest delay between attempts."""

    def left_s(self) -> float:
        """Seconds until the deadline (negative once past it)."""
        return (self.deadline - datetime.now(UTC)).total_seconds()


@dataclass
class Placed:
    """``place``'s output: the part of every member."""

    placement: dict[str, _StoredPart]
    """Part by member id."""


@dataclass
class AddressesPlanned:
    """``plan_addresses``' output: the service's space and its plan."""

    space: ServiceSpace
    """Everything the plan draws from: block, VNIs, MACs, port-id prefix, MTU."""
    block_from_pool: bool
    """Whether (part of) the space was drawn from this node's pools (and must go back)."""
    plan: AddressPlan
    """The address plan."""


@dataclass
class LocalDeployed:
    """``deploy_local``'s output: the servers to wait for, with their PoP. (Every handle
    is also in the handle store, written the moment the VIM returned it.)"""

    servers: list[tuple[str, ServerHandle]] = field(default_factory=list)
    """Servers created, with their PoP."""


@dataclass
class Delegated:
    """``delegate_subservices``' output: each delegated part's sub-service. Its
    compensator keeps here what it could not release (it may still exist below)."""

    remote: dict[_StoredDelegatedPart, RemotePart] = field(default_factory=dict)
    """Sub-services by part."""


@dataclass
class InstantiateOutputs:
    """The typed outputs of an instantiation's tasks, persisted with each task's success.

    A task returns its output; the run listener records it here (``record``) and
    stores it in the same write as the success, so later tasks, terminate and a
    recovery read it from here. ``validate``'s output, the service graph, lives in
    memory only (``InstantiateContext.graph``).
    """

    place: Placed | None = None
    plan_addresses: AddressesPlanned | None = None
    deploy_local: LocalDeployed | None = None
    delegate_subservices: Delegated | None = None

    def record(self, task: str, output: object) -> None:
        """Keep a task's output. A task of a plug-in has no place here: what it returns
        is not kept (its state is its plug-in's business).

        Raises:
            Internal: a task of the workflow returned something else than its output.
        """
        expected = _OUTPUT_TYPES.get(task)
        if expected is None:
            return
        if not isinstance(output, expected):
            raise Internal(f"task {task} returned {type(output).__name__}, not its output")
        setattr(self, task, output)


_OUTPUT_TYPES: dict[str, type] = {
    "place": Placed,
    "plan_addresses": AddressesPlanned,
    "deploy_local": LocalDeployed,
    "delegate_subservices": Delegated,
}


@dataclass
class InstantiateState:
    """Persisted progress of an instantiation: which run, and its tasks' outputs."""

    service_id: str
    """The service."""
    operation_id: str
    """The operation."""
    outputs: InstantiateOutputs = field(default_factory=InstantiateOutputs)
    """What its tasks returned."""

    @property
    def placement(self) -> dict[str, Part]:
        """``place``'s placement ({} before it ran)."""
        return dict(self.outputs.place.placement) if self.outputs.place else {}

    @property
    def remote(self) -> dict[DelegatedPart, RemotePart]:
        """``delegate_subservices``' sub-services ({} before it ran)."""
        done = self.outputs.delegate_subservices
        return dict(done.remote) if done else {}


@dataclass
class TerminateState:
    """Persisted progress of a termination."""

    service_id: str
    """The service."""
    operation_id: str
    """The operation."""


_INSTANTIATE: TypeAdapter[InstantiateState] = TypeAdapter(InstantiateState)
_TERMINATE: TypeAdapter[TerminateState] = TypeAdapter(TerminateState)


def dump_state(state: InstantiateState | TerminateState) -> str:
    """Serialise a run's state."""
    if isinstance(state, InstantiateState):
        return _INSTANTIATE.dump_json(state).decode()
    return _TERMINATE.dump_json(state).decode()


def load_instantiate_state(text: str) -> InstantiateState:
    """Read an instantiation's persisted state (also in the form stored before tasks had
    outputs: block, space, placement, plan and remote side by side)."""
    data = json.loads(text)
    if isinstance(data, dict) and "outputs" not in data and "placement" in data:
        data = _from_shared_state(data)
    return _INSTANTIATE.validate_python(data)


def _from_shared_state(data: dict[str, Any]) -> dict[str, Any]:
    """The outputs a state stored before outputs existed held (one shared mutable state)."""
    outputs: dict[str, Any] = {"place": {"placement": data.get("placement", {})}}
    if data.get("space") is not None and data.get("plan") is not None:
        outputs["plan_addresses"] = {
            "space": data["space"],
            "block_from_pool": data.get("block_from_pool", False),
            "plan": data["plan"],
        }
    if data.get("remote"):
        outputs["delegate_subservices"] = {"remote": data["remote"]}
    return {
        "service_id": data["service_id"],
        "operation_id": data["operation_id"],
        "outputs": outputs,
    }


def load_terminate_state(text: str) -> TerminateState:
    """Read a termination's persisted state."""
    return _TERMINATE.validate_json(text)


@dataclass
class InstantiateContext:
    """What instantiate tasks see: the node's collaborators, the request, and the
    outputs of the tasks before them (``state.outputs``); tasks return their own."""

    rt: NodeRuntime
    """The node's collaborators."""
    owner: str
    """Requesting account."""
    request: InstantiateRequest
    """The admitted request."""
    state: InstantiateState
    """Persisted progress."""
    created: datetime
    """When the request arrived."""
    graph: ServiceGraph | None = None
    """The resolved graph (in memory only; rebuilt by ``validate``)."""
    parts: dict[Part, ServicePart] = field(default_factory=dict)
    """Parts built by this run, as recorded (in memory: an interrupted run is compensated
    from the store, never resumed)."""
    drawn: tuple[ServiceSpace, bool] | None = None
    """The space ``plan_addresses`` took, and whether from the pools (in memory, so that a
    retried attempt plans in the same space; its output once it ends)."""
    sending: dict[DelegatedPart, RemotePart] = field(default_factory=dict)
    """Delegations in flight (in memory; ``delegate_subservices``' output once it ends,
    the part records and open intents after a restart)."""
    retry: RetryUntil | None = None
    """How the compensation of ``delegate_subservices`` waits for a lower SP that fails
    temporarily: one attempt per part (the engine retries the compensator) while the
    instantiation is compensated, until the terminate deadline when a termination runs it."""


@dataclass
class TerminateContext:
    """What terminate tasks see: the instantiation they compensate, and their own progress."""

    service: ServiceRecord
    """The service as it was when termination started."""
    state: TerminateState
    """Persisted progress."""
    instantiation: InstantiateContext
    """The instantiation, as its last persisted state left it (no request id or graph
    in memory; empty outputs when it stored none): terminate runs its compensators."""

    @property
    def rt(self) -> NodeRuntime:
        """The node's collaborators."""
        return self.instantiation.rt
