"""Undoing a service's external effects, and reconciling the intent journal at start-up.

Whatever undoes an effect (a compensator, a terminate task, the start-up
reconciliation) goes through here, so there is one way to undo each kind:

* a local part: delete its recorded handles, then every object on its PoP that
  still carries the part's tag (created, but cut off before its handle was
  recorded), then close the part's intent;
* the service's WAN bookings: delete its connectivity services, then close
  its WAN intent;
* a delegated part: ``spfed.lifecycle.release`` closes its intent once the
  sub-service is released.

What a service may still hold is found the same way for a compensation and for
a termination (which runs the instantiation's compensators): from the run's
outputs, the service's part records and its open intents (``held_local_parts``,
``held_subservices``), so an effect whose answer never reached a record is
undone too.

``reconcile_intents`` runs once at start-up, after the recovery of unfinished
runs was started. An intent of a service that is ACTIVE, or whose operation
still runs, belongs to that service's life; every other open intent (its
service FAILED or TERMINATED) is an effect that escaped its undo, and is
undone now. Delegations of a FAILED service are left to TerminateService,
which releases them with retries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lower_sp.local.leaves import Handle, decode_handle, handle_id, undeploy
from spfed.errors import SpfedError
from spfed.gathering import gather_all
from spfed.lifecycle.context import Delegated, InstantiateState, RemotePart
from spfed.lifecycle.ports import (
    NodeIdentity,
    ReleasePorts,
    UndeployPorts,
    UndoPorts,
    WanReleasePorts,
)
from spfed.lifecycle.release import release_delegated_parts
from spfed.lifecycle.wan import connectivity_prefix, release_wan
from spfed.model import (
    DelegatedPart,
    Intent,
    IntentKind,
    LocalPart,
    ServiceState,
    parse_part,
    vim_tag,
)

__all__ = [
    "held_local_parts",
    "held_subservices",
    "part_intent",
    "reconcile_intents",
    "release_service_wan",
    "undeploy_local_parts",
    "wan_intent",
]

log = logging.getLogger(__name__)


def part_intent(rt: NodeIdentity, service_id: str, part: LocalPart) -> Intent:
    """The intent a local part's VIM creations are announced with."""
    return Intent(
        vim_tag(rt.node_id, service_id, str(part)),
        IntentKind.VIM_PART,
        service_id,
        part.pop,
        str(part),
    )


def wan_intent(service_id: str) -> Intent:
    """The intent a service's WAN bookings are announced with."""
    return Intent(connectivity_prefix(service_id), IntentKind.WAN, service_id, "")


async def held_local_parts(rt: UndeployPorts, state: InstantiateState) -> list[LocalPart]:
    """Every local part that may hold VIM resources of the service: placed, recorded, or
    named by an open intent (on a PoP the node still has)."""
    parts = {p for p in state.placement.values() if isinstance(p, LocalPart)}
    record = await rt.services.get_service(state.service_id)
    for recorded in record.parts if record else ():
        match parse_part(recorded.id):
            case LocalPart() as part:
                parts.add(part)
    for intent in await rt.intents.of_service(state.service_id):
        if intent.kind is IntentKind.VIM_PART and intent.target in rt.vims:
            parts.add(LocalPart(intent.target))
    return sorted(parts)


async def held_subservices(
    rt: ReleasePorts, state: InstantiateState, sending: dict[DelegatedPart, RemotePart]
) -> dict[DelegatedPart, RemotePart]:
    """Every delegated part whose sub-service may still exist below, kept in
    ``state.outputs.delegate_subservices`` (which the release then empties part by part).

    The task's output when it succeeded, else what it had in flight (``sending``,
    once: a retried compensation must not bring back what an earlier attempt
    released); plus the parts recorded with a sub-service id, and the parts placed
    or named by an open intent whose sub-service was never recorded (found below by
    request id). Lower SPs the node no longer has are left out: nothing can reach them.
    """
    outputs = state.outputs
    if outputs.delegate_subservices is None:
        outputs.delegate_subservices = Delegated(dict(sending))
    remote = outputs.delegate_subservices.remote
    record = await rt.services.get_service(state.service_id)
    for recorded in record.parts if record else ():
        match parse_part(recorded.id):
            case DelegatedPart() as part if recorded.remote_service_id:
                known = remote.setdefault(part, RemotePart(recorded.lower_sp))
                known.service_id = known.service_id or recorded.remote_service_id
    placed = [p for p in state.placement.values() if isinstance(p, DelegatedPart)]
    named = [
        parse_part(i.part)
        for i in await rt.intents.of_service(state.service_id)
        if i.kind is IntentKind.DELEGATION
    ]
    for candidate in (*placed, *named):
        if isinstance(candidate, DelegatedPart) and candidate.lower in rt.lowers:
            remote.setdefault(candidate, RemotePart(candidate.lower))
    for unreachable in [p for p in remote if p.lower not in rt.lowers]:
        log.warning(
            "event=lower_sp_unknown service=%s part=%s lower_sp=%s",
            state.service_id,
            unreachable,
            unreachable.lower,
        )
        del remote[unreachable]
    return remote


