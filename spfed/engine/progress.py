"""Persisted progress of workflow runs: the run store, and the listener that writes it.

A ``RunStore`` keeps, per run, what a restarted node needs to pick the run up:
the workflow's name, the subject it works on (an id the caller chooses), the
schedule, the run's context as JSON text (the caller's to define), the state of
every task reported so far and whether the run has finished. ``RunStoreListener``
is the ``RunListener`` that writes a run's reports there, each one awaited, so a
report is stored before the runner goes on (a task's start before its body runs,
its success before the next task). At start-up, ``unfinished(workflow)`` gives
the runs to resume (``WorkflowRunner.run`` with ``task_states(run)``) or to
compensate (``WorkflowRunner.compensate``).

The store knows nothing of what a workflow does: schedules and contexts are
text to it. ``InMemoryRunStore`` is the implementation for tests and for nodes
without a database; ``spfed.storage.EngineRunStore`` is the SQL one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from spfed.engine.ids import RunId, TaskId, task_id
from spfed.engine.schedule import Schedule
from spfed.errors import AlreadyExists, InvalidArgument, NotFound, SpfedError
from spfed.model.services import ErrorStatus, OperationState, TaskState

__all__ = [
    "InMemoryRunStore",
    "RunRecord",
    "RunStore",
    "RunStoreListener",
    "TaskRecord",
    "schedule_from_text",
    "schedule_text",
    "task_states",
]

_UNFINISHED = frozenset({OperationState.RUNNING, OperationState.COMPENSATING})


@dataclass(frozen=True)
class TaskRecord:
    """One task of a stored run, as last reported."""

    task: str
    """Task id."""
    state: TaskState
    """Its last reported state."""
    attempts: int = 0
    """Attempts of its last phase (run or compensation)."""
    error: ErrorStatus | None = None
    """Why it failed (FAILED, CANCELLED), else None."""


@dataclass(frozen=True)
class RunRecord:
    """A stored run."""

    run_id: str
    """The run's id."""
    workflow: str
    """Name of the workflow, e.g. ``slice_create``."""
    subject: str
    """What the run works on (the caller's id of it)."""
    schedule: str
    """The schedule, as ``schedule_text`` wrote it."""
    context: str
    """The run's context as its workflow serialised it, after the last report."""
    state: OperationState = OperationState.RUNNING
    """RUNNING, COMPENSATING, or (finished) SUCCEEDED or FAILED."""
    error: ErrorStatus | None = None
    """Why it failed or compensates, else None."""
    tasks: tuple[TaskRecord, ...] = ()
    """Every task reported so far (a task never reported is PENDING), by task id."""


class RunStore(Protocol):
    """Where runs' progress is kept; every method's write is durable when it returns."""

    async def create_run(
        self, run_id: str, workflow: str, subject: str, schedule: str, context: str
    ) -> None:
        """Record a new run, RUNNING, with no task reported.

        Raises:
            AlreadyExists: a run with that id is stored already.
        """
        ...

    async def record_task(
        self,
        run_id: str,
        task: str,
        state: TaskState,
        attempts: int,
        error: ErrorStatus | None,
        context: str | None,
    ) -> None:
        """Record a task's state; ``context`` (when not None) replaces the run's.

        Raises:
            NotFound: no run with that id.
        """
        ...

    async def compensating(self, run_id: str, error: ErrorStatus) -> None:
        """The run failed with ``error`` and compensates (state COMPENSATING).

        Raises:
            NotFound: no run with that id.
        """
        ...

    async def finish(self, run_id: str, state: OperationState, error: ErrorStatus | None) -> None:
        """The run is over: SUCCEEDED, or FAILED with ``error``.

        Raises:
            NotFound: no run with that id.
            InvalidArgument: ``state`` is not a final state.
        """
        ...

    async def get(self, run_id: str) -> RunRecord | None:
        """One run, if stored."""
        ...

    async def unfinished(self, workflow: str) -> Sequence[RunRecord]:
        """The runs of ``workflow`` that never finished (RUNNING or COMPENSATING), oldest
        first."""
        ...


def schedule_text(schedule: Schedule) -> str:
    """A schedule as text for ``RunStore.create_run``: its steps as a JSON list of lists."""
    return json.dumps([list(step) for step in schedule.steps], separators=(",", ":"))


