"""The instantiate workflow: its tasks and their compensations.

    validate → place → plan_addresses → deploy_local ∥ delegate_subservices
             → verify_addresses → activate

``validate`` and ``place`` touch nothing outside the node's memory; they run
inside the InstantiateService call (admission, ``spfed.lifecycle.admission``),
so a bad descriptor, a request beyond the node's limits, an unknown lower SP
or a placement that cannot fit is the call's own error and nothing is
created. The rest runs in the background as a long-running
operation. Each task's completion is persisted with the run's state, and a
failure compensates the started tasks in reverse.
"""

from __future__ import annotations

from dataclasses import replace

from addressing import ServiceSpace, plan_addresses
from lower_sp.local.handles import HandleJournal, StoredHandle
from lower_sp.local.leaves import (
    Handle,
    HandleKind,
    LocalMember,
    PortBinding,
    deploy_part,
    encode_handle,
)
from lower_sp.local.vim import ServerHandle
from spfed.descriptors import DescriptorSet
from spfed.engine import RunId, Schedule, TaskId, TaskRegistry
from spfed.errors import (
    FailedPrecondition,
    FieldViolation,
    Internal,
)
from spfed.gathering import gather_all
from spfed.lifecycle.addresses import (
    address_problems,
    assignments,
    link_demands,
    nap_points,
    own_constraints,
)
from spfed.lifecycle.admission import (
    PlacementInputs,
    check_request,
    decide_placement,
    local_bindings,
    plan_settings,
    request_size,
    resolve,
)
from spfed.lifecycle.chains import chain_sides
from spfed.lifecycle.context import (
    AddressesPlanned,
    Delegated,
    InstantiateContext,
    LocalDeployed,
    Placed,
    RemotePart,
)
from spfed.lifecycle.events import new_event
from spfed.lifecycle.lookup import RequestLookup
from spfed.lifecycle.ports import (
    ActivatePorts,
    AddressPorts,
    DelegationPorts,
    DeployPorts,
    EventPorts,
    FaultPorts,
    PlacePorts,
    ReleasePorts,
    UndeployPorts,
    ValidatePorts,
    WanPorts,
    WanReleasePorts,
)
from spfed.lifecycle.relay import EventRelay
from spfed.lifecycle.release import delegation_request_id, release_delegated_parts
from spfed.lifecycle.undo import (
    held_local_parts,
    held_subservices,
    part_intent,
    release_service_wan,
    undeploy_local_parts,
    wan_intent,
)
from spfed.lifecycle.wan import book_wan, wan_demands
from spfed.model import (
    DelegatedPart,
    Intent,
    IntentKind,
    LocalPart,
    Part,
    PartKind,
    ServiceEvent,
    ServiceEventKind,
    ServicePart,
    ServiceRecord,
    ServiceState,
)
from upper_sp.delegation import delegate
from upper_sp.graph import ServiceGraph
from upper_sp.placement import LowerView, Placement, PopView
from upper_sp.subgraph import build_subservice

__all__ = ["ADMISSION", "INSTANTIATE", "instantiate_tasks"]

INSTANTIATE = Schedule.of(
    "validate",
    "place",
    "plan_addresses",
    ("deploy_local", "delegate_subservices", "connect_wan"),
    "verify_addresses",
    "activate",
)
ADMISSION = ("validate", "place")
"""Tasks that run inside the InstantiateService call (no side effects)."""
QUIET = frozenset({"validate", "place", "plan_addresses", "verify_addresses"})
"""Tasks that only compute in memory: their start is not reported, only their outcome."""

instantiate_tasks: TaskRegistry[InstantiateContext] = TaskRegistry()


def _graph(ctx: InstantiateContext) -> ServiceGraph:
    if ctx.graph is None:
        raise Internal("the service graph is only known while the node that built it runs")
    return ctx.graph


def _placement(ctx: InstantiateContext) -> Placement:
    """``place``'s output."""
    placed = ctx.state.outputs.place
    if placed is None:
        raise Internal("a task that needs the placement ran before place")
    return Placement(dict(placed.placement))


def _addresses(ctx: InstantiateContext, task: str) -> AddressesPlanned:
    """``plan_addresses``' output."""
    planned = ctx.state.outputs.plan_addresses
    if planned is None:
        raise Internal(f"{task} ran before plan_addresses")
    return planned


