"""Network slices at one node: what the API's slice calls do.

A slice is made of services: each subnet of its template becomes a service,
instantiated through the node's ``ServiceLifecycle`` as the slice's owner
(so it is placed, delegated, addressed and WAN-booked like any other), and
each slice link puts one point of two services on a /31 (/127) with one VNI
drawn from the slice pool (``ServiceBlocks.allocate_link``). Once both
services are ACTIVE, a node with a WIM joins the WAN nodes behind the two
ports (``slice_wan``).

``create`` checks the request inside the call and records the slice in
CREATING; the work runs in the background. A failure compensates whatever
was created and leaves the slice FAILED with the error. A subnet marked
``is-shared`` reuses an ACTIVE service of the same NSD that an earlier slice
of the same owner holds as shared; storage counts the holds, and a service
is terminated when its last hold is dropped. ``delete`` undoes a slice and
is idempotent. At start-up a slice left CREATING is compensated to FAILED and
one left DELETING is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from spfed.errors import Aborted, FailedPrecondition, FieldViolation, NotFound, SpfedError
from spfed.gathering import gather_all
from spfed.lifecycle.lifecycle import ServiceLifecycle
from spfed.lifecycle.slice_plan import (
    SubnetPlan,
    check_slice_request,
    link_points,
    subnet_request,
    subnet_request_id,
)
from spfed.lifecycle.slice_wan import book_slice_link, release_slice_links, wan_node_of
from spfed.model import (
    CreateSliceRequest,
    ErrorStatus,
    Principal,
    ServiceRecord,
    ServiceState,
    SliceLinkRecord,
    SliceRecord,
    SliceState,
    SliceSubnetRecord,
)
from spfed.storage import SliceHold, SliceStore

__all__ = ["SliceManager", "link_owner"]

log = logging.getLogger(__name__)
audit = logging.getLogger("spfed.audit")

_INACTIVE = frozenset({SliceState.FAILED, SliceState.DELETED})


def _now() -> datetime:
    return datetime.now(UTC)


def link_owner(slice_id: str, link_id: str) -> str:
    """Owner of a slice link's allocations in the node's pools."""
    return f"slice:{slice_id}/{link_id}"


def _as_owner(owner: str) -> Principal:
    """The slice's owner, as whom its services are instantiated and terminated."""
    return Principal(account=owner, roles=frozenset())