def schedule_from_text(text: str) -> Schedule:
    """The schedule ``schedule_text`` wrote.

    Raises:
        InvalidArgument: the text is not such a schedule.
    """
    try:
        steps = json.loads(text)
        if not isinstance(steps, list) or not all(isinstance(s, list) for s in steps):
            raise ValueError("expected a list of steps, each a list of task ids")
        return Schedule(tuple(tuple(task_id(t) for t in step) for step in steps))
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"stored schedule {text[:80]!r} is malformed: {exc}") from exc


def task_states(run: RunRecord) -> dict[TaskId, TaskState]:
    """The stored task states of a run, as ``WorkflowRunner.run`` and ``compensate`` take
    them."""
    return {TaskId(t.task): t.state for t in run.tasks}


class RunStoreListener:
    """The ``RunListener`` that writes each report of a run to a ``RunStore``, awaited.

    ``snapshot()`` serialises the run's context; it is stored with every task
    report, so the stored context is the one after the last reported step.
    """

    def __init__(self, store: RunStore, snapshot: Callable[[], str]) -> None:
        self._store = store
        self._snapshot = snapshot

    async def task_started(self, run_id: RunId, task: TaskId, attempt: int) -> None:
        """See ``RunListener.task_started``: the task is RUNNING."""
        await self._store.record_task(
            run_id, task, TaskState.RUNNING, attempt, None, self._snapshot()
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
        """See ``RunListener.task_finished``. Outputs are not kept: the run's context
        (``snapshot``) is all this store holds, so its workflows' tasks return none."""
        status = ErrorStatus.from_error(error) if error is not None else None
        await self._store.record_task(run_id, task, state, attempts, status, self._snapshot())

    async def compensating(self, run_id: RunId, error: SpfedError) -> None:
        """See ``RunListener.compensating``: the run is COMPENSATING."""
        await self._store.compensating(run_id, ErrorStatus.from_error(error))


class InMemoryRunStore:
    """A ``RunStore`` in memory: for tests, and for a node that need not survive restarts."""

    def __init__(self) -> None:
        self._runs: dict[str, RunRecord] = {}

    async def create_run(
        self, run_id: str, workflow: str, subject: str, schedule: str, context: str
    ) -> None:
        """See ``RunStore.create_run``."""
        if run_id in self._runs:
            raise AlreadyExists(f"run {run_id} is stored already")
        self._runs[run_id] = RunRecord(run_id, workflow, subject, schedule, context)

    async def record_task(
        self,
        run_id: str,
        task: str,
        state: TaskState,
        attempts: int,
        error: ErrorStatus | None,
        context: str | None,
    ) -> None:
        """See ``RunStore.record_task``."""
        run = self._run(run_id)
        tasks = {t.task: t for t in run.tasks}
        tasks[task] = TaskRecord(task, state, attempts, error)
        self._runs[run_id] = replace(
            run,
            tasks=tuple(tasks[t] for t in sorted(tasks)),
            context=run.context if context is None else context,
        )

    async def compensating(self, run_id: str, error: ErrorStatus) -> None:
        """See ``RunStore.compensating``."""
        run = self._run(run_id)
        self._runs[run_id] = replace(run, state=OperationState.COMPENSATING, error=error)

    async def finish(self, run_id: str, state: OperationState, error: ErrorStatus | None) -> None:
        """See ``RunStore.finish``."""
        _require_final(state)
        run = self._run(run_id)
        self._runs[run_id] = replace(run, state=state, error=error)

    async def get(self, run_id: str) -> RunRecord | None:
        """See ``RunStore.get``."""
        return self._runs.get(run_id)

    async def unfinished(self, workflow: str) -> list[RunRecord]:
        """See ``RunStore.unfinished`` (oldest first: in creation order)."""
        return [r for r in self._runs.values() if r.workflow == workflow and r.state in _UNFINISHED]

    def runs(self) -> Mapping[str, RunRecord]:
        """Every stored run, by id (for tests)."""
        return dict(self._runs)

    def _run(self, run_id: str) -> RunRecord:
        run = self._runs.get(run_id)
        if run is None:
            raise NotFound(f"run {run_id} not found")
        return run


def _require_final(state: OperationState) -> None:
    if not state.done:
        raise InvalidArgument(f"a run finishes SUCCEEDED or FAILED, not {state.name}")
