"""WorkflowRunner: ordering, persistence, concurrency, retries and resume."""

from __future__ import annotations

import asyncio

import pytest

from spfed.engine import (
    RunId,
    RunResult,
    Schedule,
    TaskId,
    TaskRegistry,
    UnknownTaskError,
    WorkflowRunner,
)
from spfed.errors import DeadlineExceeded, Unavailable
from spfed.model.services import TaskState
from tests.unit.engine.fakes import Ctx, FakeSleep, RecordingListener, simple_tasks

RUN = RunId("op-1")
S = TaskState


def runner(
    tasks: TaskRegistry[Ctx], listener: RecordingListener, sleep: FakeSleep | None = None
) -> WorkflowRunner[Ctx]:
    return WorkflowRunner(tasks, listener, default_timeout_s=5, sleep=sleep or FakeSleep())


async def test_steps_run_in_order_and_every_report_is_awaited_before_moving_on() -> None:
    tasks = simple_tasks("validate", "place", "deploy_local", "record")
    ctx = Ctx()
    listener = RecordingListener(ctx.log, turns=3)
    schedule = Schedule.of("validate", "place", "deploy_local", "record")

    result = await runner(tasks, listener).run(RUN, schedule, ctx)

    assert result == RunResult(succeeded=True)
    assert ctx.log == [
        "started:validate:1",
        "run:validate",
        "finished:validate:succeeded:1",
        "started:place:1",
        "run:place",
        "finished:place:succeeded:1",
        "started:deploy_local:1",
        "run:deploy_local",
        "finished:deploy_local:succeeded:1",
        "started:record:1",
        "run:record",
        "finished:record:succeeded:1",
    ]
    assert listener.run_ids == {RUN}
    assert listener.errors == dict.fromkeys(schedule.task_ids())


async def test_tasks_of_a_step_run_concurrently() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()
    barrier = asyncio.Barrier(2)

    # Each waits for the other: run one after the other, both would time out.
    @tasks.task("delegate_subservices", timeout_s=2, max_attempts=1)
    async def delegate(ctx: Ctx) -> None:
        await barrier.wait()

    @tasks.task("deploy_local", timeout_s=2, max_attempts=1)
    async def deploy(ctx: Ctx) -> None:
        await barrier.wait()

    listener = RecordingListener()
    schedule = Schedule.of(("delegate_subservices", "deploy_local"))
    result = await runner(tasks, listener).run(RUN, schedule, Ctx())

    assert result.succeeded
    assert sorted(listener.finished(S.SUCCEEDED)) == ["delegate_subservices", "deploy_local"]


async def test_a_temporary_error_is_retried_with_backoff_then_succeeds() -> None:
    tasks = simple_tasks("validate")
    failures = [Unavailable("lower SP unreachable"), Unavailable("still unreachable")]

    @tasks.task("delegate_subservices")
    async def delegate(ctx: Ctx) -> None:
        if failures:
            raise failures.pop(0)
        ctx.log.append("delegated")

    listener, sleep, ctx = RecordingListener(), FakeSleep(), Ctx()
    schedule = Schedule.of("validate", "delegate_subservices")
    result = await runner(tasks, listener, sleep).run(RUN, schedule, ctx)

    assert result.succeeded
    assert sleep.delays == [0.2, 0.4]
    assert listener.events[2:] == [
        ("started", "delegate_subservices", 1),
        ("started", "delegate_subservices", 2),
        ("started", "delegate_subservices", 3),
        ("finished", "delegate_subservices", S.SUCCEEDED, 3),
    ]
    assert ctx.log == ["run:validate", "delegated"]


async def test_temporary_errors_that_use_up_the_attempts_fail_the_task() -> None:
    tasks = simple_tasks("validate")
    error = Unavailable("lower SP unreachable")

    @tasks.task("delegate_subservices", max_attempts=2)
    async def delegate(ctx: Ctx) -> None:
        raise error

    listener, sleep, ctx = RecordingListener(), FakeSleep(), Ctx()
    schedule = Schedule.of("validate", "delegate_subservices", "record")
    result = await runner(simple_tasks("record").merge(tasks), listener, sleep).run(
        RUN, schedule, ctx
    )

    assert not result.succeeded
    assert result.error is error
    assert sleep.delays == [0.2]
    assert ("finished", "delegate_subservices", S.FAILED, 2) in listener.events
    assert listener.errors[TaskId("delegate_subservices")] is error
    assert "record" not in listener.states
    assert ctx.log == ["run:validate", "undo:validate"]


