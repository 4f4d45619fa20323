"""The slice workflows: creating a slice, and deleting it, as tasks of the task engine.

Create (``SLICE_CREATE``), each task with the compensator that undoes exactly it:

- ``claim_shared_subnets``: hold the shared services the slice reuses;
  undone by ``release_shared_subnets``.
- ``allocate_slice_links``: a /31 (/127) and a VNI per slice link, from the slice pool;
  undone by ``free_slice_links``.
- ``instantiate_subnets``: one service per other subnet, held by the slice;
  undone by ``release_subnets``.
- ``await_subnets``: wait until every subnet's service is ACTIVE (makes nothing).
- ``connect_slice_links``: WIM connectivity per slice link (none without a WIM);
  undone by ``disconnect_slice_links``.
- ``activate_slice``: the slice is ACTIVE (the last step; nothing to undo).

Delete (``SLICE_DELETE``) is the compensators as tasks, in the order compensation runs
them: ``disconnect_slice_links → release_subnets → release_shared_subnets →
free_slice_links``. So a failed creation, a creation cut by a restart and a deletion
undo a slice along one path.

Each compensator finds what to undo by names derived from the slice, never by what a
run managed to report: pool allocations by ``link_owner``, holds in the slice store,
services by the subnet's request id, WIM connectivity by the ``slice:<slice>/`` prefix.
It undoes only what is there, so it may run any number of times, after any crash.

Task ids are distinct from the service workflows' ones: ``faults.crash_at`` names a
point by task (``slice_create/<task>/<phase>``, ``slice_delete/<task>/<phase>``).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from spfed.config import NodeConfig
from spfed.engine import Schedule, TaskDefinition, TaskFunction, TaskId, TaskRegistry
from spfed.errors import FailedPrecondition
from spfed.gathering import gather_all
from spfed.lifecycle.instantiate import INSTANTIATE
from spfed.lifecycle.slice_context import SliceContext, link_owner
from spfed.lifecycle.slice_plan import link_points, subnet_request
from spfed.lifecycle.slice_wan import book_slice_link, release_slice_links, wan_node_of
from spfed.model import ServiceState, SliceState, SliceSubnetRecord

__all__ = [
    "SLICE_CREATE",
    "SLICE_CREATE_WORKFLOW",
    "SLICE_DELETE",
    "SLICE_DELETE_WORKFLOW",
    "slice_registry",
]

log = logging.getLogger(__name__)

SLICE_CREATE_WORKFLOW = "slice_create"
"""The creation workflow's name (in the run store and in ``faults.crash_at``)."""
SLICE_DELETE_WORKFLOW = "slice_delete"
"""The deletion workflow's name."""

SLICE_CREATE = Schedule.of(
    "claim_shared_subnets",
    "allocate_slice_links",
    "instantiate_subnets",
    "await_subnets",
    "connect_slice_links",
    "activate_slice",
)
"""Creating a slice."""

SLICE_DELETE = Schedule.of(
    "disconnect_slice_links", "release_subnets", "release_shared_subnets", "free_slice_links"
)
"""Deleting a slice: the creation's compensators, in compensation order."""


# --- claim_shared_subnets / release_shared_subnets ------------------------------------


async def claim_shared_subnets(ctx: SliceContext) -> None:
    """Hold the shared services the slice reuses.

    The CreateSlice call holds them already, in the same critical section that found
    them ACTIVE (so that no other slice's deletion ends one meanwhile); this task makes
    those holds part of the run, so that its compensator drops them.
    """
    if not ctx.state.reused:
        return
    record = await ctx.load()
    for subnet in record.subnets:
        service_id = ctx.state.reused.get(subnet.subnet_id)
        if service_id:
            await ctx.hold(subnet, service_id)


async def release_shared_subnets(ctx: SliceContext) -> None:
    """Drop the holds on reused shared services; a service left unheld is terminated."""
    record = await ctx.load()
    await _release(ctx, [s for s in record.subnets if s.subnet_id in ctx.state.reused])


# --- allocate_slice_links / free_slice_links --------------------------------------------


