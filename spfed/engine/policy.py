"""Schedule policies: which tasks of a schedule run next.

The runner asks its policy for the next step after every step, passing the
current state of every task (including states persisted by an earlier run),
and stops with success when the policy returns ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from spfed.engine.ids import TaskId
from spfed.engine.schedule import Schedule
from spfed.model.services import TaskState

__all__ = ["InOrderPolicy", "SchedulePolicy", "step_violation"]


class SchedulePolicy(Protocol):
    """Picks the tasks to run next.

    Contract: return a non-empty tuple of distinct task ids of ``schedule``,
    none of them SUCCEEDED in ``states``, or ``None`` when the workflow is
    complete. The runner fails the run (``Internal``) and compensates when a
    policy breaks this contract, so a buggy policy cannot loop forever.
    """

    def next_step(
        self, schedule: Schedule, states: Mapping[TaskId, TaskState]
    ) -> tuple[TaskId, ...] | None:
        """The tasks to run concurrently next, or ``None`` when done."""
        ...


class InOrderPolicy:
    """The default: steps in schedule order, skipping what already succeeded.

    The next step is the first one with a task not yet SUCCEEDED; of that step,
    only the tasks not yet SUCCEEDED run (a resumed run redoes only those).
    """

    def next_step(
        self, schedule: Schedule, states: Mapping[TaskId, TaskState]
    ) -> tuple[TaskId, ...] | None:
        """See ``SchedulePolicy.next_step``."""
        for step in schedule.steps:
            todo = tuple(t for t in step if states.get(t) is not TaskState.SUCCEEDED)
            if todo:
                return todo
        return None

    def __repr__(self) -> str:
        return "InOrderPolicy()"


def step_violation(
    step: tuple[TaskId, ...], schedule: Schedule, states: Mapping[TaskId, TaskState]
) -> str | None:
    """How a step returned by a policy breaks the ``SchedulePolicy`` contract, or None."""
    if not step:
        return "an empty step"
    if len(set(step)) != len(step):
        return "a task twice"
    for task in step:
        if task not in schedule:
            return f"task {task!r}, which is not in the schedule"
        if states.get(task) is TaskState.SUCCEEDED:
            return f"task {task!r}, which already succeeded"
    return None
