"""The workflow runner: runs a schedule's tasks step by step, retries, compensates.

Semantics (the contract the node's lifecycle relies on):

* Steps run one after another as the policy picks them; tasks already
  SUCCEEDED in the given ``states`` are not run again (resume after a restart).
  Tasks of one step run concurrently, each in its own asyncio task.
* Every attempt is reported (``task_started``) before it runs and every result
  (``task_finished``) before the run moves on; a success carries the task's
  output (what its body returned), for the listener to persist.
* A temporary failure is retried up to ``max_attempts`` (the task's own, else
  the runner's), waiting ``retry_delay_s * 2**(attempt - 1)`` through the
  injected ``sleep``. A permanent failure, or the last temporary one, fails
  the task.
* When a task fails, or ``abort`` is set, the tasks still running in the step
  are cancelled and reported CANCELLED; then compensation runs
  (``compensation``): every task that started in this run, in reverse order
  of start (failed and cancelled ones included, since partial work must be
  undone), then every task an earlier run had started (``states`` RUNNING,
  SUCCEEDED, FAILED or CANCELLED) and this one did not run, in reverse
  schedule order. Tasks without a compensator are skipped silently. A
  compensator is retried like a task; if it still fails, the task is reported
  FAILED with that error, the error is collected and compensation goes on
  with the others. The result's error is the failing task's own error, or
  ``Cancelled("aborted")``. ``abort`` is not watched during compensation, and
  is honoured only until the last step ends.
* Cancelling ``run`` itself (the node shutting down) cancels in-flight tasks,
  waits for them to finish, and re-raises ``CancelledError`` without reporting
  or compensating: the persisted progress is left for recovery
  (``compensate``, or ``run`` again).

Fault injection (for crash tests only): a ``FaultHook`` is called at three
points of every task the runner runs (never of compensators): ``before``
(an attempt's start reported, its body not yet run), ``after_effect`` (the body
returned, its success not yet reported) and ``after_persist`` (its success
reported to the listener). A hook may end the process there; the runner does
nothing else with it. Runners have none unless given one (``fault_hook``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, Literal, Protocol, TypeVar

from spfed.engine._concurrency import run_concurrently
from spfed.engine.compensation import compensate_in_order, compensation_order
from spfed.engine.execution import execute_with_retries
from spfed.engine.ids import RunId, TaskId
from spfed.engine.listener import RunListener
from spfed.engine.outcome import Outcome, Succeeded
from spfed.engine.policy import InOrderPolicy, SchedulePolicy, step_violation
from spfed.engine.registry import TaskDefinition, TaskRegistry
from spfed.engine.schedule import Schedule
from spfed.errors import Cancelled, Internal, SpfedError
from spfed.model.services import TaskState

__all__ = ["FaultHook", "FaultPhase", "RunResult", "WorkflowRunner"]

C = TypeVar("C")

logger = logging.getLogger(__name__)

FaultPhase = Literal["before", "mid_effect", "after_effect", "after_persist"]
"""Where in a task a ``FaultHook`` is called; see the module docstring. The runner calls
it at ``before``, ``after_effect`` and ``after_persist``; ``mid_effect`` is for a task
that makes external effects one by one, to call itself between one of them and its
record (the runner never does)."""


class FaultHook(Protocol):
    """Called at each fault point of each task run; for crash tests only.

    Synchronous and cheap: it runs on the event loop in the middle of a run.
    It either returns at once or ends the process (``os._exit``); raising is a
    bug that propagates out of ``WorkflowRunner.run`` like a listener's error.
    """

    def __call__(self, run_id: RunId, task: TaskId, phase: FaultPhase) -> None:
        """``task`` of run ``run_id`` reached ``phase``."""
        ...


@dataclass(frozen=True)
class RunResult:
    """How a run (or a recovery compensation) ended."""

    succeeded: bool
    """Whether every task succeeded."""
    error: SpfedError | None = None
    """Why the run failed: the failing task's error, or ``Cancelled`` on abort."""
    compensation_errors: tuple[tuple[TaskId, SpfedError], ...] = ()
    """Compensators that still failed after their retries, in compensation order."""


@dataclass
class _Run(Generic[C]):
    run_id: RunId
    ctx: C
    states: dict[TaskId, TaskState]
    started: list[TaskId] = field(default_factory=list)
    attempts: dict[TaskId, int] = field(default_factory=dict)


