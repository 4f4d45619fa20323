"""Schedules: a workflow as data.

A schedule is an immutable, ordered tuple of steps; each step is a tuple of
task ids that run concurrently. Plug-ins edit schedules through the methods
below, each of which returns a new schedule and checks its input::

    Schedule.of("validate", "place", ("delegate_subservices", "deploy_local"), "record")

Every task id appears at most once in a schedule, because progress is
persisted per task id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from spfed.engine.ids import TaskId, task_id

__all__ = ["Schedule"]


@dataclass(frozen=True)
class Schedule:
    """Ordered steps of concurrently running tasks.

    Raises (on construction):
        ValueError: an empty step, a bad task id, or a task id that appears twice.
    """

    steps: tuple[tuple[TaskId, ...], ...]
    """The steps, in order; tasks within a step run concurrently."""

    def __post_init__(self) -> None:
        seen: dict[TaskId, int] = {}
        steps: list[tuple[TaskId, ...]] = []
        for index, step in enumerate(self.steps):
            checked = tuple(task_id(t) for t in step)
            if not checked:
                raise ValueError(f"schedule step {index} is empty")
            for task in checked:
                if task in seen:
                    raise ValueError(
                        f"task {task!r} appears twice in the schedule "
                        f"(steps {seen[task]} and {index})"
                    )
                seen[task] = index
            steps.append(checked)
        object.__setattr__(self, "steps", tuple(steps))

    @classmethod
    def of(cls, *steps: str | Iterable[str]) -> Schedule:
        """Build a schedule; a string is a one-task step, an iterable a parallel step."""
        return cls(
            tuple(
                (TaskId(step),) if isinstance(step, str) else tuple(TaskId(t) for t in step)
                for step in steps
            )
        )

    def task_ids(self) -> tuple[TaskId, ...]:
        """Every task id, step by step, in order."""
        return tuple(task for step in self.steps for task in step)

    def step_index(self, task: str) -> int:
        """Index of the step that holds ``task``.

        Raises:
            ValueError: ``task`` is not in the schedule.
        """
        for index, step in enumerate(self.steps):
            if task in step:
                return index
        raise ValueError(f"task {task!r} is not in the schedule {self}")

    def insert_after(self, anchor: str, task: str) -> Schedule:
        """A copy with ``task`` as a new step right after the step holding ``anchor``.

        Raises:
            ValueError: unknown ``anchor``, or ``task`` already in the schedule.
        """
        index = self._anchor(anchor)
        return self._with_new_task(task, index + 1, new_step=True)

    def insert_before(self, anchor: str, task: str) -> Schedule:
        """A copy with ``task`` as a new step right before the step holding ``anchor``.

        Raises:
            ValueError: unknown ``anchor``, or ``task`` already in the schedule.
        """
        index = self._anchor(anchor)
        return self._with_new_task(task, index, new_step=True)

    def add_parallel(self, anchor: str, task: str) -> Schedule:
        """A copy with ``task`` added to the step holding ``anchor`` (runs alongside it).

        Raises:
            ValueError: unknown ``anchor``, or ``task`` already in the schedule.
        """
        index = self._anchor(anchor)
        return self._with_new_task(task, index, new_step=False)

    def replace(self, old: str, new: str) -> Schedule:
        """A copy with ``new`` in the place of ``old``.

        Raises:
            ValueError: ``old`` not in the schedule, or ``new`` already in it.
        """
        self._anchor(old)
        if new == old:
            return self
        self._require_absent(new)
        return Schedule(tuple(tuple(TaskId(new) if t == old else t for t in s) for s in self.steps))

    def remove(self, task: str) -> Schedule:
        """A copy without ``task``; a step left empty is dropped.

        Raises:
            ValueError: ``task`` is not in the schedule.
        """
        self._anchor(task)
        steps = (tuple(t for t in step if t != task) for step in self.steps)
        return Schedule(tuple(step for step in steps if step))

    def __contains__(self, task: object) -> bool:
        return any(task in step for step in self.steps)

    def __iter__(self) -> Iterator[tuple[TaskId, ...]]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        return " → ".join(" ∥ ".join(step) for step in self.steps) or "(empty)"

    def _anchor(self, anchor: str) -> int:
        for index, step in enumerate(self.steps):
            if anchor in step:
                return index
        raise ValueError(f"unknown anchor task {anchor!r}: not in the schedule {self}")

    def _require_absent(self, task: str) -> None:
        task_id(task)
        if task in self:
            raise ValueError(
                f"task {task!r} is already in the schedule (step {self.step_index(task)}): {self}"
            )

    def _with_new_task(self, task: str, index: int, *, new_step: bool) -> Schedule:
        self._require_absent(task)
        steps = list(self.steps)
        if new_step:
            steps.insert(index, (TaskId(task),))
        else:
            steps[index] = (*steps[index], TaskId(task))
        return Schedule(tuple(steps))
