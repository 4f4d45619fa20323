"""The terminate workflow: the instantiation's schedule, reversed.

    terminate_subservices ∥ undeploy_local ∥ disconnect_wan → release_addresses

Every task is idempotent, so a termination interrupted by a restart simply
runs again, and a failed one can be retried with another TerminateService.
Termination cascades: each lower SP terminates its sub-service the same way.

It releases whatever the service holds, whichever way its instantiation
ended: recorded parts, and also what a failed instantiation may have left
without a record (resources its handles name on the PoPs of its placement,
sub-services sent whose answer was never recorded). A lower SP that fails
temporarily is retried until ``federation.terminate_deadline_s`` after the
TerminateService; meanwhile the service stays TERMINATING. The address block
goes back last, once nothing below can still be using it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from spfed.config import FederationConfig
from spfed.engine import Schedule, TaskRegistry
from spfed.lifecycle.context import RemotePart, TerminateContext
from spfed.lifecycle.release import RetryUntil, release_delegated_parts
from spfed.lifecycle.undo import release_service_wan, undeploy_local_parts
from spfed.model import DelegatedPart, IntentKind, LocalPart, parse_part

__all__ = ["TERMINATE", "terminate_registry", "terminate_tasks"]

TERMINATE = Schedule.of(
    ("terminate_subservices", "undeploy_local", "disconnect_wan"), "release_addresses"
)

terminate_tasks: TaskRegistry[TerminateContext] = TaskRegistry()


def terminate_registry(federation: FederationConfig) -> TaskRegistry[TerminateContext]:
    """The terminate tasks as a node runs them.

    ``terminate_subservices`` retries unreachable lower SPs itself, until the
    terminate deadline; so its one attempt is bounded by that deadline (plus
    one last release), not by ``workflow.task_timeout_s``, and the engine
    does not retry it on top.
    """
    registry: TaskRegistry[TerminateContext] = TaskRegistry()
    fed = federation
    bound = fed.terminate_deadline_s + fed.delegation_timeout_s + fed.call_timeout_s
    for definition in terminate_tasks:
        if definition.id == "terminate_subservices":
            registry.add(replace(definition, timeout_s=bound, max_attempts=1, owner=None))
        else:
            registry.add(definition)
    return registry


async def _held_subservices(ctx: TerminateContext) -> dict[DelegatedPart, RemotePart]:
    """Every delegated part whose sub-service may still exist at its lower SP.

    The recorded parts; and the parts sent without a recorded answer (no id:
    found by request id): those the instantiation's state names, and those whose
    delegation intent is still open. A part the instantiation knew by id but
    has no record any more was released by its compensation.
    """
    known = ctx.instantiation.remote if ctx.instantiation else {}
    held: dict[DelegatedPart, RemotePart] = {}
    for recorded in ctx.service.parts:
        match parse_part(recorded.id):
            case DelegatedPart() as part:
                held[part] = RemotePart(
                    recorded.lower_sp,
                    recorded.remote_service_id,
                    known[part].last_sequence if part in known else 0,
                )
    for part, remote in known.items():
        if part not in held and not remote.service_id:
            held[part] = RemotePart(remote.lower)
    for intent in await ctx.rt.intents.of_service(ctx.state.service_id):
        if intent.kind is IntentKind.DELEGATION:
            match parse_part(intent.part):
                case DelegatedPart() as part if part not in held and part.lower in ctx.rt.lowers:
                    held[part] = RemotePart(part.lower)
    return held


@terminate_tasks.task("terminate_subservices")
async def terminate_subservices(ctx: TerminateContext) -> None:
    """Terminate every delegated part's sub-service and wait until it is released.

    Raises:
        SpfedError: a lower SP refused, or still failed temporarily (unreachable,
            not settling) when the terminate deadline passed; names the lower SP.
    """
    rt = ctx.rt
    held = await _held_subservices(ctx)
    if not held:
        return
    fed = rt.config.federation
    operation = await rt.services.get_operation(ctx.state.operation_id)
    started = operation.create_time if operation is not None else datetime.now(UTC)
    retry = RetryUntil(
        started + timedelta(seconds=fed.terminate_deadline_s),
        fed.reconnect_initial_s,
        fed.reconnect_max_s,
    )
    await release_delegated_parts(rt, ctx.state.service_id, ctx.state.operation_id, held, retry)


@terminate_tasks.task("undeploy_local")
async def undeploy_local(ctx: TerminateContext) -> None:
    """Delete every VIM resource of the local parts.

    Also those of a part whose deployment failed before its record was written:
    its resources are recorded one by one, as handles, and carry its intent's tag,
    on the PoP it was placed on (by the placement, or by its open intent).
    """
    rt = ctx.rt
    recorded = [parse_part(p.id) for p in ctx.service.parts]
    parts = {p for p in recorded if isinstance(p, LocalPart)}
    if ctx.instantiation is not None:
        parts |= {p for p in ctx.instantiation.placement.values() if isinstance(p, LocalPart)}
    for intent in await rt.intents.of_service(ctx.state.service_id):
        if intent.kind is IntentKind.VIM_PART and intent.target in rt.vims:
            parts.add(LocalPart(intent.target))
    await undeploy_local_parts(ctx.rt, ctx.state.service_id, sorted(parts))


@terminate_tasks.task("disconnect_wan")
async def disconnect_wan(ctx: TerminateContext) -> None:
    """Delete the WIM's connectivity services of the service, and free their bandwidth."""
    await release_service_wan(ctx.rt, ctx.state.service_id)


@terminate_tasks.task("release_addresses")
async def release_addresses(ctx: TerminateContext) -> None:
    """Return the service's block to the node's pool, if it came from there."""
    await ctx.rt.blocks.release(ctx.state.service_id)