class WorkflowRunner(Generic[C]):
    """Runs schedules of tasks from one registry; see the module docstring."""

    def __init__(
        self,
        registry: TaskRegistry[C],
        listener: RunListener,
        *,
        default_timeout_s: float | None = 60.0,
        max_attempts: int = 3,
        retry_delay_s: float = 0.2,
        policy: SchedulePolicy | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        fault_hook: FaultHook | None = None,
    ) -> None:
        """``fault_hook``: see the module docstring (``None``: no fault injection).

        Raises ValueError: non-positive timeout, ``max_attempts < 1`` or negative delay.
        """
        if default_timeout_s is not None and not default_timeout_s > 0:
            raise ValueError(f"default_timeout_s must be > 0 or None, got {default_timeout_s!r}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts!r}")
        if not retry_delay_s >= 0:
            raise ValueError(f"retry_delay_s must be >= 0, got {retry_delay_s!r}")
        self._registry = registry
        self._listener = listener
        self._default_timeout_s = default_timeout_s
        self._max_attempts = max_attempts
        self._retry_delay_s = retry_delay_s
        self._policy: SchedulePolicy = policy if policy is not None else InOrderPolicy()
        self._sleep = sleep
        self._fault_hook = fault_hook

    async def run(
        self,
        run_id: RunId,
        schedule: Schedule,
        ctx: C,
        *,
        states: Mapping[TaskId, TaskState] | None = None,
        abort: asyncio.Event | None = None,
    ) -> RunResult:
        """Run ``schedule`` to the end, or fail and compensate.

        ``states`` holds the task states persisted by an earlier run of the
        same ``run_id``; setting ``abort`` cancels the run and compensates.

        Raises:
            UnknownTaskError: the schedule names an unregistered task (before
                anything runs).
            asyncio.CancelledError: ``run`` itself was cancelled; nothing is
                compensated.
        """
        self._require_registered(schedule)
        persisted = dict(states or {})
        run = _Run(run_id, ctx, dict(persisted))
        logger.info("run=%s outcome=starting schedule=%r", run_id, str(schedule))
        error = await self._run_steps(run, schedule, abort)
        if error is None:
            logger.info("run=%s outcome=succeeded", run_id)
            return RunResult(succeeded=True)
        order = compensation_order(schedule, persisted, run.started)
        return await self._compensate(run_id, ctx, order, error)

    async def compensate(
        self,
        run_id: RunId,
        schedule: Schedule,
        ctx: C,
        states: Mapping[TaskId, TaskState],
        error: SpfedError,
    ) -> RunResult:
        """Recovery: compensate a run interrupted by a restart.

        Compensates the tasks whose persisted state shows they started
        (RUNNING, SUCCEEDED, FAILED or CANCELLED), in reverse schedule order;
        COMPENSATED ones are done already; tasks not in ``schedule`` are
        ignored (with a warning). Reports as ``run`` does, including
        ``compensating(run_id, error)``; ``error`` becomes the result's error.

        Raises:
            UnknownTaskError: the schedule names an unregistered task.
        """
        self._require_registered(schedule)
        strangers = sorted(t for t in states if t not in schedule)
        if strangers:
            logger.warning(
                "run=%s outcome=ignoring_unscheduled tasks=%s", run_id, ",".join(strangers)
            )
        return await self._compensate(run_id, ctx, compensation_order(schedule, states), error)

    async def _run_steps(
        self, run: _Run[C], schedule: Schedule, abort: asyncio.Event | None
    ) -> SpfedError | None:
        while True:
            if abort is not None and abort.is_set():
                return Cancelled("aborted")
            step = self._policy.next_step(schedule, MappingProxyType(run.states))
            if step is None:
                return None
            problem = step_violation(step, schedule, run.states)
            if problem is not None:
                logger.error(
                    "run=%s outcome=policy_error step=%r problem=%s", run.run_id, step, problem
                )
                return Internal(f"schedule policy {self._policy!r} returned {step!r}: {problem}")
            error = await self._run_step(run, step, abort)
            if error is not None:
                return error

    async def _run_step(
        self, run: _Run[C], step: tuple[TaskId, ...], abort: asyncio.Event | None
    ) -> SpfedError | None:
        end = await run_concurrently(
            {task: self._run_task(run, task) for task in step}, abort, name=run.run_id
        )
        why = "the run was aborted" if end.aborted else f"task {end.failed} failed"
        reason = f"cancelled because {why}"
        for task in end.cancelled:
            if task in run.started:
                await self._finished(
                    run, task, TaskState.CANCELLED, run.attempts[task], Cancelled(reason)
                )
        return Cancelled("aborted") if end.aborted else end.error

    async def _run_task(self, run: _Run[C], task: TaskId) -> SpfedError | None:
        definition = self._registry.get(task)
        run.started.append(task)
        run.attempts[task] = 0

        async def started(attempt: int) -> None:
            run.attempts[task] = attempt
            run.states[task] = TaskState.RUNNING
            await self._listener.task_started(run.run_id, task, attempt)
            self._fault(run.run_id, task, "before")

        outcome, attempts = await self._attempts(run.run_id, definition, run.ctx, started)
        if isinstance(outcome, Succeeded):
            self._fault(run.run_id, task, "after_effect")
            await self._finished(run, task, TaskState.SUCCEEDED, attempts, None, outcome.output)
            self._fault(run.run_id, task, "after_persist")
            return None
        await self._finished(run, task, TaskState.FAILED, attempts, outcome.error)
        return outcome.error

    async def _attempts(
        self,
        run_id: RunId,
        definition: TaskDefinition[C],
        ctx: C,
        before_attempt: Callable[[int], Awaitable[None]] | None,
    ) -> tuple[Outcome, int]:
        """Attempts of a task, or (without ``before_attempt``) of its compensator."""
        return await execute_with_retries(
            definition,
            ctx,
            run_id=run_id,
            timeout_s=definition.timeout_s or self._default_timeout_s,
            max_attempts=definition.max_attempts or self._max_attempts,
            retry_delay_s=self._retry_delay_s,
            sleep=self._sleep,
            compensate=before_attempt is None,
            before_attempt=before_attempt,
        )

    async def _compensate(
        self, run_id: RunId, ctx: C, order: Sequence[TaskId], error: SpfedError
    ) -> RunResult:
        failures = await compensate_in_order(
            run_id,
            order,
            error,
            registry=self._registry,
            listener=self._listener,
            attempts=lambda definition: self._attempts(run_id, definition, ctx, None),
        )
        return RunResult(succeeded=False, error=error, compensation_errors=failures)

    async def _finished(
        self,
        run: _Run[C],
        task: TaskId,
        state: TaskState,
        attempts: int,
        error: SpfedError | None,
        output: object = None,
    ) -> None:
        run.states[task] = state
        await self._listener.task_finished(run.run_id, task, state, attempts, error, output)

    def _fault(self, run_id: RunId, task: TaskId, phase: FaultPhase) -> None:
        if self._fault_hook is not None:
            self._fault_hook(run_id, task, phase)

    def _require_registered(self, schedule: Schedule) -> None:
        for task in schedule.task_ids():
            self._registry.get(task)
