"""What the runner reports while it works: the caller persists progress here."""

from __future__ import annotations

from typing import Protocol

from spfed.engine.ids import RunId, TaskId
from spfed.errors import SpfedError
from spfed.model.services import TaskState

__all__ = ["RunListener"]


class RunListener(Protocol):
    """Receives a run's progress; the runner awaits every call before going on.

    These calls are how progress is persisted, so a resumed or recovered run
    sees exactly what was reported. An exception raised by a listener is
    treated as a node failure: it propagates out of ``WorkflowRunner.run``
    (after in-flight tasks are cancelled) without compensation.
    """

    async def task_started(self, run_id: RunId, task: TaskId, attempt: int) -> None:
        """Attempt ``attempt`` (1-based) of ``task`` is about to run."""
        ...

    async def task_finished(
        self,
        run_id: RunId,
        task: TaskId,
        state: TaskState,
        attempts: int,
        error: SpfedError | None,
        output: object = None,
    ) -> None:
        """``task`` reached ``state``.

        * SUCCEEDED: the task ran; ``error`` is None, ``output`` is what it returned
          (``None``: no output). A listener that persists progress persists the
          output with the success, in one write: later tasks, and a recovery after a
          restart, read it from there.
        * FAILED: the task failed for good, or (during compensation) its
          compensator did; ``error`` says why.
        * CANCELLED: the task was cancelled because a sibling failed or the run
          was aborted; ``error`` is a ``Cancelled`` saying which.
        * COMPENSATED: its compensator succeeded; ``error`` is None.

        ``attempts`` counts the attempts of the phase (run or compensation).
        """
        ...

    async def compensating(self, run_id: RunId, error: SpfedError) -> None:
        """The run failed with ``error`` and compensation begins."""
        ...