def _mid_effect(rt: FaultPorts, operation_id: str, task: str) -> None:
    """The crash tests' ``mid_effect`` point of ``task`` (``spfed.faults``): an effect
    made, its record not yet written."""
    hook = rt.fault_hook
    if hook is not None:
        hook(RunId(operation_id), TaskId(task), "mid_effect")


# --- validate ------------------------------------------------------------------------


@instantiate_tasks.task("validate")
async def validate(ctx: InstantiateContext) -> None:
    """Check the request, resolve every reference and build the service graph.

    The request's size and values are checked first, on the loop and in
    microseconds; the descriptor checks and the graph, bounded by then, run
    in the admission worker (see ``spfed.lifecycle.admission``).

    Raises:
        InvalidArgument: with one field violation per problem; a bound of
            ``limits`` exceeded names the bound and the field.
        NotFound: an offer reference names nothing in the catalogue.
        DeadlineExceeded: the checks outlived ``limits.admission_timeout_s``.
    """
    rt: ValidatePorts = ctx.rt
    check_request(ctx.request, rt.config.limits.descriptor_limits())
    catalogues = [c for c in rt.lower_catalogues().values() if c is not None]
    descriptors = ctx.request.descriptors
    sent = DescriptorSet(
        () if descriptors is None else (*descriptors.vnfds, *descriptors.nested_nsds)
    )
    lookup = RequestLookup(sent, rt.onboarded, catalogues)
    timeout = rt.config.limits.admission_timeout_s
    size = request_size(ctx.request)
    ctx.graph = await rt.admission.run(timeout, size, resolve, ctx.request, lookup)


# --- place ---------------------------------------------------------------------------


@instantiate_tasks.task("place")
async def place_members(ctx: InstantiateContext) -> Placed:
    """Choose a PoP or a lower SP for every member (see ``upper_sp.placement``).

    The PoPs' capacity is read here; the placement itself, and the address
    plan's dry run when the request gives a space, run in the admission worker.
    """
    rt: PlacePorts = ctx.rt
    graph = _graph(ctx)
    pops = []
    for vim in rt.vims.values():
        capacity = await vim.capacity()
        pops.append(PopView(vim.name, vim.region, capacity.free))
    catalogues = rt.lower_catalogues()
    inputs = PlacementInputs(
        pops=tuple(pops),
        lowers=tuple(LowerView(lid, catalogues.get(lid)) for lid in rt.lowers),
        withdrawn=rt.withdrawn(),
        addressing=rt.config.addressing,
    )
    timeout = rt.config.limits.admission_timeout_s
    size = request_size(ctx.request)
    placement = await rt.admission.run(timeout, size, decide_placement, graph, ctx.request, inputs)
    return Placed(dict(placement.parts))


# --- plan_addresses ------------------------------------------------------------------


def _local_bindings(ctx: InstantiateContext) -> dict[LocalPart, list[PortBinding]]:
    """Port bindings of every locally deployed function, by part."""
    return local_bindings(_graph(ctx), _placement(ctx))


async def _space(rt: AddressPorts, ctx: InstantiateContext) -> tuple[ServiceSpace, bool]:
    """The service's space: given by the upper SP, or drawn from the node's pools; and
    whether (part of) it was drawn from the pools."""
    state = ctx.state
    addressing = ctx.request.addressing
    default_prefix = f"{rt.node_id}/{state.service_id[:8]}/"
    mtu = addressing.mtu or rt.config.addressing.mtu
    if not addressing.address_space:
        drawn = await rt.blocks.allocate(state.service_id, ip_version=addressing.ip_version or 4)
        return replace(drawn, port_id_prefix=default_prefix, mtu=mtu), True
    vnis, macs = addressing.vni_space, addressing.mac_prefix
    from_pool = False
    if vnis is None or not macs:  # an upper SP that gives only a block: ids of our own
        ids = await rt.blocks.allocate_ids(state.service_id)
        from_pool = True
        vnis, macs = vnis or ids.vnis, macs or ids.macs
    space = ServiceSpace(
        addressing.address_space, vnis, macs, addressing.port_id_prefix or default_prefix, mtu
    )
    return space, from_pool