async def allocate_slice_links(ctx: SliceContext) -> None:
    """Draw a /31 (/127) and a VNI from the slice pool for every slice link, and record
    them (with each point's address) on the slice.

    A link recorded with its subnet is done; for any other, what an interrupted attempt
    may have drawn under the link's owner is released before drawing again.
    """
    record = await ctx.load()
    if all(link.subnet for link in record.links):
        return
    blocks = ctx.rt.blocks
    links = []
    for link in record.links:
        if link.subnet:
            links.append(link)
            continue
        owner = link_owner(ctx.slice_id, link.id)
        await blocks.release(owner)
        subnet, vni = await blocks.allocate_link(owner)
        links.append(replace(link, subnet=subnet, vni=vni, points=link_points(link.points, subnet)))
    await ctx.update(links=tuple(links))


async def free_slice_links(ctx: SliceContext) -> None:
    """Return every slice link's subnet and VNI to the pools."""
    record = await ctx.load()
    for link in record.links:
        await ctx.rt.blocks.release(link_owner(ctx.slice_id, link.id))


# --- instantiate_subnets / release_subnets ----------------------------------------------


async def instantiate_subnets(ctx: SliceContext) -> None:
    """Request the service of every subnet that does not reuse one, as the slice's owner,
    hold it, and record it on the slice.

    Each request has the subnet's deterministic request id, so a repeated attempt gets
    the service the first one made.
    """
    assert ctx.request is not None, "a creation run has its request"
    record = await ctx.load()
    for plan in ctx.plans:
        subnet_id = plan.subnet.id
        if subnet_id in ctx.state.reused:
            continue
        op = await ctx.lifecycle.instantiate(
            ctx.caller, subnet_request(ctx.slice_id, ctx.request, plan, record.links)
        )
        subnet = next(s for s in record.subnets if s.subnet_id == subnet_id)
        async with ctx.holds:
            await ctx.hold(subnet, op.service_id)
        record = await ctx.update(
            subnets=tuple(
                replace(s, service_id=op.service_id) if s.subnet_id == subnet_id else s
                for s in record.subnets
            )
        )


async def release_subnets(ctx: SliceContext) -> None:
    """Drop the slice's holds on the services it made for its subnets, terminate those no
    other slice holds, and wait until they are terminated.

    A subnet's service is found by the hold, and by the subnet's request id: the node may
    have stopped between requesting a service and holding it.
    """
    record = await ctx.load()
    await _release(ctx, [s for s in record.subnets if s.subnet_id not in ctx.state.reused])


async def _release(ctx: SliceContext, subnets: list[SliceSubnetRecord]) -> None:
    ending: list[str] = []
    for subnet in subnets:
        # Dropping a hold and starting the termination of a service left unheld happen
        # under the lock, so a CreateSlice deciding meanwhile sees it TERMINATING, never
        # ACTIVE, and does not reuse it.
        async with ctx.holds:
            held, left = await ctx.store.drop(ctx.slice_id, subnet.subnet_id)
            own = await ctx.own_service(subnet.subnet_id)
            for service_id in dict.fromkeys(s for s in (held, own) if s):
                still_held = left if service_id == held else await ctx.store.holders(service_id)
                if still_held:
                    continue
                if await ctx.start_terminating(subnet.subnet_id, service_id):
                    ending.append(service_id)
    # the services end concurrently, each down its own tree
    await gather_all(*(ctx.wait_terminated(service_id) for service_id in ending))


# --- await_subnets ----------------------------------------------------------------------


async def await_subnets(ctx: SliceContext) -> None:
    """Wait until every subnet's service has settled; all must be ACTIVE.

    Raises:
        SpfedError: the error a service failed with.
        FailedPrecondition: a service settled otherwise (e.g. terminated meanwhile).
    """
    record = await ctx.load()
    for subnet in record.subnets:
        service = await ctx.settled(subnet.service_id)
        if service.state is not ServiceState.ACTIVE:
            if service.error is not None:
                raise service.error.to_error()
            raise FailedPrecondition(
                f"service {service.id} of subnet {subnet.subnet_id} is {service.state.value}"
            )


