"""Fakes for the engine tests: a recording listener, a fake sleep, a small context."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from spfed.engine import RunId, TaskId, TaskRegistry
from spfed.errors import SpfedError
from spfed.model.services import TaskState

Event = tuple[object, ...]


@dataclass
class Ctx:
    """Workflow context: task bodies and compensators append to ``log``."""

    log: list[str] = field(default_factory=list)


class RecordingListener:
    """Records every call as a tuple, after a few loop turns, like real persistence.

    With ``log``, each call is also appended to it (e.g. a ``Ctx.log``) so a
    test can see how reports interleave with task bodies.
    """

    def __init__(self, log: list[str] | None = None, *, turns: int = 1) -> None:
        self.events: list[Event] = []
        self.errors: dict[TaskId, SpfedError | None] = {}
        self.reports: dict[tuple[TaskId, TaskState], SpfedError | None] = {}
        self.states: dict[TaskId, TaskState] = {}
        self.outputs: dict[TaskId, object] = {}
        self.run_ids: set[RunId] = set()
        self._log = log
        self._turns = turns

    async def _persist(self, run_id: RunId, event: Event) -> None:
        for _ in range(self._turns):
            await asyncio.sleep(0)
        self.run_ids.add(run_id)
        self.events.append(event)
        if self._log is not None:
            self._log.append(":".join(str(part) for part in event))

    async def task_started(self, run_id: RunId, task: TaskId, attempt: int) -> None:
        self.states[task] = TaskState.RUNNING
        await self._persist(run_id, ("started", task, attempt))

    async def task_finished(
        self,
        run_id: RunId,
        task: TaskId,
        state: TaskState,
        attempts: int,
        error: SpfedError | None,
        output: object = None,
    ) -> None:
        self.states[task] = state
        if output is not None:
            self.outputs[task] = output
        self.errors[task] = error
        self.reports[task, state] = error
        await self._persist(run_id, ("finished", task, state, attempts))

    async def compensating(self, run_id: RunId, error: SpfedError) -> None:
        await self._persist(run_id, ("compensating", type(error).__name__))

    def finished(self, state: TaskState) -> list[TaskId]:
        """Tasks reported with ``state``, in report order."""
        return [TaskId(str(e[1])) for e in self.events if e[0] == "finished" and e[2] is state]


class FakeSleep:
    """Records requested delays and returns at once (after one loop turn)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def simple_tasks(*ids: str, compensators: bool = True) -> TaskRegistry[Ctx]:
    """A registry of tasks that log ``run:<id>`` and compensators that log ``undo:<id>``."""
    registry: TaskRegistry[Ctx] = TaskRegistry()
    for id in ids:
        add_simple_task(registry, id, compensator=compensators)
    return registry


def add_simple_task(registry: TaskRegistry[Ctx], id: str, *, compensator: bool = True) -> None:
    """Register one logging task (and its logging compensator) on ``registry``."""

    async def run(ctx: Ctx) -> None:
        ctx.log.append(f"run:{id}")

    async def undo(ctx: Ctx) -> None:
        ctx.log.append(f"undo:{id}")

    definition = registry.task(id)(run)
    if compensator:
        definition.compensator(undo)
