"""WorkflowRunner failures: siblings cancelled, everything started compensated in reverse."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import pytest

from spfed.engine import RunId, Schedule, TaskId, TaskRegistry, WorkflowRunner
from spfed.errors import Cancelled, Internal, ResourceExhausted, Unavailable
from spfed.model.services import TaskState
from tests.unit.engine.fakes import Ctx, FakeSleep, RecordingListener, simple_tasks

RUN = RunId("op-1")
S = TaskState


def runner(
    tasks: TaskRegistry[Ctx], listener: RecordingListener, sleep: FakeSleep | None = None
) -> WorkflowRunner[Ctx]:
    return WorkflowRunner(tasks, listener, default_timeout_s=5, sleep=sleep or FakeSleep())


def failing_step_tasks(error: Exception) -> TaskRegistry[Ctx]:
    """validate → (fast ∥ failing ∥ slow) → record; ``failing`` raises ``error``."""
    tasks = simple_tasks("validate", "fast", "record")

    @tasks.task("failing")
    async def failing(ctx: Ctx) -> None:
        for _ in range(5):  # let the siblings get going first
            await asyncio.sleep(0)
        ctx.log.append("run:failing")
        raise error

    @failing.compensator
    async def undo_failing(ctx: Ctx) -> None:
        ctx.log.append("undo:failing")

    @tasks.task("slow")
    async def slow(ctx: Ctx) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            ctx.log.append("cancelled:slow")
            raise

    @slow.compensator
    async def undo_slow(ctx: Ctx) -> None:
        ctx.log.append("undo:slow")

    return tasks


SCHEDULE = Schedule.of("validate", ("fast", "failing", "slow"), "record")


async def test_failure_cancels_siblings_and_compensates_all_started_in_reverse_start_order() -> (
    None
):
    error = ResourceExhausted("pop ams is full")
    listener, ctx = RecordingListener(), Ctx()

    result = await runner(failing_step_tasks(error), listener).run(RUN, SCHEDULE, ctx)

    assert not result.succeeded
    assert result.error is error
    assert result.compensation_errors == ()
    assert ctx.log == [
        "run:validate",
        "run:fast",
        "run:failing",
        "cancelled:slow",
        "undo:slow",
        "undo:failing",
        "undo:fast",
        "undo:validate",
    ]
    after_failure = listener.events[listener.events.index(("finished", "failing", S.FAILED, 1)) :]
    assert after_failure == [
        ("finished", "failing", S.FAILED, 1),
        ("finished", "slow", S.CANCELLED, 1),
        ("compensating", "ResourceExhausted"),
        ("finished", "slow", S.COMPENSATED, 1),
        ("finished", "failing", S.COMPENSATED, 1),
        ("finished", "fast", S.COMPENSATED, 1),
        ("finished", "validate", S.COMPENSATED, 1),
    ]
    cancelled = listener.reports[TaskId("slow"), S.CANCELLED]
    assert isinstance(cancelled, Cancelled)
    assert cancelled.message == "cancelled because task failing failed"
    assert "record" not in listener.states


async def test_a_crash_becomes_internal_and_compensation_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener, ctx = RecordingListener(), Ctx()
    with caplog.at_level(logging.ERROR, logger="spfed.engine"):
        result = await runner(failing_step_tasks(ZeroDivisionError("boom")), listener).run(
            RUN, SCHEDULE, ctx
        )

    assert isinstance(result.error, Internal)
    assert result.error.message == "task failing crashed: ZeroDivisionError: boom"
    assert ctx.log[-4:] == ["undo:slow", "undo:failing", "undo:fast", "undo:validate"]
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


async def test_tasks_without_a_compensator_are_skipped() -> None:
    tasks = simple_tasks("validate", compensators=False).merge(simple_tasks("place"))

    @tasks.task("deploy_local")
    async def deploy(ctx: Ctx) -> None:
        raise ResourceExhausted("full")

    listener, ctx = RecordingListener(), Ctx()
    schedule = Schedule.of("validate", "place", "deploy_local")
    result = await runner(tasks, listener).run(RUN, schedule, ctx)

    assert ctx.log == ["run:validate", "run:place", "undo:place"]
    assert listener.finished(S.COMPENSATED) == ["place"]
    assert listener.states[TaskId("validate")] is S.SUCCEEDED
    assert listener.states[TaskId("deploy_local")] is S.FAILED
    assert result.compensation_errors == ()


async def test_a_failing_compensator_is_retried_collected_and_the_rest_still_compensated() -> None:
    tasks = simple_tasks("validate", "record")
    undo_error = Unavailable("vim unreachable")

    @tasks.task("deploy_local")
    async def deploy(ctx: Ctx) -> None:
        ctx.log.append("run:deploy_local")

    @deploy.compensator
    async def undeploy(ctx: Ctx) -> None:
        ctx.log.append("undo-attempt:deploy_local")
        raise undo_error

    @tasks.task("connect_wan")
    async def connect(ctx: Ctx) -> None:
        raise ResourceExhausted("no bandwidth")

    listener, sleep, ctx = RecordingListener(), FakeSleep(), Ctx()
    schedule = Schedule.of("validate", "deploy_local", "connect_wan", "record")
    result = await runner(tasks, listener, sleep).run(RUN, schedule, ctx)

    assert isinstance(result.error, ResourceExhausted)
    assert result.compensation_errors == ((TaskId("deploy_local"), undo_error),)
    assert ctx.log == [
        "run:validate",
        "run:deploy_local",
        *["undo-attempt:deploy_local"] * 3,
        "undo:validate",
    ]
    assert sleep.delays == [0.2, 0.4]
    assert ("finished", "deploy_local", S.FAILED, 3) in listener.events
    assert listener.errors[TaskId("deploy_local")] is undo_error
    assert listener.states[TaskId("validate")] is S.COMPENSATED


async def test_a_failure_after_resume_also_compensates_what_earlier_runs_did() -> None:
    tasks = simple_tasks("validate", "place", "plan_addresses")

    @tasks.task("deploy_local")
    async def deploy(ctx: Ctx) -> None:
        raise ResourceExhausted("full")

    listener, ctx = RecordingListener(), Ctx()
    schedule = Schedule.of("validate", "place", "plan_addresses", "deploy_local")
    persisted = {TaskId("validate"): S.SUCCEEDED, TaskId("place"): S.SUCCEEDED}
    await runner(tasks, listener).run(RUN, schedule, ctx, states=persisted)

    assert ctx.log == [
        "run:plan_addresses",
        "undo:plan_addresses",
        "undo:place",
        "undo:validate",
    ]


async def test_a_policy_breaking_its_contract_fails_the_run_instead_of_looping() -> None:
    class Stuck:
        def next_step(
            self, schedule: Schedule, states: Mapping[TaskId, TaskState]
        ) -> tuple[TaskId, ...] | None:
            return (TaskId("validate"),)

    tasks, ctx = simple_tasks("validate", "place"), Ctx()
    engine = WorkflowRunner(tasks, RecordingListener(), policy=Stuck(), sleep=FakeSleep())
    result = await engine.run(RUN, Schedule.of("validate", "place"), ctx)

    assert isinstance(result.error, Internal)
    assert "which already succeeded" in result.error.message
    assert ctx.log == ["run:validate", "undo:validate"]
