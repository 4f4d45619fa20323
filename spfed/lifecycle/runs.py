"""The runs of one node's service workflows: how they are built, started, tracked and
waited for.

``ServiceRuns`` holds what ``ServiceLifecycle``'s commands share: the
instantiate and terminate task registries (plug-ins included), the engine
runners, the runs in progress (each an asyncio task, with the event that
aborts it), one lock per service while a call decides, and the start-up
reconciliation of intents.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from spfed.engine import (
    RunResult,
    Schedule,
    TaskRegistry,
    WorkflowRunner,
    WorkflowSubject,
    customize_schedule,
    registry_with_plugins,
)
from spfed.lifecycle.context import InstantiateContext, TerminateContext
from spfed.lifecycle.events import new_event
from spfed.lifecycle.instantiate import instantiate_tasks
from spfed.lifecycle.listener import AdmissionListener
from spfed.lifecycle.metering import metered_runner
from spfed.lifecycle.queries import ServiceQueries
from spfed.lifecycle.runtime import NodeRuntime
from spfed.lifecycle.terminate import terminate_registry
from spfed.model import (
    ErrorStatus,
    OperationKind,
    ServiceEvent,
    ServiceEventKind,
    ServiceState,
)

__all__ = ["ServiceRuns", "final_error", "now"]


def now() -> datetime:
    """The time, as the lifecycle records it."""
    return datetime.now(UTC)


@dataclass
class _Running:
    task: asyncio.Task[None]
    abort: asyncio.Event
    service_id: str
    kind: OperationKind


def final_error(result: RunResult) -> ErrorStatus:
    """A failed run's error, naming what its compensation could not undo."""
    assert result.error is not None
    error = ErrorStatus.from_error(result.error)
    if result.compensation_errors:
        leaks = "; ".join(f"{t}: {e.message}" for t, e in result.compensation_errors)
        error = replace(error, message=f"{error.message} (compensation incomplete: {leaks})")
    return error


class ServiceRuns(ServiceQueries):
    """The workflows of one node's services, and their runs in progress."""

    def __init__(self, rt: NodeRuntime) -> None:
        super().__init__(rt)
        self._instantiate: TaskRegistry[InstantiateContext] = registry_with_plugins(
            instantiate_tasks, rt.plugins
        )
        self._terminate: TaskRegistry[TerminateContext] = terminate_registry(
            self._instantiate, rt.config.federation
        )
        self._running: dict[str, _Running] = {}
        # Held only while a call decides; a lock nobody holds or awaits vanishes.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._reconciling: asyncio.Task[int] | None = None

    def _runner(self, registry: TaskRegistry[Any], listener: Any) -> WorkflowRunner[Any]:
        wf = self.rt.config.workflow
        return metered_runner(
            registry,
            listener,
            workflow="instantiate" if registry is self._instantiate else "terminate",
            metrics=self.rt.metrics,
            default_timeout_s=wf.task_timeout_s,
            max_attempts=wf.max_attempts,
            retry_delay_s=wf.retry_delay_s,
            fault_hook=self.rt.fault_hook,
        )

    def _admission_runner(self, listener: AdmissionListener) -> WorkflowRunner[Any]:
        """Admission is tried once: the caller retries a temporary failure, and a
        request that timed out would only time out again."""
        return metered_runner(
            self._instantiate,
            listener,
            workflow="admission",
            metrics=self.rt.metrics,
            default_timeout_s=self.rt.config.limits.admission_timeout_s,
            max_attempts=1,
            retry_delay_s=0.0,
            fault_hook=self.rt.fault_hook,
        )

    def _schedule(
        self, base: Schedule, workflow: str, service_type: str, attributes: dict[str, str]
    ) -> Schedule:
        registry = self._instantiate if workflow == "instantiate" else self._terminate
        subject = WorkflowSubject(
            workflow=workflow, service_type=service_type, attributes=attributes
        )
        return customize_schedule(base, subject, self.rt.plugins, registry)

    def _spawn(
        self, op_id: str, service_id: str, kind: OperationKind, coro: Any, abort: asyncio.Event
    ) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"{kind.value}:{op_id}")
        self._running[op_id] = _Running(task, abort, service_id, kind)
        task.add_done_callback(lambda _: self._running.pop(op_id, None))

    def _terminate_pending(self, service_id: str) -> bool:
        return any(
            r.service_id == service_id and r.kind is OperationKind.TERMINATE
            for r in self._running.values()
        )

    def _state_event(
        self, op_id: str, state: ServiceState, message: str, error: ErrorStatus | None = None
    ) -> ServiceEvent:
        return new_event(
            self.rt.origin,
            ServiceEventKind.STATE_CHANGED,
            operation_id=op_id,
            state=state,
            message=message,
            error=error,
        )

    def _lock(self, service_id: str) -> asyncio.Lock:
        lock = self._locks.get(service_id)
        if lock is None:
            lock = self._locks[service_id] = asyncio.Lock()
        return lock

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no run is in progress; False on timeout."""
        tasks: list[asyncio.Task[Any]] = [r.task for r in self._running.values()]
        if self._reconciling is not None and not self._reconciling.done():
            tasks.append(self._reconciling)
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=timeout_s)
        return not pending