@instantiate_tasks.task("plan_addresses")
async def plan_service_addresses(ctx: InstantiateContext) -> AddressesPlanned:
    """Take the service's space (given, or from the node's pools) and plan inside it.

    Raises:
        ResourceExhausted: a pool or the space is too small; names it.
        FailedPrecondition: a descriptor's ``cidr`` or a NAP cannot be honoured.
    """
    rt: AddressPorts = ctx.rt
    state = ctx.state
    graph = _graph(ctx)
    addressing = ctx.request.addressing
    naps = nap_points(graph, addressing)
    for point, nap in naps.items():
        held = rt.blocks.holder_of(nap.nap)
        if held:
            raise FailedPrecondition(
                f"the NAP {nap.nap} on '{point}' lies in this node's pool {held}: it would"
                " collide with addresses the node hands out",
                field_violations=[FieldViolation("addressing.ingresses/egresses.nap", held)],
            )
    if ctx.drawn is None:
        ctx.drawn = await _space(rt, ctx)
    space, from_pool = ctx.drawn
    placement = _placement(ctx)
    bindings = [b for part in _local_bindings(ctx).values() for b in part]
    # The planner names parts by their text form (see ``link_demands``).
    delegated = [str(p) for p in placement.delegated_parts()]
    # Planning is CPU work linear in the (bounded) service: off the loop, like admission.
    plan = await rt.admission.run(
        rt.config.workflow.task_timeout_s,
        request_size(ctx.request),
        plan_addresses,
        space,
        link_demands(graph, placement, bindings, addressing, naps),
        delegated,
        plan_settings(rt.config.addressing),
        owner=state.service_id,
    )
    await rt.services.update_service(
        state.service_id,
        address_space=space.block,
        constraints=own_constraints(graph, addressing, plan),
    )
    return AddressesPlanned(space, from_pool, plan)


@plan_service_addresses.compensator
async def release_service_addresses(ctx: InstantiateContext) -> None:
    # While a sub-service may still exist below (its delegation intent is open), it
    # holds addresses of this block: handing the block out again would collide. A
    # termination runs this after releasing the sub-services, which closes those intents;
    # one naming a lower SP the node no longer has can never be closed, and holds nothing.
    rt: AddressPorts = ctx.rt
    intents = await rt.intents.of_service(ctx.state.service_id)
    if any(i.kind is IntentKind.DELEGATION and i.target in rt.lowers for i in intents):
        return
    # Not only when ``block_from_pool`` says so: after a crash in this task the
    # persisted state predates the allocation, which the pools stored first.
    await rt.blocks.release(ctx.state.service_id)


# --- deploy_local --------------------------------------------------------------------


async def _emit(rt: EventPorts, service_id: str, *events: ServiceEvent) -> None:
    await rt.events.append(service_id, events)


def _part_event(rt: EventPorts, operation_id: str, part: Part, message: str) -> ServiceEvent:
    return new_event(
        rt.origin,
        ServiceEventKind.PART_CHANGED,
        operation_id=operation_id,
        part_id=str(part),
        message=message,
    )


def _part_position(ctx: InstantiateContext, part: Part) -> int:
    return _placement(ctx).used_parts().index(part)


