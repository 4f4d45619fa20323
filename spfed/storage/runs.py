"""The task engine's run store in SQL: ``EngineRunStore``, the node's ``spfed.engine.RunStore``.

It implements the engine's port with the engine's own types (``RunRecord``,
``TaskRecord``): the storage layer sits above the engine.

One row per run in ``engine_runs`` (workflow, subject, schedule and context as text, the
run's state and error) and one per reported task in ``engine_tasks``; migration 0009
creates them (declared in ``schema.py``). Every write is awaited: it is committed when
the call returns. Finished runs stay, as the history of what ran.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Connection, insert, select, update

from spfed.engine import RunRecord, TaskRecord
from spfed.errors import InvalidArgument, NotFound
from spfed.model import ErrorStatus, OperationState, TaskState
from spfed.storage import _codecs as codec
from spfed.storage._upsert import upsert
from spfed.storage.database import Database
from spfed.storage.schema import engine_runs, engine_tasks

__all__ = ["EngineRunStore", "RunRecord", "TaskRecord"]

T = TypeVar("T")

_R = engine_runs.c
_T = engine_tasks.c
_UNFINISHED = (OperationState.RUNNING.value, OperationState.COMPENSATING.value)
_write_task = upsert(engine_tasks)


def _now() -> datetime:
    return datetime.now(UTC)


def _runs(
    conn: Connection, where: ColumnElement[bool], *, limit_one: bool = False
) -> list[RunRecord]:
    query = select(engine_runs).where(where).order_by(_R.created_at, _R.id)
    rows = conn.execute(query.limit(1) if limit_one else query).all()
    if not rows:
        return []
    tasks: dict[str, list[TaskRecord]] = {row.id: [] for row in rows}
    for task in conn.execute(
        select(engine_tasks).where(_T.run_id.in_(list(tasks))).order_by(_T.run_id, _T.task_id)
    ):
        tasks[task.run_id].append(
            TaskRecord(
                task.task_id,
                TaskState(task.state),
                task.attempts,
                codec.load_optional(codec.ERROR, task.error),
            )
        )
    return [
        RunRecord(
            run_id=row.id,
            workflow=row.workflow,
            subject=row.subject,
            schedule=row.schedule,
            context=row.context,
            state=OperationState(row.state),
            error=codec.load_optional(codec.ERROR, row.error),
            tasks=tuple(tasks[row.id]),
        )
        for row in rows
    ]


def _touch(conn: Connection, run_id: str, **values: object) -> None:
    """Update a run's row (and its update time).

    Raises:
        NotFound: no run with that id.
    """
    done = conn.execute(
        update(engine_runs).where(_R.id == run_id).values(updated_at=_now(), **values)
    )
    if done.rowcount == 0:
        raise NotFound(f"run {run_id} not found")


class EngineRunStore:
    """Runs of the task engine and their tasks' progress, in the node's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _run(self, fn: Callable[[Connection], T]) -> T:
        return await self._db.run(fn)

    async def create_run(
        self, run_id: str, workflow: str, subject: str, schedule: str, context: str
    ) -> None:
        """Record a new run, RUNNING, with no task reported.

        Raises:
            AlreadyExists: a run with that id is stored already.
        """
        now = _now()
        row = {
            "id": run_id,
            "workflow": workflow,
            "subject": subject,
            "schedule": schedule,
            "context": context,
            "state": OperationState.RUNNING.value,
            "error": None,
            "created_at": now,
            "updated_at": now,
        }
        await self._run(lambda conn: conn.execute(insert(engine_runs), row))

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
        row = {
            "run_id": run_id,
            "task_id": task,
            "state": state.value,
            "attempts": attempts,
            "error": codec.dump_optional(codec.ERROR, error),
        }

        def run(conn: Connection) -> None:
            if context is None:
                _touch(conn, run_id)
            else:
                _touch(conn, run_id, context=context)
            _write_task(conn, row)

        await self._run(run)

    async def compensating(self, run_id: str, error: ErrorStatus) -> None:
        """The run compensates after ``error``.

        Raises:
            NotFound: no run with that id.
        """
        text = codec.dump(codec.ERROR, error)
        await self._run(
            lambda conn: _touch(conn, run_id, state=OperationState.COMPENSATING.value, error=text)
        )

    async def finish(self, run_id: str, state: OperationState, error: ErrorStatus | None) -> None:
        """The run is over: SUCCEEDED, or FAILED with ``error``.

        Raises:
            NotFound: no run with that id.
            InvalidArgument: ``state`` is not a final state.
        """
        if not state.done:
            raise InvalidArgument(f"a run finishes SUCCEEDED or FAILED, not {state.name}")
        text = codec.dump_optional(codec.ERROR, error)
        await self._run(lambda conn: _touch(conn, run_id, state=state.value, error=text))

    async def get(self, run_id: str) -> RunRecord | None:
        """One run, if stored."""
        found = await self._run(lambda conn: _runs(conn, _R.id == run_id, limit_one=True))
        return found[0] if found else None

    async def unfinished(self, workflow: str) -> list[RunRecord]:
        """The runs of ``workflow`` that never finished, oldest first."""
        where = (_R.workflow == workflow) & _R.state.in_(_UNFINISHED)
        return await self._run(lambda conn: _runs(conn, where))
