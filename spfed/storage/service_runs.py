"""The workflow progress of services' operations: task states and the run's context.

Kept apart from the service records (``ServiceStore``): the lifecycle's run
listener writes a task's progress, the run's context (its tasks' outputs) and
the task's event in one transaction here, and recovery reads unfinished runs
from here at start-up. The rows are those of ``workflow_runs`` and
``workflow_tasks``; a run is created with its operation
(``ServiceStore.create_service``, ``start_operation``: ``insert_run``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update

from spfed.model import ErrorStatus, Operation, OperationState, ServiceEvent, TaskState
from spfed.storage import _codecs as codec
from spfed.storage._service_rows import EventSequences, read_operation
from spfed.storage.database import Database
from spfed.storage.schema import operations, workflow_runs, workflow_tasks

__all__ = ["ServiceRunStore", "StoredRun", "insert_run"]

_UPDATE_TASK = (
    update(workflow_tasks)
    .where(
        workflow_tasks.c.run_id == bindparam("rid"), workflow_tasks.c.task_id == bindparam("tid")
    )
    .values(state=bindparam("state"), attempts=bindparam("attempts"), error=bindparam("error"))
)
_UPDATE_CONTEXT = (
    update(workflow_runs)
    .where(workflow_runs.c.id == bindparam("rid"))
    .values(context=bindparam("ctx"))
)
_INSERT_RUN = insert(workflow_runs)
_INSERT_TASKS = insert(workflow_tasks)


@dataclass(frozen=True)
class StoredRun:
    """An unfinished run, as found at start-up."""

    operation: Operation
    """Its operation (with per-task progress)."""
    workflow: str
    """Workflow name."""
    schedule: tuple[tuple[str, ...], ...]
    """Steps of task ids."""
    context: str
    """Serialised run context as of the last finished task."""


def insert_run(
    conn: Connection,
    operation: Operation,
    workflow: str,
    schedule: tuple[tuple[str, ...], ...],
    context: str,
) -> None:
    """Create the workflow run of a new operation (in its transaction)."""
    conn.execute(
        _INSERT_RUN,
        {
            "id": operation.id,
            "workflow": workflow,
            "schedule": codec.dump(codec.SCHEDULE, schedule),
            "context": context,
        },
    )
    conn.execute(
        _INSERT_TASKS,
        [
            {
                "run_id": operation.id,
                "task_id": t.task,
                "position": i,
                "state": t.state.value,
                "attempts": t.attempts,
            }
            for i, t in enumerate(operation.tasks)
        ],
    )


class ServiceRunStore:
    """Progress of the workflow runs that carry out services' operations."""

    def __init__(self, db: Database, sequences: EventSequences) -> None:
        self._db = db
        self._sequences = sequences

    async def run_context(self, operation_id: str) -> str | None:
        """The persisted context of an operation's workflow run."""

        def run(conn: Connection) -> str | None:
            return conn.execute(
                select(workflow_runs.c.context).where(workflow_runs.c.id == operation_id)
            ).scalar_one_or_none()

        return await self._db.run(run)

    def record_task(
        self,
        service_id: str,
        run_id: str,
        task: str,
        state: TaskState,
        attempts: int,
        error: ErrorStatus | None,
        context: str | None,
        events: Sequence[ServiceEvent],
    ) -> asyncio.Future[list[ServiceEvent]]:
        """Persist one task's progress, the run context after it, and its events."""

        error_text = codec.dump_optional(codec.ERROR, error)

        def run(conn: Connection) -> list[ServiceEvent]:
            conn.execute(
                _UPDATE_TASK,
                {
                    "rid": run_id,
                    "tid": task,
                    "state": state.value,
                    "attempts": attempts,
                    "error": error_text,
                },
            )
            if context is not None:
                conn.execute(_UPDATE_CONTEXT, {"rid": run_id, "ctx": context})
            return self._sequences.append(conn, service_id, events)

        return self._db.submit(run)

    async def unfinished_runs(self) -> list[StoredRun]:
        """Runs whose operation never finished (found at start-up)."""

        def run(conn: Connection) -> list[StoredRun]:
            rows = conn.execute(
                select(
                    operations.c.id,
                    workflow_runs.c.workflow,
                    workflow_runs.c.schedule,
                    workflow_runs.c.context,
                )
                .join(workflow_runs, workflow_runs.c.id == operations.c.id)
                .where(
                    operations.c.state.in_(
                        [OperationState.RUNNING.value, OperationState.COMPENSATING.value]
                    )
                )
                .order_by(operations.c.created_at)
            ).all()
            out = []
            for row in rows:
                op = read_operation(conn, row.id)
                if op is not None:
                    out.append(
                        StoredRun(
                            op, row.workflow, codec.load(codec.SCHEDULE, row.schedule), row.context
                        )
                    )
            return out

        return await self._db.run(run)
