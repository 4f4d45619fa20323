"""The state a workflow run carries from task to task.

``*State`` is what is persisted after every task (JSON through pydantic): just
enough to resume, or to compensate after a restart. ``*Context`` adds what
lives only in memory (the collaborators, the resolved graph).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import TypeAdapter

from addressing import AddressPlan, ServiceSpace
from lower_sp.local.vim import ServerHandle
from spfed.lifecycle.runtime import NodeRuntime
from spfed.model import InstantiateRequest, ServicePart, ServiceRecord
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
    placement: dict[str, str] = field(default_factory=dict)
    """Part id by member id."""
    plan: AddressPlan | None = None
    """The address plan."""
    remote: dict[str, RemotePart] = field(default_factory=dict)
    """Delegated parts' sub-services, by part id: every part sent to a lower SP, until
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
    parts: dict[str, ServicePart] = field(default_factory=dict)
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