async def undeploy_local_parts(
    rt: UndeployPorts, service_id: str, parts: Sequence[LocalPart]
) -> None:
    """Delete every resource of local parts, recorded or only tagged; drop their records
    and close their intents."""

    async def one(part: LocalPart) -> None:
        pop = part.pop
        vim = rt.vims[pop]
        stored = await rt.handles.of_part(service_id, str(part))
        handles = [(h.kind, decode_handle(h.kind, h.handle)) for h in stored]

        async def forget(kind: str, resource_id: str) -> None:
            await rt.handles.remove(pop, kind, resource_id)

        # Recorded and tagged together, in one pass (servers, then ports, then networks):
        # a recorded network may hold a port that only its tag names.
        intent = part_intent(rt, service_id, part)
        tagged = await vim.tagged(intent.key)
        known = {(kind, handle_id(h)) for kind, h in handles}
        orphans: list[tuple[str, Handle]] = [
            (kind, h)
            for kind, group in (
                ("server", tagged.servers),
                ("port", tagged.ports),
                ("network", tagged.networks),
            )
            for h in group
            if (kind, handle_id(h)) not in known
        ]
        if orphans:
            log.warning(
                "event=orphans_removed service=%s part=%s count=%d",
                service_id,
                part,
                len(orphans),
            )
        await undeploy(vim, [*handles, *orphans], forget)
        await rt.services.remove_part(service_id, str(part))
        await rt.intents.close(intent.key)

    await gather_all(*(one(p) for p in parts))
    if parts:
        rt.capacity_changed()


async def release_service_wan(rt: WanReleasePorts, service_id: str) -> None:
    """Delete the service's WIM connectivity services and close its WAN intent."""
    await release_wan(rt.wim, service_id)
    await rt.intents.close(wan_intent(service_id).key)


async def reconcile_intents(rt: UndoPorts) -> int:
    """Undo the open intents whose service no longer owns them; how many were undone.

    Each is undone on its own: one that fails (its PoP or lower SP unreachable)
    is logged, stays open, and is tried again at the next start.
    """
    undone = 0
    for intent in await rt.intents.all_open():
        if not await _orphaned(rt, intent):
            continue
        try:
            await _undo(rt, intent)
        except SpfedError as exc:
            log.warning(
                "event=intent_not_reconciled kind=%s service=%s target=%s error=%r",
                intent.kind.value,
                intent.service_id,
                intent.target,
                exc.describe(),
            )
            continue
        undone += 1
        log.warning(
            "event=intent_reconciled kind=%s service=%s target=%s key=%s",
            intent.kind.value,
            intent.service_id,
            intent.target,
            intent.key,
        )
    return undone


async def _orphaned(rt: UndoPorts, intent: Intent) -> bool:
    """Whether nothing but the journal still answers for the intent's effect."""
    record = await rt.services.get_service(intent.service_id)
    if record is not None and record.state not in (ServiceState.FAILED, ServiceState.TERMINATED):
        return False
    if await rt.services.running_operation(intent.service_id) is not None:
        return False
    failed = record is not None and record.state is ServiceState.FAILED
    return not (failed and intent.kind is IntentKind.DELEGATION)


async def _undo(rt: UndoPorts, intent: Intent) -> None:
    match intent.kind:
        case IntentKind.VIM_PART:
            if intent.target not in rt.vims:
                log.warning(
                    "event=intent_unknown_pop service=%s pop=%s", intent.service_id, intent.target
                )
                return
            await undeploy_local_parts(rt, intent.service_id, [LocalPart(intent.target)])
        case IntentKind.WAN:
            await release_service_wan(rt, intent.service_id)
        case IntentKind.DELEGATION:
            part = parse_part(intent.part)
            if not isinstance(part, DelegatedPart) or part.lower not in rt.lowers:
                log.warning(
                    "event=intent_unknown_lower service=%s lower_sp=%s",
                    intent.service_id,
                    intent.target,
                )
                return
            remotes = {part: RemotePart(part.lower)}
            await release_delegated_parts(rt, intent.service_id, "reconcile", remotes)
