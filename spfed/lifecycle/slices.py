"""Network slices at one node: what the API's slice calls do.

A slice is made of services: each subnet of its template becomes a service,
instantiated through the node's ``ServiceLifecycle`` as the slice's owner
(so it is placed, delegated, addressed and WAN-booked like any other), and
each slice link puts one point of two services on a /31 (/127) with one VNI
drawn from the slice pool (``ServiceBlocks.allocate_link``). Once both
services are ACTIVE, a node with a WIM joins the WAN nodes behind the two
ports (``slice_wan``).

Creating and deleting a slice are workflows of the task engine
(``slice_tasks``), whose progress (task states and the run's context) is kept
in the node's ``RunStore`` after every task. ``create`` checks the request
inside the call, records the slice in CREATING and its run, and runs the
rest in the background; a failure compensates through the engine and leaves
the slice FAILED with the error. A subnet marked ``is-shared`` reuses an
ACTIVE service of the same NSD that an earlier slice of the same owner holds
as shared; storage counts the holds, and a service is terminated when its
last hold is dropped. ``delete`` runs the deletion workflow (the creation's
compensators as tasks) and is idempotent; a creation still running is
aborted, and compensated, first. At start-up (``recover``) a creation cut
short is compensated to FAILED and a deletion is resumed to DELETED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from spfed.engine import (
    RunId,
    RunRecord,
    RunResult,
    RunStore,
    RunStoreListener,
    WorkflowRunner,
    schedule_text,
    task_states,
)
from spfed.errors import Aborted, AlreadyExists, FailedPrecondition, FieldViolation, NotFound
from spfed.lifecycle.lifecycle import ServiceLifecycle
from spfed.lifecycle.metering import metered_runner
from spfed.lifecycle.runs import final_error
from spfed.lifecycle.slice_context import (
    SliceContext,
    SliceRunState,
    dump_slice_state,
    link_owner,
    load_slice_state,
    slice_principal,
)
from spfed.lifecycle.slice_plan import SubnetPlan, check_slice_request
from spfed.lifecycle.slice_tasks import (
    SLICE_CREATE,
    SLICE_CREATE_WORKFLOW,
    SLICE_DELETE,
    SLICE_DELETE_WORKFLOW,
    slice_registry,
)
from spfed.model import (
    CreateSliceRequest,
    ErrorStatus,
    OperationState,
    Principal,
    ServiceState,
    SliceLinkRecord,
    SliceRecord,
    SliceState,
    SliceSubnetRecord,
    TaskState,
)
from spfed.storage import SliceStore

__all__ = ["SliceManager", "link_owner"]

log = logging.getLogger(__name__)
audit = logging.getLogger("spfed.audit")

_INACTIVE = frozenset({SliceState.FAILED, SliceState.DELETED})
_UNSETTLED = frozenset({SliceState.CREATING, SliceState.DELETING})


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Running:
    """A slice's background work."""

    task: asyncio.Task[None]
    kind: Literal["create", "delete"]
    abort: asyncio.Event