# --- connect_slice_links / disconnect_slice_links ---------------------------------------


async def connect_slice_links(ctx: SliceContext) -> None:
    """On a node with a WIM, join the WAN nodes behind each slice link's two ports and
    record the connectivity on the slice; nothing without a WIM."""
    wim = ctx.rt.wim
    if wim is None:
        return
    assert ctx.request is not None, "a creation run has its request"
    record = await ctx.load()
    services = {
        s.subnet_id: await ctx.lifecycle.get_service(ctx.caller, s.service_id)
        for s in record.subnets
    }
    borders = ctx.rt.config.catalogue.borders
    asked = {link.id: link.bandwidth_mbps for link in ctx.request.template.links}
    booked = []
    for link in record.links:
        a, b = link.points
        nodes = (
            wan_node_of(services[a.subnet_ref], a.nsd_cp_ref, borders),
            wan_node_of(services[b.subnet_ref], b.nsd_cp_ref, borders),
        )
        cid = await book_slice_link(wim, ctx.slice_id, link.id, nodes, link.vni, asked[link.id])
        booked.append(replace(link, connectivity_ids=(cid,) if cid else ()))
    await ctx.update(links=tuple(booked))


async def disconnect_slice_links(ctx: SliceContext) -> None:
    """Delete every WIM connectivity service of the slice (nothing without a WIM)."""
    await release_slice_links(ctx.rt.wim, ctx.slice_id)


# --- activate_slice ---------------------------------------------------------------------


async def activate_slice(ctx: SliceContext) -> None:
    """Record the slice ACTIVE, unless a deletion has begun meanwhile (it stays DELETING)."""
    if (await ctx.load()).state is SliceState.CREATING:
        await ctx.set_state(SliceState.ACTIVE)
        log.info("event=slice_active slice=%s", ctx.slice_id)


# --- the registry -----------------------------------------------------------------------


def slice_registry(config: NodeConfig) -> TaskRegistry[SliceContext]:
    """The slice tasks, with the bounds of this node's configuration.

    A task's bound holds for its compensator too. Those that wait for services get
    bounds of their own: ``await_subnets`` as long as an instantiation may take (the
    delegation timeout, plus every task of it with all its attempts), and the tasks that
    terminate services that much more the termination's own deadline (a termination
    aborts a running instantiation first). Waiting again does not help a service that
    settled otherwise, so ``await_subnets`` is tried once.
    """
    wf, fed = config.workflow, config.federation
    settle_s = fed.delegation_timeout_s + len(INSTANTIATE.task_ids()) * (
        wf.task_timeout_s * wf.max_attempts
    )
    release_s = settle_s + fed.terminate_deadline_s + fed.delegation_timeout_s + fed.call_timeout_s
    registry: TaskRegistry[SliceContext] = TaskRegistry()

    def add(
        task: str,
        run: TaskFunction[SliceContext],
        undo: TaskFunction[SliceContext] | None = None,
        *,
        timeout_s: float | None = None,
        max_attempts: int | None = None,
    ) -> None:
        registry.add(
            TaskDefinition(TaskId(task), run, undo, timeout_s=timeout_s, max_attempts=max_attempts)
        )

    add("claim_shared_subnets", claim_shared_subnets, release_shared_subnets, timeout_s=release_s)
    add("allocate_slice_links", allocate_slice_links, free_slice_links)
    add("instantiate_subnets", instantiate_subnets, release_subnets, timeout_s=release_s)
    add("await_subnets", await_subnets, timeout_s=settle_s, max_attempts=1)
    add("connect_slice_links", connect_slice_links, disconnect_slice_links)
    add("activate_slice", activate_slice)
    add("disconnect_slice_links", disconnect_slice_links)
    add("release_subnets", release_subnets, timeout_s=release_s)
    add("release_shared_subnets", release_shared_subnets, timeout_s=release_s)
    add("free_slice_links", free_slice_links)
    return registry