@instantiate_tasks.task("deploy_local")
async def deploy_local(ctx: InstantiateContext) -> LocalDeployed:
    """Deploy every local part on its PoP, in parallel; the servers, for ``activate``."""
    rt: DeployPorts = ctx.rt
    graph = _graph(ctx)
    placement = _placement(ctx)
    plan = _addresses(ctx, "deploy_local").plan
    bindings = _local_bindings(ctx)
    deployed = LocalDeployed()
    service_id = ctx.state.service_id
    sides = chain_sides(graph, [b for part in bindings.values() for b in part])
    chains = {unit: (side.upstream, side.downstream) for unit, side in sides.items()}

    async def one(part: LocalPart) -> None:
        pop = part.pop
        vim = rt.vims[pop]
        members = [
            LocalMember(m.id, m.vnfd)
            for m in graph.members
            if placement.parts[m.id] == part and m.vnfd
        ]

        journal = HandleJournal(rt.handles)

        def record(kind: HandleKind, resource_id: str, handle: Handle) -> None:
            if not journal.count:
                _mid_effect(rt, ctx.state.operation_id, "deploy_local")
            journal.created(
                StoredHandle(
                    service_id, str(part), pop, kind, resource_id, encode_handle(kind, handle)
                )
            )
            if isinstance(handle, ServerHandle):
                deployed.servers.append((pop, handle))

        # Announced before anything is created: every object carries the intent's
        # key as its tag, so what a crash cuts off before its handle is recorded
        # is still found (``spfed.lifecycle.undo``).
        intent = part_intent(rt, service_id, part)
        await rt.intents.open(intent)
        try:
            vnfs = await deploy_part(
                vim,
                service_id[:8],
                members,
                bindings.get(part, []),
                plan,
                record,
                chains,
                intent.key,
            )
        finally:
            # Whatever exists must be on record before this task ends, or fails.
            await journal.commit()
        record_part = ServicePart(
            id=str(part),
            kind=PartKind.LOCAL,
            members=tuple(m.member for m in members),
            pop=pop,
            vnfs=vnfs,
        )
        ctx.parts[part] = record_part
        servers = sum(1 for v in vnfs for u in v.units if u.server_id)
        stored = await rt.services.put_part(
            service_id,
            _part_position(ctx, part),
            record_part,
            [
                _part_event(
                    rt,
                    ctx.state.operation_id,
                    part,
                    f"deployed {len(vnfs)} functions ({servers} servers) on PoP {pop}",
                )
            ],
        )
        rt.events.publish(service_id, stored)

    parts = placement.local_parts()
    await gather_all(*(one(p) for p in parts))
    if parts:
        rt.capacity_changed()
    return deployed


@deploy_local.compensator
async def undeploy_local(ctx: InstantiateContext) -> None:
    # Also what a failed run left without a record: handles and tags on every part placed,
    # recorded or named by an open intent (see ``spfed.lifecycle.undo``).
    rt: UndeployPorts = ctx.rt
    await undeploy_local_parts(rt, ctx.state.service_id, await held_local_parts(rt, ctx.state))


# --- delegate_subservices ------------------------------------------------------------


@instantiate_tasks.task("delegate_subservices")
async def delegate_subservices(ctx: InstantiateContext) -> Delegated:
    """Send each lower SP its sub-graph as one sub-service, in parallel, and follow them;
    each part's sub-service."""
    rt: DelegationPorts = ctx.rt
    graph = _graph(ctx)
    placement = _placement(ctx)
    plan = _addresses(ctx, "delegate_subservices").plan
    state = ctx.state
    timeout = rt.config.federation.delegation_timeout_s

    async def one(part: DelegatedPart) -> None:
        lower_id = part.lower
        lower = rt.lowers[lower_id]
        remote = ctx.sending.setdefault(part, RemotePart(lower_id))
        sub = build_subservice(
            graph,
            placement,
            plan,
            ctx.request.placement,
            part,
            request_id=delegation_request_id(rt.node_id, state.service_id, part),
            name=ctx.request.name or graph.nsd.ref.name,
        )
        position = _part_position(ctx, part)
        base = ServicePart(
            id=str(part),
            kind=PartKind.DELEGATED,
            members=tuple(placement.members_of(part)),
            lower_sp=lower_id,
            constraints=sub.request.addressing.constraints,
            address_space=sub.request.addressing.address_space,
        )

        async def created(remote_id: str) -> None:
            _mid_effect(rt, state.operation_id, "delegate_subservices")
            remote.service_id = remote_id
            stored = await rt.services.put_part(
                state.service_id,
                position,
                replace(base, remote_service_id=remote_id),
                [
                    _part_event(
                        rt, state.operation_id, part, f"delegated to {lower_id} as {remote_id}"
                    )
                ],
            )
            rt.events.publish(state.service_id, stored)

        await rt.intents.open(
            Intent(
                sub.request.request_id,
                IntentKind.DELEGATION,
                state.service_id,
                lower_id,
                str(part),
            )
        )
        relay = EventRelay(rt, state.service_id, state.operation_id, part, remote)
        try:
            result = await delegate(lower, sub.request, relay, created, timeout)
        finally:
            await relay.flush()
        delegated = replace(base, remote_service_id=result.service_id, remote=result.record)
        ctx.parts[part] = delegated
        await rt.services.put_part(state.service_id, position, delegated)

    await gather_all(*(one(p) for p in placement.delegated_parts()))
    return Delegated(dict(ctx.sending))