class SliceManager:
    """Create, query and delete the slices of one node."""

    def __init__(self, lifecycle: ServiceLifecycle, store: SliceStore, runs: RunStore) -> None:
        self._lifecycle = lifecycle
        self._rt = lifecycle.rt
        self._store = store
        self._runs = runs
        self._registry = slice_registry(self._rt.config)
        self._running: dict[str, _Running] = {}
        self._holds = asyncio.Lock()
        """Held while a slice decides on, takes or drops a hold on a shared service."""

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
        try:
            # Once stored, the run must start even if the caller goes away.
            record = await asyncio.shield(self._admit(owner, request, plans))
        except AlreadyExists:
            earlier = await self._store.by_request(owner, request.request_id)
            if earlier is None:
                raise
            return earlier
        audit.info("event=slice_create account=%s slice=%s", owner, record.id)
        return record

    async def _admit(
        self, owner: str, request: CreateSliceRequest, plans: list[SubnetPlan]
    ) -> SliceRecord:
        """Decide on reuse, store the slice, its holds and its run, and start the run."""
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
            ctx = self._context(SliceRunState(slice_id, owner, reused), request, plans)
            await self._store.add(record)
            try:
                for subnet in record.subnets:
                    if subnet.subnet_id in reused:
                        await ctx.hold(subnet, reused[subnet.subnet_id])
                run_id = await self._new_run(SLICE_CREATE_WORKFLOW, ctx)
            except Exception as exc:
                # Stored, but with no run to undo it: undone now (or at the next start).
                log.warning("event=slice_admission_failed slice=%s error=%r", slice_id, exc)
                self._spawn(slice_id, "create", self._recover_create(record, []), asyncio.Event())
                raise
        abort = asyncio.Event()
        self._spawn(slice_id, "create", self._run_create(ctx, run_id, abort), abort)
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
        running = self._running.get(slice_id)
        if running is not None and running.kind == "delete":
            return record
        record = await self._set(record, SliceState.DELETING)
        audit.info("event=slice_delete account=%s slice=%s", caller.account, slice_id)
        self._spawn(slice_id, "delete", self._run_delete(slice_id, running), asyncio.Event())
        return record

    # --- runs -----------------------------------------------------------------

    def _context(
        self,
        state: SliceRunState,
        request: CreateSliceRequest | None = None,
        plans: Sequence[SubnetPlan] = (),
    ) -> SliceContext:
        return SliceContext(self._lifecycle, self._store, self._holds, state, request, plans)

    def _runner(self, ctx: SliceContext) -> WorkflowRunner[SliceContext]:
        wf = self._rt.config.workflow
        return metered_runner(
            self._registry,
            RunStoreListener(self._runs, lambda: dump_slice_state(ctx.state)),
            workflow="slice",
            metrics=self._rt.metrics,
            default_timeout_s=wf.task_timeout_s,
            max_attempts=wf.max_attempts,
            retry_delay_s=wf.retry_delay_s,
            fault_hook=self._rt.fault_hook,
        )

    async def _new_run(self, workflow: str, ctx: SliceContext) -> str:
        run_id = uuid.uuid4().hex
        schedule = SLICE_CREATE if workflow == SLICE_CREATE_WORKFLOW else SLICE_DELETE
        await self._runs.create_run(
            run_id, workflow, ctx.slice_id, schedule_text(schedule), dump_slice_state(ctx.state)
        )
        return run_id

    async def _unfinished(self, workflow: str, slice_id: str) -> list[RunRecord]:
        return [r for r in await self._runs.unfinished(workflow) if r.subject == slice_id]

    def _spawn(
        self,
        slice_id: str,
        kind: Literal["create", "delete"],
        coro: Coroutine[Any, Any, None],
        abort: asyncio.Event,
    ) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"slice-{kind}:{slice_id}")
        self._running[slice_id] = _Running(task, kind, abort)

        def done(finished: asyncio.Task[None]) -> None:
            current = self._running.get(slice_id)
            if current is not None and current.task is finished:
                del self._running[slice_id]

        task.add_done_callback(done)

    async def _set(
        self, record: SliceRecord, state: SliceState, error: ErrorStatus | None = None
    ) -> SliceRecord:
        current = await self._store.get(record.id) or record
        updated = replace(current, state=state, update_time=_now(), error=error)
        await self._store.save(updated)
        return updated

    async def _run_create(self, ctx: SliceContext, run_id: str, abort: asyncio.Event) -> None:
        result = await self._runner(ctx).run(RunId(run_id), SLICE_CREATE, ctx, abort=abort)
        await self._finish_create(ctx.slice_id, run_id, result)

    async def _finish_create(self, slice_id: str, run_id: str, result: RunResult) -> None:
        """The slice FAILED unless the run succeeded, or a deletion has taken over."""
        if result.succeeded:
            await self._runs.finish(run_id, OperationState.SUCCEEDED, None)
            return
        error = final_error(result)
        record = await self._store.get(slice_id)
        if record is not None and record.state is not SliceState.DELETING:
            await self._set(record, SliceState.FAILED, error)
            log.warning("event=slice_failed slice=%s error=%r", slice_id, error.describe())
        await self._runs.finish(run_id, OperationState.FAILED, error)

    async def _compensate_create(
        self, record: SliceRecord, run: RunRecord | None, error: Aborted
    ) -> None:
        """Compensate a creation cut short by a restart (through the engine).

        Every task of the schedule is compensated but those known to be compensated:
        the CreateSlice call holds reused services before the run's first task starts.
        Compensators undo only what is there.
        """
        if run is not None:
            state = load_slice_state(run.context)
            run_id, states = run.run_id, task_states(run)
        else:
            state = SliceRunState(record.id, record.owner, await self._reused(record))
            run_id, states = await self._new_run(SLICE_CREATE_WORKFLOW, self._context(state)), {}
        ctx = self._context(state)
        started = {
            task: TaskState.COMPENSATED
            if states.get(task) is TaskState.COMPENSATED
            else TaskState.RUNNING
            for task in SLICE_CREATE.task_ids()
        }
        result = await self._runner(ctx).compensate(
            RunId(run_id), SLICE_CREATE, ctx, started, error
        )
        await self._finish_create(record.id, run_id, replace(result, succeeded=False, error=error))

    async def _run_delete(
        self, slice_id: str, running: _Running | None, resume: RunRecord | None = None
    ) -> None:
        """Delete a slice: stop its creation (compensated), then run (or resume) the
        deletion. A deletion that fails leaves the slice DELETING; a repeated delete, or
        the next start, finishes it."""
        if running is not None:
            running.abort.set()
            await asyncio.wait({running.task})
        record = await self._store.get(slice_id)
        if record is None:
            return
        cut = Aborted("the node restarted while the slice was being created")
        for stale in await self._unfinished(SLICE_CREATE_WORKFLOW, slice_id):
            await self._compensate_create(record, stale, cut)
        ctx = self._context(SliceRunState(slice_id, record.owner, await self._reused(record)))
        runs = [resume] if resume is not None else []
        for other in await self._unfinished(SLICE_DELETE_WORKFLOW, slice_id):
            if all(other.run_id != r.run_id for r in runs):
                runs.append(other)
        run, superseded = (runs[0], runs[1:]) if runs else (None, [])
        for other in superseded:
            await self._runs.finish(other.run_id, OperationState.FAILED, None)
        run_id = run.run_id if run is not None else await self._new_run(SLICE_DELETE_WORKFLOW, ctx)
        states = task_states(run) if run is not None else {}
        result = await self._runner(ctx).run(RunId(run_id), SLICE_DELETE, ctx, states=states)
        if not result.succeeded:
            failure = final_error(result)
            log.warning("event=slice_delete_failed slice=%s error=%r", slice_id, failure.describe())
            await self._runs.finish(run_id, OperationState.FAILED, failure)
            return
        await self._set(record, SliceState.DELETED)
        await self._runs.finish(run_id, OperationState.SUCCEEDED, None)
        log.info("event=slice_deleted slice=%s", slice_id)

    # --- shared services ------------------------------------------------------

    async def _reusable(self, owner: str, plans: list[SubnetPlan]) -> dict[str, str]:
        """Shared subnets that an ACTIVE shared service of the owner can serve: subnet → service."""
        out = {}
        caller = slice_principal(owner)
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

    async def _reused(self, record: SliceRecord) -> dict[str, str]:
        """The subnets of a stored slice that reuse another slice's shared service: those
        whose service is not the one the slice's own request made."""
        ctx = self._context(SliceRunState(record.id, record.owner))
        return {
            s.subnet_id: s.service_id
            for s in record.subnets
            if s.service_id and s.service_id != await ctx.own_service(s.subnet_id)
        }

    # --- start and stop -------------------------------------------------------

    async def recover(self) -> int:
        """Pick up the slice runs a stop cut short; how many slices were picked up.

        A slice left CREATING is compensated to FAILED, one left DELETING is deleted
        (its deletion run resumed). A run left unfinished behind a slice that had
        settled (the stop came between the two writes) is closed.
        """
        creates = await self._runs.unfinished(SLICE_CREATE_WORKFLOW)
        deletes = await self._runs.unfinished(SLICE_DELETE_WORKFLOW)
        records = {r.id: r for r in await self._store.find(None, states=_UNSETTLED)}
        for run in (*creates, *deletes):
            if run.subject not in records:
                found = await self._store.get(run.subject)
                if found is not None:
                    records[found.id] = found
        count = 0
        for slice_id, record in records.items():
            if slice_id in self._running:
                continue  # a call picked it up already
            created = [r for r in creates if r.subject == slice_id]
            deleted = [r for r in deletes if r.subject == slice_id]
            if record.state is SliceState.CREATING:
                coro = self._recover_create(record, created)
                self._spawn(slice_id, "create", coro, asyncio.Event())
            elif record.state is SliceState.DELETING:
                coro = self._run_delete(slice_id, None, deleted[0] if deleted else None)
                self._spawn(slice_id, "delete", coro, asyncio.Event())
            else:
                await self._close_settled(record, [*created, *deleted])
                continue
            count += 1
            log.warning("event=slice_recovered slice=%s state=%s", slice_id, record.state.value)
        return count

    async def _recover_create(self, record: SliceRecord, runs: list[RunRecord]) -> None:
        """Compensate a creation without a live run: its stored runs, or (none stored) a
        new one over every task."""
        error = Aborted("the node restarted while the slice was being created")
        if not runs:
            await self._compensate_create(record, None, error)
        for run in runs:
            await self._compensate_create(record, run, error)

    async def _close_settled(self, record: SliceRecord, runs: list[RunRecord]) -> None:
        finished_by = {
            SLICE_CREATE_WORKFLOW: SliceState.ACTIVE,
            SLICE_DELETE_WORKFLOW: SliceState.DELETED,
        }
        for run in runs:
            done = finished_by.get(run.workflow) is record.state
            state = OperationState.SUCCEEDED if done else OperationState.FAILED
            await self._runs.finish(run.run_id, state, None if done else record.error)

    async def shutdown(self) -> None:
        """Interrupt the slices' background work (picked up again at the next start)."""
        tasks = [r.task for r in self._running.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
