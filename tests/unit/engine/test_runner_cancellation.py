"""Abort (compensates) versus cancellation of the run itself (does not), and no leaks."""

from __future__ import annotations

import asyncio

import pytest

from spfed.engine import RunId, Schedule, TaskId, TaskRegistry, WorkflowRunner
from spfed.errors import Cancelled, SpfedError
from spfed.model.services import TaskState
from tests.unit.engine.fakes import Ctx, FakeSleep, RecordingListener, simple_tasks

RUN = RunId("op-1")
S = TaskState
SCHEDULE = Schedule.of("validate", ("deploy_local", "delegate_subservices"), "record")


def blocking_tasks(started: asyncio.Event) -> TaskRegistry[Ctx]:
    """validate → (deploy_local ∥ delegate_subservices) → record; both middle tasks block.

    ``started`` is set once both blocking tasks are running.
    """
    tasks = simple_tasks("validate", "record")
    running: set[str] = set()

    def blocking(id: str) -> None:
        async def run(ctx: Ctx) -> None:
            ctx.log.append(f"run:{id}")
            running.add(id)
            if len(running) == 2:
                started.set()
            try:
                await asyncio.Event().wait()
            finally:
                ctx.log.append(f"stopped:{id}")

        async def undo(ctx: Ctx) -> None:
            ctx.log.append(f"undo:{id}")

        tasks.task(id)(run).compensator(undo)

    blocking("deploy_local")
    blocking("delegate_subservices")
    return tasks


def runner(tasks: TaskRegistry[Ctx], listener: RecordingListener) -> WorkflowRunner[Ctx]:
    return WorkflowRunner(tasks, listener, default_timeout_s=10, sleep=FakeSleep())


async def test_abort_cancels_in_flight_tasks_and_compensates() -> None:
    started, abort = asyncio.Event(), asyncio.Event()
    listener, ctx = RecordingListener(), Ctx()
    run = asyncio.create_task(
        runner(blocking_tasks(started), listener).run(RUN, SCHEDULE, ctx, abort=abort)
    )
    await started.wait()
    abort.set()
    result = await run

    assert not result.succeeded
    assert isinstance(result.error, Cancelled)
    assert result.error.message == "aborted"
    assert listener.finished(S.CANCELLED) == ["deploy_local", "delegate_subservices"]
    reason = listener.reports[TaskId("deploy_local"), S.CANCELLED]
    assert reason is not None
    assert reason.message == "cancelled because the run was aborted"
    assert ("compensating", "Cancelled") in listener.events
    assert ctx.log[-3:] == ["undo:delegate_subservices", "undo:deploy_local", "undo:validate"]
    assert "record" not in listener.states


async def test_abort_before_the_run_starts_runs_nothing() -> None:
    abort = asyncio.Event()
    abort.set()
    listener, ctx = RecordingListener(), Ctx()
    result = await runner(simple_tasks("validate"), listener).run(
        RUN, Schedule.of("validate"), ctx, abort=abort
    )
    assert isinstance(result.error, Cancelled)
    assert listener.events == [("compensating", "Cancelled")]
    assert ctx.log == []


async def test_cancelling_the_run_stops_its_tasks_and_does_not_compensate() -> None:
    started = asyncio.Event()
    listener, ctx = RecordingListener(), Ctx()
    before = asyncio.all_tasks()
    run = asyncio.create_task(runner(blocking_tasks(started), listener).run(RUN, SCHEDULE, ctx))
    await started.wait()
    reported = list(listener.events)

    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    assert asyncio.all_tasks() - before == set()  # no child task outlives run()
    assert sorted(ctx.log[-2:]) == ["stopped:delegate_subservices", "stopped:deploy_local"]
    assert listener.events == reported  # nothing reported: progress stays as persisted
    assert listener.states[TaskId("deploy_local")] is S.RUNNING
    assert not any(line.startswith("undo:") for line in ctx.log)


async def test_cancelling_the_run_during_a_retry_delay_propagates() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()
    attempts: list[int] = []
    sleeping = asyncio.Event()

    @tasks.task("connect_wan")
    async def connect(ctx: Ctx) -> None:
        attempts.append(1)
        raise _Temporary("wim busy")

    async def sleep_until_cancelled(delay: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    engine = WorkflowRunner(tasks, RecordingListener(), sleep=sleep_until_cancelled)
    run = asyncio.create_task(engine.run(RUN, Schedule.of("connect_wan"), Ctx()))
    await sleeping.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert attempts == [1]


async def test_a_failing_listener_is_a_node_failure_that_propagates_without_compensating() -> None:
    class BrokenStore(RecordingListener):
        async def task_finished(
            self,
            run_id: RunId,
            task: TaskId,
            state: TaskState,
            attempts: int,
            error: SpfedError | None,
            output: object = None,
        ) -> None:
            if task == "record":
                raise OSError("disk full")
            await super().task_finished(run_id, task, state, attempts, error, output)

    tasks = blocking_tasks(asyncio.Event())
    listener, ctx = BrokenStore(), Ctx()
    schedule = Schedule.of("validate", ("record", "deploy_local"))
    with pytest.raises(OSError, match="disk full"):
        await runner(tasks, listener).run(RUN, schedule, ctx)
    assert ctx.log[-1] == "stopped:deploy_local"
    assert not any(e[0] == "compensating" for e in listener.events)


class _Temporary(SpfedError):
    temporary = True
