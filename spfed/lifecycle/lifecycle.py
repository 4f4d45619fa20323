"""The service lifecycle of one node: what the API's service calls do.

Instantiation is admitted inside the call (validate and place, nothing
stored), then recorded and run in the background as a long-running
operation; termination likewise. Runs interrupted by a restart are picked up
at start-up: an instantiation is compensated, a termination finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import replace
from datetime import timedelta

from pydantic import TypeAdapter

from spfed.engine import (
    RunId,
    RunResult,
    Schedule,
    TaskId,
)
from spfed.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    NotFound,
    SpfedError,
)
from spfed.lifecycle.admission_control import AccountGate
from spfed.lifecycle.context import (
    InstantiateContext,
    InstantiateState,
    RetryUntil,
    TerminateContext,
    TerminateState,
    dump_state,
    load_instantiate_state,
    load_terminate_state,
)
from spfed.lifecycle.events import new_event
from spfed.lifecycle.instantiate import ADMISSION, INSTANTIATE, QUIET
from spfed.lifecycle.listener import AdmissionListener, ProgressListener
from spfed.lifecycle.runs import ServiceRuns, final_error, now
from spfed.lifecycle.runtime import NodeRuntime
from spfed.lifecycle.terminate import TERMINATE
from spfed.lifecycle.undo import reconcile_intents
from spfed.model import (
    InstantiateRequest,
    Operation,
    OperationKind,
    OperationState,
    Principal,
    Role,
    ServiceEventKind,
    ServiceRecord,
    ServiceState,
    TaskProgress,
    TaskState,
)
from spfed.storage import NewOperation

__all__ = ["ServiceLifecycle", "request_hash"]

log = logging.getLogger(__name__)
_REQUEST: TypeAdapter[InstantiateRequest] = TypeAdapter(InstantiateRequest)


_ADMISSION_RETRY_S = 1.0
"""Retry delay suggested to an account over its admission limit: admissions take
milliseconds, so a slot is usually free again well within it."""


def request_hash(request: InstantiateRequest) -> str:
    """A digest of ``request`` that any process computes the same.

    Keys are sorted: a request's maps (placement rules) come from protobuf maps,
    whose iteration order differs from process to process, so a hash of the
    fields in arrival order made a retry after a restart look like another
    request (ALREADY_EXISTS) at the restarted node.
    """
    canonical = json.dumps(
        _REQUEST.dump_python(request, mode="json"), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class ServiceLifecycle(ServiceRuns):
    """Instantiate, terminate, query and watch services at one node."""

    def __init__(self, rt: NodeRuntime) -> None:
        super().__init__(rt)
        limits = rt.config.limits
        self._admissions = AccountGate(limits.admissions_per_account, _ADMISSION_RETRY_S)
        # The worker starts and imports meanwhile, not at the first admission.
        rt.admission.start()

    # --- instantiate --------------------------------------------------------------

    async def instantiate(self, caller: Principal, request: InstantiateRequest) -> Operation:
        """Admit a request and start its instantiation; idempotent per request id.

        The service belongs to the caller's account.

        Raises:
            InvalidArgument: malformed request or descriptors (field violations).
            FailedPrecondition: nothing can host a member where it is asked.
            ResourceExhausted: no room for a member, or the account already
                has ``limits.admissions_per_account`` admissions in progress
                (``admissions_per_platform`` for an upper SP's account)
                (``retry_after_s`` set).
            DeadlineExceeded: admission outlived ``limits.admission_timeout_s``.
            AlreadyExists: the request id was used for a different request.
        """
        limits = self.rt.config.limits
        if Role.PLATFORM in caller.roles:
            gate = self._admissions.admit(
                caller.account, limits.admissions_per_platform, "admissions_per_platform"
            )
        else:
            gate = self._admissions.admit(caller.account)
        async with gate:
            return await self._instantiate_admitted(caller, request)

    async def _instantiate_admitted(
        self, caller: Principal, request: InstantiateRequest
    ) -> Operation:
        owner = caller.account
        digest = request_hash(request)
        if request.request_id:
            earlier = await self._earlier(owner, request, digest)
            if earlier is not None:
                return earlier
        service_id = uuid.uuid4().hex
        op_id = uuid.uuid4().hex
        state = InstantiateState(service_id=service_id, operation_id=op_id)
        ctx = InstantiateContext(self.rt, owner, request, state, now())
        nsd = request.descriptors.nsd if request.descriptors else None
        service_type = str(nsd.ref) if nsd else str(request.offer)
        paths = sum(len(fg.network_forwarding_paths) for fg in nsd.forwarding_graphs) if nsd else 0
        schedule = self._schedule(
            INSTANTIATE, "instantiate", service_type, {"forwarding_paths": str(paths)}
        )
        admission = Schedule(tuple(step for step in schedule.steps if set(step) & set(ADMISSION)))
        listener = AdmissionListener(state.outputs.record)
        result = await self._admission_runner(listener).run(RunId(op_id), admission, ctx)
        if not result.succeeded:
            assert result.error is not None
            raise result.error
        assert ctx.graph is not None
        record = ServiceRecord(
            id=service_id,
            name=request.name or ctx.graph.nsd.ref.name,
            descriptor=ctx.graph.nsd.ref,
            state=ServiceState.INSTANTIATING,
            operator=self.rt.node_id,
            owner=owner,
            request_id=request.request_id or op_id,
            create_time=ctx.created,
            update_time=ctx.created,
        )
        operation = Operation(
            id=op_id,
            kind=OperationKind.INSTANTIATE,
            service_id=service_id,
            state=OperationState.RUNNING,
            create_time=ctx.created,
            update_time=ctx.created,
            tasks=tuple(
                TaskProgress(t, listener.finished.get(t, TaskState.PENDING))
                for t in schedule.task_ids()
            ),
        )
        parts = sorted({str(p) for p in state.placement.values()})
        events = [
            self._state_event(
                op_id, ServiceState.INSTANTIATING, f"admitted; parts: {', '.join(parts)}"
            ),
            *(
                new_event(
                    self.rt.origin, ServiceEventKind.TASK_SUCCEEDED, operation_id=op_id, task=t
                )
                for t in listener.finished
            ),
        ]
        new = NewOperation(
            operation, record.request_id, "instantiate", schedule.steps, dump_state(state)
        )
        abort = asyncio.Event()

        async def persist_and_start() -> None:
            stored = await self.rt.services.create_service(record, request, digest, new, events)
            self.rt.events.publish(service_id, stored)
            states = {TaskId(t): s for t, s in listener.finished.items()}
            self._spawn(
                op_id,
                service_id,
                OperationKind.INSTANTIATE,
                self._run_instantiate(ctx, schedule, states, abort),
                abort,
            )

        try:
            # Once stored, the run must start even if the caller goes away.
            await asyncio.shield(persist_and_start())
        except AlreadyExists:
            earlier = await self._earlier(owner, request, digest)
            if earlier is None:
                raise
            return earlier
        log.info(
            "event=instantiate_admitted service=%s operation=%s nsd=%s parts=%s",
            service_id,
            op_id,
            record.descriptor,
            ",".join(parts),
        )
        return operation

    async def _earlier(
        self, owner: str, request: InstantiateRequest, digest: str
    ) -> Operation | None:
        match = await self.rt.services.find_request(owner, request.request_id)
        if match is None:
            return None
        if match.request_hash != digest:
            raise AlreadyExists(
                f"request_id '{request.request_id}' was already used for a different request "
                f"(service {match.service_id}); use a new request id"
            )
        op = await self.rt.services.get_operation(match.operation_id)
        if op is None:
            raise NotFound(f"operation {match.operation_id} not found")
        return op

    async def _run_instantiate(
        self,
        ctx: InstantiateContext,
        schedule: Schedule,
        states: dict[TaskId, TaskState],
        abort: asyncio.Event,
    ) -> None:
        state = ctx.state
        listener = ProgressListener(
            self.rt,
            state.service_id,
            state.operation_id,
            lambda: dump_state(state),
            QUIET,
            state.outputs.record,
        )
        runner = self._runner(self._instantiate, listener)
        result = await runner.run(
            RunId(state.operation_id), schedule, ctx, states=states, abort=abort
        )
        parts = len(set(state.placement.values()))
        await self._finish_instantiate(state.service_id, state.operation_id, result, parts)

    async def _finish_instantiate(
        self, service_id: str, op_id: str, result: RunResult, parts: int = 0
    ) -> None:
        if result.succeeded:
            stored = await self.rt.services.finish_operation(
                op_id,
                OperationState.SUCCEEDED,
                None,
                service_id,
                ServiceState.ACTIVE,
                None,
                [self._state_event(op_id, ServiceState.ACTIVE, f"active across {parts} parts")],
            )
            self.rt.events.publish(service_id, stored)
            log.info("event=service_active service=%s operation=%s", service_id, op_id)
            return
        error = final_error(result)
        terminating = isinstance(result.error, Cancelled) and self._terminate_pending(service_id)
        settled = ServiceState.TERMINATING if terminating else ServiceState.FAILED
        events = (
            []
            if terminating
            else [self._state_event(op_id, ServiceState.FAILED, error.describe(), error)]
        )
        stored = await self.rt.services.finish_operation(
            op_id,
            OperationState.FAILED,
            error,
            service_id,
            settled,
            None if terminating else error,
            events,
        )
        self.rt.events.publish(service_id, stored)
        log.warning(
            "event=instantiate_failed service=%s operation=%s error=%r",
            service_id,
            op_id,
            error.describe(),
        )

    # --- terminate ----------------------------------------------------------------

    async def terminate(self, caller: Principal, service_id: str, request_id: str) -> Operation:
        """Start terminating a service; idempotent per request id.

        A running instantiation is aborted (and compensated) first.

        Raises:
            NotFound: no such service for this caller.
        """
        async with self._lock(service_id):
            record = await self.get_service(caller, service_id, remote=False)
            if request_id:
                earlier = await self.rt.services.find_operation(
                    service_id, OperationKind.TERMINATE, request_id
                )
                if earlier is not None:
                    return await self._operation(earlier)
            running = await self.rt.services.running_operation(service_id)
            if running is not None and running.kind is OperationKind.TERMINATE:
                return running
            if record.state is ServiceState.TERMINATED:
                latest = await self.rt.services.find_operation(service_id, OperationKind.TERMINATE)
                if latest is not None:
                    return await self._operation(latest)
            op_id = uuid.uuid4().hex
            started = now()
            schedule = self._schedule(TERMINATE, "terminate", str(record.descriptor), {})
            operation = Operation(
                id=op_id,
                kind=OperationKind.TERMINATE,
                service_id=service_id,
                state=OperationState.RUNNING,
                create_time=started,
                update_time=started,
                tasks=tuple(TaskProgress(t, TaskState.PENDING) for t in schedule.task_ids()),
            )
            state = TerminateState(service_id=service_id, operation_id=op_id)
            new = NewOperation(
                operation, request_id or op_id, "terminate", schedule.steps, dump_state(state)
            )
            events = [self._state_event(op_id, ServiceState.TERMINATING, "terminating")]
            abort = asyncio.Event()

            async def persist_and_start() -> None:
                stored = await self.rt.services.start_operation(
                    new, ServiceState.TERMINATING, events
                )
                self.rt.events.publish(service_id, stored)
                self._spawn(
                    op_id,
                    service_id,
                    OperationKind.TERMINATE,
                    self._run_terminate(state, schedule, {}, running),
                    abort,
                )

            await asyncio.shield(persist_and_start())
            log.info("event=terminate_started service=%s operation=%s", service_id, op_id)
            return operation

    async def _run_terminate(
        self,
        state: TerminateState,
        schedule: Schedule,
        states: dict[TaskId, TaskState],
        instantiating: Operation | None,
    ) -> None:
        if instantiating is not None:
            running = self._running.get(instantiating.id)
            if running is not None:
                running.abort.set()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(running.task)
        service = await self.rt.services.get_service(state.service_id)
        if service is None:
            return
        ctx = TerminateContext(service, state, await self._instantiation(service, state))
        listener = ProgressListener(
            self.rt, state.service_id, state.operation_id, lambda: dump_state(state)
        )
        result = await self._runner(self._terminate, listener).run(
            RunId(state.operation_id), schedule, ctx, states=states
        )
        op_id = state.operation_id
        if result.succeeded:
            stored = await self.rt.services.finish_operation(
                op_id,
                OperationState.SUCCEEDED,
                None,
                state.service_id,
                ServiceState.TERMINATED,
                None,
                [
                    self._state_event(
                        op_id, ServiceState.TERMINATED, "terminated; everything released"
                    )
                ],
            )
            log.info("event=service_terminated service=%s operation=%s", state.service_id, op_id)
        else:
            error = final_error(result)
            stored = await self.rt.services.finish_operation(
                op_id,
                OperationState.FAILED,
                error,
                state.service_id,
                ServiceState.FAILED,
                error,
                [
                    self._state_event(
                        op_id, ServiceState.FAILED, f"termination failed: {error.describe()}", error
                    )
                ],
            )
            log.warning(
                "event=terminate_failed service=%s error=%r", state.service_id, error.describe()
            )
        self.rt.events.publish(state.service_id, stored)

    async def _instantiation(
        self, service: ServiceRecord, state: TerminateState
    ) -> InstantiateContext:
        """The instantiation a termination compensates, as its last persisted state left it,
        waiting for lower SPs until the terminate deadline."""
        rt = self.rt
        op = await rt.services.find_operation(service.id, OperationKind.INSTANTIATE)
        text = await rt.progress.run_context(op) if op else None
        inst = (
            load_instantiate_state(text)
            if text
            else InstantiateState(service_id=service.id, operation_id=op or "")
        )
        request = await rt.services.request_of(service.id)
        term = await rt.services.get_operation(state.operation_id)
        fed = rt.config.federation
        started = term.create_time if term is not None else now()
        retry = RetryUntil(
            started + timedelta(seconds=fed.terminate_deadline_s),
            fed.reconnect_initial_s,
            fed.reconnect_max_s,
        )
        return InstantiateContext(
            rt, service.owner, request, inst, service.create_time, retry=retry
        )

    # --- start-up and shutdown ----------------------------------------------------

    async def recover(self) -> int:
        """Compensate instantiations and finish terminations cut short by a restart,
        then reconcile the intent journal (``spfed.lifecycle.undo``).

        A termination that was waiting for an instantiation to be aborted waits
        for that instantiation's compensation again. Returns how many runs were
        picked up; they, and the reconciliation, continue in the background
        (``wait_idle`` waits for both).
        """
        runs = await self.rt.progress.unfinished_runs()
        # Compensations first, so that a termination of the same service finds them.
        runs.sort(key=lambda stored: stored.workflow != "instantiate")
        instantiating: dict[str, Operation] = {}
        for stored in runs:
            op = stored.operation
            states = {TaskId(t.task): t.state for t in op.tasks}
            schedule = Schedule(tuple(tuple(TaskId(t) for t in step) for step in stored.schedule))
            if stored.workflow == "instantiate":
                inst = load_instantiate_state(stored.context)
                request = await self.rt.services.request_of(op.service_id)
                record = await self.rt.services.get_service(op.service_id)
                ctx = InstantiateContext(
                    self.rt, record.owner if record else "", request, inst, op.create_time
                )
                instantiating[op.service_id] = op
                self._spawn(
                    op.id,
                    op.service_id,
                    op.kind,
                    self._compensate_instantiate(ctx, schedule, states),
                    asyncio.Event(),
                )
            else:
                term = load_terminate_state(stored.context)
                self._spawn(
                    op.id,
                    op.service_id,
                    op.kind,
                    self._run_terminate(term, schedule, states, instantiating.get(op.service_id)),
                    asyncio.Event(),
                )
            log.warning(
                "event=run_recovered workflow=%s operation=%s service=%s",
                stored.workflow,
                op.id,
                op.service_id,
            )
        self._reconciling = asyncio.get_running_loop().create_task(
            reconcile_intents(self.rt), name="reconcile-intents"
        )
        return len(runs)

    async def _compensate_instantiate(
        self, ctx: InstantiateContext, schedule: Schedule, states: dict[TaskId, TaskState]
    ) -> None:
        state = ctx.state
        listener = ProgressListener(
            self.rt, state.service_id, state.operation_id, lambda: dump_state(state)
        )
        error = Aborted(
            f"node {self.rt.node_id} restarted while instantiating; everything created was released"
        )
        # Progress is written behind the work (in order), so the last reports
        # may not have landed, and quiet tasks report no start at all (an address
        # block drawn by a cut plan_addresses has no trace but in the pools):
        # compensate every task of the schedule that is not known to be
        # compensated already. Compensators are idempotent and find nothing to
        # undo for work that never happened.
        started = {
            task: TaskState.COMPENSATED
            if states.get(task) is TaskState.COMPENSATED
            else TaskState.RUNNING
            for task in schedule.task_ids()
        }
        result = await self._runner(self._instantiate, listener).compensate(
            RunId(state.operation_id), schedule, ctx, started, error
        )
        await self._finish_instantiate(
            state.service_id, state.operation_id, replace(result, succeeded=False, error=error)
        )

    async def shutdown(self, grace_s: float) -> None:
        """Let runs finish for ``grace_s``, then interrupt the rest (recovered at next start)."""
        if not await self.wait_idle(grace_s):
            for running in list(self._running.values()):
                running.task.cancel()
            for running in list(self._running.values()):
                with contextlib.suppress(asyncio.CancelledError, SpfedError):
                    await running.task
            log.warning("event=runs_interrupted reason=shutdown")
        if self._reconciling is not None and not self._reconciling.done():
            self._reconciling.cancel()
            with contextlib.suppress(asyncio.CancelledError, SpfedError):
                await self._reconciling
        self.rt.admission.close()