class SliceManager:
    """Create, query and delete the slices of one node."""

    def __init__(self, lifecycle: ServiceLifecycle, store: SliceStore) -> None:
        self._lifecycle = lifecycle
        self._rt = lifecycle.rt
        self._store = store
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._holds = asyncio.Lock()
        """Held while a slice takes or drops a hold on a shared service."""

    # --- calls ----------------------------------------------------------------

    async def create(self, caller: Principal, request: CreateSliceRequest) -> SliceRecord:
        """Check a request, record the slice in CREATING and start creating it.

        Idempotent per request id: a repeated request returns the slice as it is.

        Raises:
            InvalidArgument: the template or request is malformed (field violations).
            FailedPrecondition: a shared subnet that is reused would join a slice link.
        """
        owner = caller.account
        if request.request_id:
            earlier = await self._store.by_request(owner, request.request_id)
            if earlier is not None:
                return earlier
        plans = check_slice_request(request, self._rt.onboarded.find_nsd)
        slice_id = uuid.uuid4().hex
        now = _now()
        async with self._holds:
            reused = await self._reusable(owner, plans)
            linked = sorted(
                {
                    p.subnet_ref
                    for link in request.template.links
                    for p in link.connection_points
                    if p.subnet_ref in reused
                }
            )
            if linked:
                raise FailedPrecondition(
                    f"shared subnets {', '.join(linked)} reuse services whose points are on"
                    " earlier slices' links; a new slice link cannot join them",
                    field_violations=[
                        FieldViolation("template.links", f"subnet '{s}' is reused") for s in linked
                    ],
                )
            record = SliceRecord(
                id=slice_id,
                name=request.name or request.template.ref.name,
                template=request.template.ref,
                state=SliceState.CREATING,
                owner=owner,
                request_id=request.request_id or slice_id,
                create_time=now,
                update_time=now,
                subnets=tuple(
                    SliceSubnetRecord(
                        p.subnet.id, p.subnet.nsd, reused.get(p.subnet.id, ""), p.subnet.is_shared
                    )
                    for p in plans
                ),
                links=tuple(
                    SliceLinkRecord(link.id, points=link.connection_points)
                    for link in request.template.links
                ),
            )
            await self._store.add(record)
            for plan in plans:
                if plan.subnet.id in reused:
                    await self._hold(record, plan, reused[plan.subnet.id])
        audit.info("event=slice_create account=%s slice=%s", owner, slice_id)
        self._spawn(slice_id, self._run_create(record, request, plans))
        return record

    async def get(self, caller: Principal, slice_id: str) -> SliceRecord:
        """A slice of the caller's (any slice, for an operator).

        Raises:
            NotFound: no such slice, or it belongs to someone else.
        """
        record = await self._store.get(slice_id)
        if record is None or not caller.owns(record.owner):
            if record is not None:
                audit.warning(
                    "event=foreign_slice_refused account=%s slice=%s code=NOT_FOUND",
                    caller.account,
                    slice_id,
                )
            raise NotFound(f"slice {slice_id} not found")
        return record

    async def list_slices(self, caller: Principal, *, include_inactive: bool) -> list[SliceRecord]:
        """The caller's slices (every slice, for an operator), newest first."""
        owner = None if caller.sees_every_service else caller.account
        states = None if include_inactive else frozenset(SliceState) - _INACTIVE
        return await self._store.find(owner, states=states)

    async def delete(self, caller: Principal, slice_id: str) -> SliceRecord:
        """Start deleting a slice; idempotent. A slice still being created is stopped and
        compensated first (it then ends DELETED).

        Raises:
            NotFound: no such slice for this caller.
        """
        record = await self.get(caller, slice_id)
        if record.state is SliceState.DELETED:
            return record
        running = self._tasks.get(slice_id)
        if running is not None and record.state is SliceState.DELETING:
            return record
        record = await self._set(record, SliceState.DELETING)
        audit.info("event=slice_delete account=%s slice=%s", caller.account, slice_id)
        self._spawn(slice_id, self._run_delete(slice_id, running))
        return record

    # --- background work ------------------------------------------------------

    def _spawn(self, slice_id: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"slice:{slice_id}")
        self._tasks[slice_id] = task

        def done(finished: asyncio.Task[None]) -> None:
            if self._tasks.get(slice_id) is finished:
                del self._tasks[slice_id]

        task.add_done_callback(done)

    async def _set(
        self, record: SliceRecord, state: SliceState, error: ErrorStatus | None = None
    ) -> SliceRecord:
        current = await self._store.get(record.id) or record
        updated = replace(current, state=state, update_time=_now(), error=error)
        await self._store.save(updated)
        return updated

    async def _run_create(
        self, record: SliceRecord, request: CreateSliceRequest, plans: list[SubnetPlan]
    ) -> None:
        try:
            await self._build(record, request, plans)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc if isinstance(exc, SpfedError) else Aborted(f"slice creation failed: {exc}")
            log.warning("event=slice_failed slice=%s error=%s", record.id, error.message)
            await self._teardown(record.id)
            await self._set(record, SliceState.FAILED, ErrorStatus.from_error(error))
            return
        await self._set(record, SliceState.ACTIVE)
        log.info("event=slice_active slice=%s", record.id)

    async def _build(
        self, record: SliceRecord, request: CreateSliceRequest, plans: list[SubnetPlan]
    ) -> None:
        caller = _as_owner(record.owner)
        links = []
        for link in record.links:
            subnet, vni = await self._rt.blocks.allocate_link(link_owner(record.id, link.id))
            links.append(
                replace(link, subnet=subnet, vni=vni, points=link_points(link.points, subnet))
            )
        record = await self._update(record.id, links=tuple(links))
        for plan in plans:
            if any(s.subnet_id == plan.subnet.id and s.service_id for s in record.subnets):
                continue  # reused
            op = await self._lifecycle.instantiate(
                caller, subnet_request(record.id, request, plan, links)
            )
            async with self._holds:
                await self._hold(record, plan, op.service_id)
            record = await self._update(
                record.id,
                subnets=tuple(
                    replace(s, service_id=op.service_id) if s.subnet_id == plan.subnet.id else s
                    for s in record.subnets
                ),
            )
        services = {}
        for held in record.subnets:
            service = await self._settled(caller, held.service_id)
            if service.state is not ServiceState.ACTIVE:
                if service.error is not None:
                    raise service.error.to_error()
                raise FailedPrecondition(
                    f"service {service.id} of subnet {held.subnet_id} is {service.state.value}"
                )
            services[held.subnet_id] = service
        wim = self._rt.wim
        if wim is None:
            return
        borders = self._rt.config.catalogue.borders
        booked = []
        for link in links:
            a, b = link.points
            nodes = (
                wan_node_of(services[a.subnet_ref], a.nsd_cp_ref, borders),
                wan_node_of(services[b.subnet_ref], b.nsd_cp_ref, borders),
            )
            asked = next(t.bandwidth_mbps for t in request.template.links if t.id == link.id)
            cid = await book_slice_link(wim, record.id, link.id, nodes, link.vni, asked)
            booked.append(replace(link, connectivity_ids=(cid,) if cid else ()))
        await self._update(record.id, links=tuple(booked))

    async def _update(self, slice_id: str, **changes: Any) -> SliceRecord:
        current = await self._store.get(slice_id)
        assert current is not None
        updated = replace(current, update_time=_now(), **changes)
        await self._store.save(updated)
        return updated

    async def _settled(self, caller: Principal, service_id: str) -> ServiceRecord:
        """The service once it is settled (active, failed or terminated)."""
        async for _ in self._lifecycle.watch(caller, service_id, 0, True, milestones=True):
            pass
        return await self._lifecycle.get_service(caller, service_id)

    async def _reusable(self, owner: str, plans: list[SubnetPlan]) -> dict[str, str]:
        """Shared subnets that an ACTIVE shared service of the owner can serve: subnet → service."""
        out = {}
        caller = _as_owner(owner)
        for plan in plans:
            if not plan.subnet.is_shared:
                continue
            for service_id in await self._store.shared_services(owner, plan.subnet.nsd):
                with contextlib.suppress(NotFound):
                    service = await self._lifecycle.get_service(caller, service_id, remote=False)
                    if service.state is ServiceState.ACTIVE:
                        out[plan.subnet.id] = service_id
                        break
        return out

    async def _hold(self, record: SliceRecord, plan: SubnetPlan, service_id: str) -> None:
        await self._store.hold(
            SliceHold(
                record.id,
                plan.subnet.id,
                service_id,
                record.owner,
                plan.subnet.nsd,
                plan.subnet.is_shared,
            )
        )

    async def _run_delete(self, slice_id: str, running: asyncio.Task[None] | None) -> None:
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await running
        try:
            await self._teardown(slice_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("event=slice_delete_failed slice=%s error=%s", slice_id, exc)
            return  # stays DELETING; a repeated delete (or the next start) finishes it
        record = await self._store.get(slice_id)
        if record is not None:
            await self._set(record, SliceState.DELETED)
        log.info("event=slice_deleted slice=%s", slice_id)

    async def _teardown(self, slice_id: str) -> None:
        """Undo a slice: its WAN connectivity, the services only it holds, its link
        allocations. Idempotent."""
        record = await self._store.get(slice_id)
        if record is None:
            return
        caller = _as_owner(record.owner)
        await release_slice_links(self._rt.wim, slice_id)
        ending: list[tuple[str, str]] = []  # (subnet, service) to end
        for subnet in record.subnets:
            async with self._holds:
                service_id, left = await self._store.drop(slice_id, subnet.subnet_id)
            if not service_id:
                # Instantiated, but the node stopped before the slice held it: only this
                # slice used its request id, so it is this slice's alone.
                match = await self._rt.services.find_request(
                    record.owner, subnet_request_id(slice_id, subnet.subnet_id)
                )
                service_id, left = (match.service_id, 0) if match is not None else ("", 0)
            if not service_id or left:
                continue
            ending.append((subnet.subnet_id, service_id))
        # the services end concurrently, each down its own tree
        await gather_all(*(self._terminate(caller, slice_id, s, sid) for s, sid in ending))
        for link in record.links:
            await self._rt.blocks.release(link_owner(slice_id, link.id))

    async def _terminate(
        self, caller: Principal, slice_id: str, subnet_id: str, service_id: str
    ) -> None:
        try:
            service = await self._lifecycle.get_service(caller, service_id, remote=False)
        except NotFound:
            return
        if service.state is ServiceState.TERMINATED:
            return
        await self._lifecycle.terminate(caller, service_id, f"slice-delete:{slice_id}/{subnet_id}")
        await self._settled(caller, service_id)

    # --- start and stop -------------------------------------------------------

    async def recover(self) -> int:
        """Compensate slices left CREATING to FAILED, and finish deleting those left
        DELETING; how many were picked up."""
        count = 0
        for record in await self._store.find(
            None, states=frozenset({SliceState.CREATING, SliceState.DELETING})
        ):
            count += 1
            if record.state is SliceState.CREATING:
                error = Aborted("the node restarted while the slice was being created")
                self._spawn(record.id, self._compensate(record, ErrorStatus.from_error(error)))
            else:
                self._spawn(record.id, self._run_delete(record.id, None))
        return count

    async def _compensate(self, record: SliceRecord, error: ErrorStatus) -> None:
        try:
            await self._teardown(record.id)
        finally:
            await self._set(record, SliceState.FAILED, error)

    async def shutdown(self) -> None:
        """Interrupt the slices' background work (picked up again at the next start)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
