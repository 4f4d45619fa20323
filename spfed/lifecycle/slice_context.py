"""What the slice workflows' tasks work with: the run's stored state and its collaborators.

``SliceRunState`` is the run's context in the engine's run store (JSON): which slice,
whose, and which subnets reuse a shared service an earlier slice holds. Everything
else a task needs is found by a name derived from the slice (its record and holds in
the slice store, its pool allocations by ``link_owner``, its subnets' services by
``subnet_request_id``, its WIM connectivity by ``slice:<slice>/``), so a compensator
undoes exactly what the slice made, whatever the last stored report says.

``SliceContext`` adds what lives only in memory: the node's collaborators, and for a
creation run the request and its subnets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from spfed.errors import NotFound
from spfed.lifecycle.lifecycle import ServiceLifecycle
from spfed.lifecycle.runtime import NodeRuntime
from spfed.lifecycle.slice_plan import SubnetPlan, subnet_request_id
from spfed.model import (
    CreateSliceRequest,
    Principal,
    ServiceRecord,
    ServiceState,
    SliceRecord,
    SliceState,
    SliceSubnetRecord,
)
from spfed.storage import SliceHold, SliceStore

__all__ = [
    "SliceContext",
    "SliceRunState",
    "dump_slice_state",
    "link_owner",
    "load_slice_state",
    "slice_principal",
]


def link_owner(slice_id: str, link_id: str) -> str:
    """Owner of a slice link's allocations in the node's pools."""
    return f"slice:{slice_id}/{link_id}"


def slice_principal(owner: str) -> Principal:
    """The slice's owner, as whom its services are instantiated and terminated."""
    return Principal(account=owner, roles=frozenset())


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SliceRunState:
    """A slice run's context, stored with each of its task reports."""

    slice_id: str
    """The slice."""
    owner: str
    """Its owner's account."""
    reused: dict[str, str] = field(default_factory=dict)
    """Shared service reused, by subnet id: held since the CreateSlice call, not made by
    this slice."""


_STATE: TypeAdapter[SliceRunState] = TypeAdapter(SliceRunState)


def dump_slice_state(state: SliceRunState) -> str:
    """A run's context as stored."""
    return _STATE.dump_json(state).decode()


def load_slice_state(text: str) -> SliceRunState:
    """A run's context from its stored text (a ``pydantic.ValidationError`` if malformed)."""
    return _STATE.validate_json(text)


@dataclass
class SliceContext:
    """What the slice tasks see."""

    lifecycle: ServiceLifecycle
    """The node's service lifecycle: subnets are its services."""
    store: SliceStore
    """Slice records and holds."""
    holds: asyncio.Lock
    """Held while a slice decides on or drops a hold on a shared service (one per node)."""
    state: SliceRunState
    """The run's stored context."""
    request: CreateSliceRequest | None = None
    """The CreateSlice request (creation runs only; a creation is never resumed)."""
    plans: Sequence[SubnetPlan] = ()
    """Its subnets with their NSDs (creation runs only)."""

    @property
    def rt(self) -> NodeRuntime:
        """The node's collaborators."""
        return self.lifecycle.rt

    @property
    def slice_id(self) -> str:
        """The slice."""
        return self.state.slice_id

    @property
    def caller(self) -> Principal:
        """The slice's owner."""
        return slice_principal(self.state.owner)

    async def load(self) -> SliceRecord:
        """The slice's record.

        Raises:
            NotFound: the slice is not stored (never, once its run exists).
        """
        record = await self.store.get(self.slice_id)
        if record is None:
            raise NotFound(f"slice {self.slice_id} not found")
        return record

    async def update(self, **changes: Any) -> SliceRecord:
        """Store the slice's record with ``changes`` (and a new update time)."""
        updated = replace(await self.load(), update_time=_now(), **changes)
        await self.store.save(updated)
        return updated

    async def set_state(self, state: SliceState) -> SliceRecord:
        """Store the slice in ``state`` (error cleared)."""
        return await self.update(state=state, error=None)

    async def hold(self, subnet: SliceSubnetRecord, service_id: str) -> None:
        """Record the slice's hold on the service of one of its subnets (idempotent)."""
        await self.store.hold(
            SliceHold(
                self.slice_id,
                subnet.subnet_id,
                service_id,
                self.state.owner,
                subnet.nsd,
                subnet.shared,
            )
        )

    async def own_service(self, subnet_id: str) -> str:
        """The service this slice's own request made for a subnet ("" for none)."""
        match = await self.rt.services.find_request(
            self.state.owner, subnet_request_id(self.slice_id, subnet_id)
        )
        return match.service_id if match is not None else ""

    async def settled(self, service_id: str) -> ServiceRecord:
        """A service once settled (active, failed or terminated), with its tree.

        Raises:
            NotFound: no such service of the owner.
        """
        async for _ in self.lifecycle.watch(self.caller, service_id, 0, True, milestones=True):
            pass
        return await self.lifecycle.get_service(self.caller, service_id)

    async def start_terminating(self, subnet_id: str, service_id: str) -> bool:
        """Start terminating a subnet's service unless it is gone or TERMINATED already
        (idempotent: one request id per slice and subnet); whether to wait for it."""
        try:
            service = await self.lifecycle.get_service(self.caller, service_id, remote=False)
        except NotFound:
            return False
        if service.state is ServiceState.TERMINATED:
            return False
        await self.lifecycle.terminate(
            self.caller, service_id, f"slice-delete:{self.slice_id}/{subnet_id}"
        )
        return True

    async def wait_terminated(self, service_id: str) -> None:
        """Wait until a service being terminated settles."""
        with contextlib.suppress(NotFound):
            await self.settled(service_id)
