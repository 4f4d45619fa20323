"""The terminate workflow: the instantiation's schedule, reversed.

    terminate_subservices ∥ undeploy_local ∥ disconnect_wan → release_addresses

Every task is idempotent, so a termination interrupted by a restart simply
runs again, and a failed one can be retried with another TerminateService.
Termination cascades: each lower SP terminates its sub-service the same way.
"""

from __future__ import annotations

from spfed.engine import Schedule, TaskRegistry
from spfed.lifecycle.context import RemotePart, TerminateContext
from spfed.lifecycle.instantiate import release_delegated_parts, undeploy_local_parts
from spfed.lifecycle.wan import release_wan
from spfed.model import PartKind

__all__ = ["TERMINATE", "terminate_tasks"]

TERMINATE = Schedule.of(
    ("terminate_subservices", "undeploy_local", "disconnect_wan"), "release_addresses"
)

terminate_tasks: TaskRegistry[TerminateContext] = TaskRegistry()


@terminate_tasks.task("terminate_subservices")
async def terminate_subservices(ctx: TerminateContext) -> None:
    """Terminate every delegated part's sub-service and wait until it is released."""
    known = ctx.instantiation.remote if ctx.instantiation else {}
    remotes = {
        part.id: RemotePart(
            part.lower_sp,
            part.remote_service_id,
            known[part.id].last_sequence if part.id in known else 0,
        )
        for part in ctx.service.parts
        if part.kind is PartKind.DELEGATED
    }
    await release_delegated_parts(ctx.rt, ctx.state.service_id, ctx.state.operation_id, remotes)


@terminate_tasks.task("undeploy_local")
async def undeploy_local(ctx: TerminateContext) -> None:
    """Delete every VIM resource of the local parts."""
    parts = [p.id for p in ctx.service.parts if p.kind is PartKind.LOCAL]
    await undeploy_local_parts(ctx.rt, ctx.state.service_id, parts)


@terminate_tasks.task("disconnect_wan")
async def disconnect_wan(ctx: TerminateContext) -> None:
    """Delete the WIM's connectivity services of the service, and free their bandwidth."""
    await release_wan(ctx.rt.wim, ctx.state.service_id)


@terminate_tasks.task("release_addresses")
async def release_addresses(ctx: TerminateContext) -> None:
    """Return the service's block to the node's pool, if it came from there."""
    await ctx.rt.blocks.release(ctx.state.service_id)
