"""The run listener: persists each task's progress, the run state and an event, together."""

from __future__ import annotations

from collections.abc import Callable

from spfed.engine import RunId, TaskId
from spfed.errors import SpfedError
from spfed.lifecycle.events import new_event
from spfed.lifecycle.runtime import NodeRuntime
from spfed.model import ErrorStatus, OperationState, ServiceEventKind, TaskState

__all__ = ["AdmissionListener", "ProgressListener"]

_EVENT_KIND = {
    TaskState.SUCCEEDED: ServiceEventKind.TASK_SUCCEEDED,
    TaskState.FAILED: ServiceEventKind.TASK_FAILED,
    TaskState.CANCELLED: ServiceEventKind.TASK_FAILED,
    TaskState.COMPENSATED: ServiceEventKind.TASK_COMPENSATED,
}


class ProgressListener:
    """Writes every task report of one run, with its event, in one transaction."""

    def __init__(
        self,
        rt: NodeRuntime,
        service_id: str,
        operation_id: str,
        snapshot: Callable[[], str],
        quiet: frozenset[str] = frozenset(),
        outputs: Callable[[str, object], None] | None = None,
    ) -> None:
        """``outputs(task, output)`` keeps a succeeded task's output where ``snapshot``
        serialises the run's state, so both land in the task's one write."""
        self._rt = rt
        self._outputs = outputs
        self._service_id = service_id
        self._operation_id = operation_id
        self._snapshot = snapshot
        self._quiet = quiet

    async def task_started(self, run_id: RunId, task: TaskId, attempt: int) -> None:
        if task in self._quiet and attempt == 1:
            # Computation in memory: its completion is reported, its start is not.
            return
        event = new_event(
            self._rt.origin,
            ServiceEventKind.TASK_STARTED,
            operation_id=self._operation_id,
            task=task,
            message=f"attempt {attempt}" if attempt > 1 else "",
        )
        # Not awaited: the start is queued and lands before anything the task
        # writes. Recovery compensates every task that has a compensator, so
        # a start lost in a crash cannot leak what the task created.
        self._rt.events.track(
            self._service_id,
            self._rt.progress.record_task(
                self._service_id, run_id, task, TaskState.RUNNING, attempt, None, None, [event]
            ),
        )

    async def task_finished(
        self,
        run_id: RunId,
        task: TaskId,
        state: TaskState,
        attempts: int,
        error: SpfedError | None,
        output: object = None,
    ) -> None:
        if output is not None and self._outputs is not None:
            self._outputs(task, output)
        status = ErrorStatus.from_error(error) if error is not None else None
        message = "cancelled" if state is TaskState.CANCELLED else ""
        if state is TaskState.FAILED and status is not None:
            message = status.describe()
        event = new_event(
            self._rt.origin,
            _EVENT_KIND.get(state, ServiceEventKind.TASK_FAILED),
            operation_id=self._operation_id,
            task=task,
            message=message,
            error=status,
        )
        # Queued, not awaited: writes land in submission order, so this record
        # is durable before anything a later task writes; the operation's end
        # is awaited, which flushes everything before it.
        self._rt.events.track(
            self._service_id,
            self._rt.progress.record_task(
                self._service_id, run_id, task, state, attempts, status, self._snapshot(), [event]
            ),
        )

    async def compensating(self, run_id: RunId, error: SpfedError) -> None:
        await self._rt.services.set_operation_state(run_id, OperationState.COMPENSATING)


class AdmissionListener:
    """Keeps admission task reports in memory; nothing is stored before admission succeeds.
    Outputs go to ``outputs``, and are stored with the service's records."""

    def __init__(self, outputs: Callable[[str, object], None]) -> None:
        self.finished: dict[str, TaskState] = {}
        self._outputs = outputs

    async def task_started(self, run_id: RunId, task: TaskId, attempt: int) -> None:
        return None

    async def task_finished(
        self,
        run_id: RunId,
        task: TaskId,
        state: TaskState,
        attempts: int,
        error: SpfedError | None,
        output: object = None,
    ) -> None:
        if output is not None:
            self._outputs(task, output)
        self.finished[task] = state

    async def compensating(self, run_id: RunId, error: SpfedError) -> None:
        return None
