"""Workflow and task metrics, taken around the engine without changing what it does.

``metered_runner`` builds the ``WorkflowRunner`` a workflow runs on. With metrics, the
runner's listener is wrapped in ``TimedListener``, which times each task from its first
attempt to its final state and then hands every report to the wrapped listener
unchanged; and ``run`` is timed as a whole, with its outcome. Without metrics it is the
plain runner.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TypeVar

from spfed.engine import (
    RunId,
    RunListener,
    RunResult,
    Schedule,
    TaskId,
    TaskRegistry,
    WorkflowRunner,
)
from spfed.engine.runner import FaultHook
from spfed.errors import Cancelled, SpfedError
from spfed.metrics import NodeMetrics
from spfed.model import TaskState

__all__ = ["MeteredRunner", "TimedListener", "metered_runner"]

C = TypeVar("C")


class TimedListener:
    """A ``RunListener`` that times tasks for ``metrics`` and passes everything on."""

    def __init__(self, inner: RunListener, workflow: str, metrics: NodeMetrics) -> None:
        self._inner = inner
        self._workflow = workflow
        self._metrics = metrics
        self._started: dict[TaskId, float] = {}

    async def task_started(self, run_id: RunId, task: TaskId, attempt: int) -> None:
        self._started.setdefault(task, time.perf_counter())
        await self._inner.task_started(run_id, task, attempt)

    async def task_finished(
        self,
        run_id: RunId,
        task: TaskId,
        state: TaskState,
        attempts: int,
        error: SpfedError | None,
        output: object = None,
    ) -> None:
        started = self._started.pop(task, None)
        seconds = None if started is None else time.perf_counter() - started
        self._metrics.observe_task(self._workflow, task, state.value, seconds)
        await self._inner.task_finished(run_id, task, state, attempts, error, output)

    async def compensating(self, run_id: RunId, error: SpfedError) -> None:
        await self._inner.compensating(run_id, error)


def _outcome(result: RunResult) -> str:
    if result.succeeded:
        return "succeeded"
    return "cancelled" if isinstance(result.error, Cancelled) else "failed"


class MeteredRunner(WorkflowRunner[C]):
    """A ``WorkflowRunner`` whose ``run`` is timed, by outcome, for ``metrics``."""

    def __init__(
        self,
        registry: TaskRegistry[C],
        listener: RunListener,
        *,
        workflow: str,
        metrics: NodeMetrics,
        default_timeout_s: float | None,
        max_attempts: int,
        retry_delay_s: float,
        fault_hook: FaultHook | None,
    ) -> None:
        super().__init__(
            registry,
            TimedListener(listener, workflow, metrics),
            default_timeout_s=default_timeout_s,
            max_attempts=max_attempts,
            retry_delay_s=retry_delay_s,
            fault_hook=fault_hook,
        )
        self._workflow = workflow
        self._metrics = metrics

    async def run(
        self,
        run_id: RunId,
        schedule: Schedule,
        ctx: C,
        *,
        states: Mapping[TaskId, TaskState] | None = None,
        abort: asyncio.Event | None = None,
    ) -> RunResult:
        started = time.perf_counter()
        result = await super().run(run_id, schedule, ctx, states=states, abort=abort)
        self._metrics.observe_workflow(
            self._workflow, _outcome(result), time.perf_counter() - started
        )
        return result


def metered_runner(
    registry: TaskRegistry[C],
    listener: RunListener,
    *,
    workflow: str,
    metrics: NodeMetrics | None,
    default_timeout_s: float | None,
    max_attempts: int,
    retry_delay_s: float,
    fault_hook: FaultHook | None,
) -> WorkflowRunner[C]:
    """The runner of ``workflow``: metered when ``metrics`` is given, plain otherwise."""
    if metrics is None:
        return WorkflowRunner(
            registry,
            listener,
            default_timeout_s=default_timeout_s,
            max_attempts=max_attempts,
            retry_delay_s=retry_delay_s,
            fault_hook=fault_hook,
        )
    return MeteredRunner(
        registry,
        listener,
        workflow=workflow,
        metrics=metrics,
        default_timeout_s=default_timeout_s,
        max_attempts=max_attempts,
        retry_delay_s=retry_delay_s,
        fault_hook=fault_hook,
    )
