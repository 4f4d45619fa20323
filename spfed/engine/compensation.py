"""Compensation: which started tasks to undo, in which order, and undoing them.

Every task that started may have left work behind, whether it succeeded,
failed or was cancelled half-way, so all of them are compensated; their
compensators are idempotent and tolerate partial or no work. Tasks without
a compensator are skipped without a report.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from spfed.engine.ids import RunId, TaskId
from spfed.engine.listener import RunListener
from spfed.engine.outcome import Outcome, Succeeded
from spfed.engine.registry import TaskDefinition, TaskRegistry
from spfed.engine.schedule import Schedule
from spfed.errors import SpfedError
from spfed.model.services import TaskState

__all__ = ["STARTED_STATES", "compensate_in_order", "compensation_order"]

C = TypeVar("C")

logger = logging.getLogger(__name__)

STARTED_STATES = frozenset(
    {TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED}
)
"""Persisted states showing that a task started and may have left work to undo."""


def compensation_order(
    schedule: Schedule,
    states: Mapping[TaskId, TaskState],
    started_now: Sequence[TaskId] = (),
) -> list[TaskId]:
    """The tasks to compensate, first to last.

    First the tasks in ``started_now`` (started by the current run, in start
    order), last-started first; then the other tasks of ``schedule`` whose
    ``states`` are in ``STARTED_STATES`` (started by an earlier run), in
    reverse schedule order. Tasks of ``states`` outside the schedule are
    ignored.
    """
    earlier = (
        task
        for task in reversed(schedule.task_ids())
        if states.get(task) in STARTED_STATES and task not in started_now
    )
    return [*reversed(started_now), *earlier]


async def compensate_in_order(
    run_id: RunId,
    order: Sequence[TaskId],
    error: SpfedError,
    *,
    registry: TaskRegistry[C],
    listener: RunListener,
    attempts: Callable[[TaskDefinition[C]], Awaitable[tuple[Outcome, int]]],
) -> tuple[tuple[TaskId, SpfedError], ...]:
    """Report ``compensating``, then run the compensators of ``order`` one by one.

    ``attempts(definition)`` runs a compensator with retries. Each task is
    reported COMPENSATED, or FAILED with its compensator's last error; a
    failure does not stop the others. Returns the failures, in order.

    Raises:
        UnknownTaskError: a task of ``order`` is not in ``registry``.
        Exception: what the listener raises.
    """
    logger.warning(
        "run=%s outcome=compensating tasks=%s error=%r",
        run_id,
        ",".join(order) or "-",
        error.describe(),
    )
    await listener.compensating(run_id, error)
    failures: list[tuple[TaskId, SpfedError]] = []
    for task in order:
        definition = registry.get(task)
        if definition.compensate is None:
            continue
        outcome, count = await attempts(definition)
        if isinstance(outcome, Succeeded):
            await listener.task_finished(run_id, task, TaskState.COMPENSATED, count, None)
        else:
            failures.append((task, outcome.error))
            await listener.task_finished(run_id, task, TaskState.FAILED, count, outcome.error)
    logger.warning(
        "run=%s outcome=failed compensation_errors=%d error=%r",
        run_id,
        len(failures),
        error.describe(),
    )
    return tuple(failures)