async def test_a_per_attempt_timeout_becomes_deadline_exceeded() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()

    @tasks.task("connect_wan", timeout_s=0.01, max_attempts=2)
    async def connect(ctx: Ctx) -> None:
        await asyncio.Event().wait()

    listener, sleep = RecordingListener(), FakeSleep()
    result = await runner(tasks, listener, sleep).run(RUN, Schedule.of("connect_wan"), Ctx())

    assert isinstance(result.error, DeadlineExceeded)
    assert result.error.message == "task connect_wan timed out after 0.01s"
    assert listener.events[:3] == [
        ("started", "connect_wan", 1),
        ("started", "connect_wan", 2),
        ("finished", "connect_wan", S.FAILED, 2),
    ]
    assert sleep.delays == [0.2]


async def test_resume_skips_tasks_that_already_succeeded() -> None:
    tasks = simple_tasks("validate", "delegate_subservices", "deploy_local", "record")
    listener, ctx = RecordingListener(), Ctx()
    schedule = Schedule.of("validate", ("delegate_subservices", "deploy_local"), "record")
    persisted = {
        TaskId("validate"): S.SUCCEEDED,
        TaskId("delegate_subservices"): S.SUCCEEDED,
        TaskId("deploy_local"): S.RUNNING,  # the node died while it ran
    }

    result = await runner(tasks, listener).run(RUN, schedule, ctx, states=persisted)

    assert result.succeeded
    assert ctx.log == ["run:deploy_local", "run:record"]
    assert [e[1] for e in listener.events if e[0] == "started"] == ["deploy_local", "record"]
    assert persisted[TaskId("deploy_local")] is S.RUNNING  # the caller's mapping is not touched


async def test_a_custom_policy_decides_what_runs_next() -> None:
    class Backwards:
        def next_step(self, schedule: Schedule, states: object) -> tuple[TaskId, ...] | None:
            todo = [t for t in schedule.task_ids() if states.get(t) is not S.SUCCEEDED]  # type: ignore[attr-defined]
            return (todo[-1],) if todo else None

    tasks, ctx = simple_tasks("a", "b", "c"), Ctx()
    engine = WorkflowRunner(tasks, RecordingListener(), policy=Backwards(), sleep=FakeSleep())
    assert (await engine.run(RUN, Schedule.of("a", "b", "c"), ctx)).succeeded
    assert ctx.log == ["run:c", "run:b", "run:a"]


async def test_an_empty_schedule_succeeds_at_once() -> None:
    listener = RecordingListener()
    result = await runner(simple_tasks(), listener).run(RUN, Schedule.of(), Ctx())
    assert result.succeeded
    assert listener.events == []


async def test_an_unregistered_task_is_refused_before_anything_runs() -> None:
    listener, ctx = RecordingListener(), Ctx()
    with pytest.raises(UnknownTaskError, match="'deploy_local'"):
        await runner(simple_tasks("validate"), listener).run(
            RUN, Schedule.of("validate", "deploy_local"), ctx
        )
    assert listener.events == []
    assert ctx.log == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"default_timeout_s": 0}, "default_timeout_s"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"retry_delay_s": -1}, "retry_delay_s"),
    ],
)
def test_runner_settings_are_validated(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkflowRunner(simple_tasks(), RecordingListener(), **kwargs)  # type: ignore[arg-type]


async def test_what_a_task_returns_reaches_the_listener_with_its_success_only() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()

    @tasks.task("place")
    async def place(ctx: Ctx) -> dict[str, str]:
        return {"fw": "pop:ams"}

    @tasks.task("plan")
    async def plan(ctx: Ctx) -> None:
        return None

    @tasks.task("deploy")
    async def deploy(ctx: Ctx) -> str:
        raise Unavailable("the PoP is down")

    @deploy.compensator
    async def undeploy(ctx: Ctx) -> str:
        return "a compensator's value is no output"

    listener = RecordingListener()
    schedule = Schedule.of("place", "plan", "deploy")

    result = await runner(tasks, listener).run(RUN, schedule, Ctx())

    assert not result.succeeded
    assert listener.outputs == {"place": {"fw": "pop:ams"}}