@delegate_subservices.compensator
async def release_subservices(ctx: InstantiateContext) -> None:
    # The task's output is persisted with its success; a part's record is written
    # the moment its lower SP admits it. After a restart in the middle of the task,
    # only the records know every admitted sub-service, and only the placement and
    # the open intents every part that may have been sent (found by request id). What
    # cannot be released stays in the output (and its intent open), for a later
    # TerminateService. A termination waits for a lower SP until its deadline.
    rt: ReleasePorts = ctx.rt
    state = ctx.state
    remote = await held_subservices(rt, state, ctx.sending)
    await release_delegated_parts(rt, state.service_id, state.operation_id, remote, ctx.retry)


# --- verify_addresses ----------------------------------------------------------------


@instantiate_tasks.task("verify_addresses")
async def verify_addresses(ctx: InstantiateContext) -> None:
    """Check what every lower SP chose against what it was given, and the whole tree for
    collisions; then record what this node chose on its own constrained points.

    Raises:
        FailedPrecondition: a lower SP assigned outside its constraints, or two
            interfaces share an address, a MAC or a port id.
    """
    rt: AddressPorts = ctx.rt
    record = ServiceRecord(
        id=ctx.state.service_id,
        name="",
        descriptor=_graph(ctx).nsd.ref,
        state=ServiceState.INSTANTIATING,
        operator=rt.node_id,
        owner=ctx.owner,
        request_id=ctx.request.request_id,
        create_time=ctx.created,
        update_time=ctx.created,
        parts=tuple(ctx.parts.values()),
    )
    problems = address_problems(record, rt.node_id)
    if problems:
        raise FailedPrecondition(
            "the address plan is violated: "
            + "; ".join(problems[:5])
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        )
    plan = _addresses(ctx, "verify_addresses").plan
    chosen = assignments(_graph(ctx), ctx.request.addressing, plan, record.parts, rt.node_id)
    await rt.services.update_service(ctx.state.service_id, assignments=chosen)


# --- connect_wan ---------------------------------------------------------------------


@instantiate_tasks.task("connect_wan")
async def connect_wan(ctx: InstantiateContext) -> None:
    """Book (and, with the netns driver, build) the WAN for every link that crosses it.

    Raises:
        ResourceExhausted: a WAN link lacks bandwidth, or the WIM's VNIs ran out.
        FailedPrecondition: no WAN path within the bounds, or no border toward a lower SP.
    """
    rt: WanPorts = ctx.rt
    if rt.wim is None:
        return
    borders = rt.config.catalogue.borders
    plan = _addresses(ctx, "connect_wan").plan
    vnis = {link: lp.vni for link, lp in plan.links.items()}
    demands = wan_demands(_graph(ctx).links, _placement(ctx).parts, ctx.owner, borders, vnis)
    if demands:
        await rt.intents.open(wan_intent(ctx.state.service_id))
    created = await book_wan(rt.wim, ctx.state.service_id, demands)
    if demands:
        message = f"WAN: {len(demands)} links booked ({created} new): " + ", ".join(
            f"{d.link} {'-'.join(d.nodes)} {d.bandwidth_mbps:g} Mbit/s" for d in demands
        )
        await _emit(
            rt,
            ctx.state.service_id,
            new_event(
                rt.origin,
                ServiceEventKind.PART_CHANGED,
                operation_id=ctx.state.operation_id,
                message=message,
            ),
        )


@connect_wan.compensator
async def disconnect_wan(ctx: InstantiateContext) -> None:
    rt: WanReleasePorts = ctx.rt
    await release_service_wan(rt, ctx.state.service_id)


# --- activate ------------------------------------------------------------------------


@instantiate_tasks.task("activate")
async def activate(ctx: InstantiateContext) -> None:
    """Wait until every local server ``deploy_local`` created is ACTIVE at its VIM (each
    VIM's own wait)."""
    rt: ActivatePorts = ctx.rt
    timeout = rt.config.workflow.task_timeout_s
    vims = rt.vims
    deployed = ctx.state.outputs.deploy_local
    servers = deployed.servers if deployed is not None else []
    await gather_all(*(vims[pop].wait_active(handle, timeout) for pop, handle in servers))
