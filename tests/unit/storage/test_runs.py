"""The engine's run store: the SQL one (SQLite, PostgreSQL) and the in-memory one, alike.

One contract, run against ``EngineRunStore`` on each backend and against
``InMemoryRunStore``; and a run written through ``RunStoreListener`` by a real
``WorkflowRunner`` is what a restarted node reads back.
"""

from __future__ import annotations

import pytest

from spfed.engine import (
    InMemoryRunStore,
    RunId,
    RunStore,
    RunStoreListener,
    Schedule,
    TaskId,
    TaskRegistry,
    WorkflowRunner,
    schedule_from_text,
    schedule_text,
    task_states,
)
from spfed.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable
from spfed.model import ErrorStatus, OperationState, TaskState
from spfed.storage import Database, EngineRunStore

SCHEDULE = Schedule.of("first", ("second", "third"), "fourth")


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def store(request: pytest.FixtureRequest) -> RunStore:
    """Every implementation of the protocol (the SQL one on each backend)."""
    if request.param == "memory":
        return InMemoryRunStore()
    fixture = "sqlite_db" if request.param == "sqlite" else "pg_db"
    db: Database = request.getfixturevalue(fixture)
    return EngineRunStore(db)


async def test_a_new_run_is_running_with_its_schedule_and_context(store: RunStore) -> None:
    await store.create_run("r1", "slice_create", "s1", schedule_text(SCHEDULE), '{"a":1}')
    run = await store.get("r1")
    assert run is not None
    assert (run.run_id, run.workflow, run.subject, run.context) == (
        "r1",
        "slice_create",
        "s1",
        '{"a":1}',
    )
    assert run.state is OperationState.RUNNING
    assert run.error is None
    assert run.tasks == ()
    assert schedule_from_text(run.schedule) == SCHEDULE
    assert await store.get("nothing") is None
    with pytest.raises(AlreadyExists):
        await store.create_run("r1", "slice_create", "s1", schedule_text(SCHEDULE), "{}")


async def test_tasks_are_recorded_and_replaced_and_the_context_follows(store: RunStore) -> None:
    await store.create_run("r1", "w", "s", schedule_text(SCHEDULE), "c0")
    await store.record_task("r1", "first", TaskState.RUNNING, 1, None, "c1")
    await store.record_task("r1", "first", TaskState.SUCCEEDED, 1, None, "c2")
    failed = ErrorStatus("UNAVAILABLE", "down", origin=("x",))
    await store.record_task("r1", "second", TaskState.FAILED, 3, failed, None)
    run = await store.get("r1")
    assert run is not None
    assert run.context == "c2"  # None leaves it as it was
    assert task_states(run) == {"first": TaskState.SUCCEEDED, "second": TaskState.FAILED}
    second = next(t for t in run.tasks if t.task == "second")
    assert (second.attempts, second.error) == (3, failed)
    with pytest.raises(NotFound):
        await store.record_task("ghost", "first", TaskState.RUNNING, 1, None, None)


async def test_unfinished_runs_are_those_of_the_workflow_not_yet_finished(
    store: RunStore,
) -> None:
    for run_id, workflow in (("a", "create"), ("b", "create"), ("c", "delete"), ("d", "create")):
        await store.create_run(run_id, workflow, f"subject-{run_id}", "[]", "{}")
    error = ErrorStatus("ABORTED", "restart")
    await store.compensating("b", error)
    await store.finish("d", OperationState.SUCCEEDED, None)
    await store.finish("c", OperationState.FAILED, error)

    unfinished = await store.unfinished("create")
    assert [r.run_id for r in unfinished] == ["a", "b"]  # oldest first
    assert unfinished[1].state is OperationState.COMPENSATING
    assert unfinished[1].error == error
    assert await store.unfinished("delete") == []
    failed = await store.get("c")
    assert failed is not None
    assert (failed.state, failed.error) == (OperationState.FAILED, error)


async def test_finishing_takes_a_final_state_and_a_stored_run(store: RunStore) -> None:
    await store.create_run("r", "w", "s", "[]", "{}")
    with pytest.raises(InvalidArgument):
        await store.finish("r", OperationState.COMPENSATING, None)
    with pytest.raises(NotFound):
        await store.finish("ghost", OperationState.SUCCEEDED, None)
    with pytest.raises(NotFound):
        await store.compensating("ghost", ErrorStatus("ABORTED", "x"))


def test_a_schedule_round_trips_as_text_and_bad_text_is_refused() -> None:
    assert schedule_from_text(schedule_text(SCHEDULE)) == SCHEDULE
    for bad in ("", "{}", "[1]", '[["Bad Id"]]', "[[]]"):
        with pytest.raises(InvalidArgument):
            schedule_from_text(bad)


async def test_a_runner_s_reports_land_in_the_store_as_it_goes(store: RunStore) -> None:
    """Each report is stored before the runner goes on: a task's start before its body."""
    tasks: TaskRegistry[list[str]] = TaskRegistry()
    seen: list[dict[TaskId, TaskState]] = []

    async def snapshot_states() -> None:
        run = await store.get("run")
        assert run is not None
        seen.append(dict(task_states(run)))

    @tasks.task("first")
    async def first(ctx: list[str]) -> None:
        await snapshot_states()
        ctx.append("first")

    @first.compensator
    async def undo_first(ctx: list[str]) -> None:
        ctx.append("undo first")

    @tasks.task("second", max_attempts=1)
    async def second(ctx: list[str]) -> None:
        raise Unavailable("second is down")

    ctx: list[str] = []
    schedule = Schedule.of("first", "second")
    await store.create_run("run", "w", "s", schedule_text(schedule), "[]")
    listener = RunStoreListener(store, lambda: str(len(ctx)))
    result = await WorkflowRunner(tasks, listener).run(RunId("run"), schedule, ctx)

    assert not result.succeeded
    assert seen == [{"first": TaskState.RUNNING}]
    run = await store.get("run")
    assert run is not None
    assert task_states(run) == {"first": TaskState.COMPENSATED, "second": TaskState.FAILED}
    assert run.state is OperationState.COMPENSATING
    assert run.error is not None
    assert run.error.code == "UNAVAILABLE"
    assert run.context == "2"  # after the compensation's report
    assert ctx == ["first", "undo first"]
