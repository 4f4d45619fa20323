"""The state a workflow run carries from task to task.

``*State`` is what is persisted after every task (JSON through pydantic): just
enough to resume, or to compensate after a restart. ``*Context`` adds what
lives only in memory (the collaborators, the resolved graph).

Parts are typed in memory and stored in their text form (``pop:<name>``,
``sp:<lower>``), so the stored JSON is what it was when parts were strings and
a node restarts on an older database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer, PlainValidator, TypeAdapter

from addressing import AddressPlan, ServiceSpace
from lower_sp.local.vim import ServerHandle
from spfed.errors import InvalidArgument
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
    "InstantiateContext",
    "InstantiateState",
    "RemotePart",
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


@dataclass
class InstantiateState:
    """Persisted progress of an instantiation."""

    service_id: str
    """The service."""
    operation_id: str
    """The operation."""
    block: str = ""
    """The service's address block."""
    space: ServiceSpace | None = None
    """Everything its plan draws from: block, VNIs, MACs, port-id prefix, MTU."""
    block_from_pool: bool = False
    """Whether (part of) the space was drawn from this node's pools (and must go back)."""
    placement: dict[str, _StoredPart] = field(default_factory=dict)
    """Part by member id."""
    plan: AddressPlan | None = None
    """The address plan."""
    remote: dict[_StoredDelegatedPart, RemotePart] = field(default_factory=dict)
    """Delegated parts' sub-services, by part: every part sent to a lower SP, until
    compensation released its sub-service (what is left may still exist below)."""


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
    """Read an instantiation's persisted state."""
    return _INSTANTIATE.validate_json(text)


def load_terminate_state(text: str) -> TerminateState:
    """Read a termination's persisted state."""
    return _TERMINATE.validate_json(text)


@dataclass
class InstantiateContext:
    """What instantiate tasks see."""

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
    servers: list[tuple[str, ServerHandle]] = field(default_factory=list)
    """Servers this run created, with their PoP (in memory, for ``activate``)."""


@dataclass
class TerminateContext:
    """What terminate tasks see."""

    rt: NodeRuntime
    """The node's collaborators."""
    service: ServiceRecord
    """The service as it was when termination started."""
    state: TerminateState
    """Persisted progress."""
    instantiation: InstantiateState | None = None
    """The instantiation's final state (block, remote parts), if known."""
