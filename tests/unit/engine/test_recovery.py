"""WorkflowRunner.compensate: undo a run that a restart interrupted."""

from __future__ import annotations

from spfed.engine import RunId, Schedule, TaskId, WorkflowRunner, compensation_order
from spfed.errors import Aborted
from spfed.model.services import TaskState
from tests.unit.engine.fakes import Ctx, FakeSleep, RecordingListener, simple_tasks

S = TaskState


async def test_compensates_every_started_task_in_reverse_schedule_order() -> None:
    tasks = simple_tasks("validate", "place", "a", "b", "c", "d", "record")
    schedule = Schedule.of("validate", "place", ("a", "b", "c", "d"), "record")
    persisted = {
        TaskId("validate"): S.SUCCEEDED,
        TaskId("place"): S.SUCCEEDED,
        TaskId("a"): S.SUCCEEDED,
        TaskId("b"): S.RUNNING,  # in flight when the node died
        TaskId("c"): S.FAILED,
        TaskId("d"): S.COMPENSATED,  # compensation had got this far
        TaskId("record"): S.PENDING,
    }
    error = Aborted("node restarted during the run")
    listener, ctx = RecordingListener(), Ctx()

    result = await WorkflowRunner(tasks, listener, sleep=FakeSleep()).compensate(
        RunId("op-7"), schedule, ctx, persisted, error
    )

    assert not result.succeeded
    assert result.error is error
    assert result.compensation_errors == ()
    assert ctx.log == ["undo:c", "undo:b", "undo:a", "undo:place", "undo:validate"]
    assert listener.events[0] == ("compensating", "Aborted")
    assert listener.finished(S.COMPENSATED) == ["c", "b", "a", "place", "validate"]
    assert listener.run_ids == {RunId("op-7")}


async def test_nothing_started_means_nothing_to_undo() -> None:
    listener, ctx = RecordingListener(), Ctx()
    result = await WorkflowRunner(simple_tasks("validate"), listener).compensate(
        RunId("op-8"), Schedule.of("validate"), ctx, {}, Aborted("restart")
    )
    assert not result.succeeded
    assert ctx.log == []
    assert listener.events == [("compensating", "Aborted")]


def test_compensation_order_puts_this_runs_tasks_first_last_started_first() -> None:
    schedule = Schedule.of("validate", "place", ("a", "b"), "record")
    earlier = {TaskId("validate"): S.SUCCEEDED, TaskId("place"): S.FAILED}
    started_now = [TaskId("place"), TaskId("b"), TaskId("a")]
    assert compensation_order(schedule, earlier, started_now) == ["a", "b", "place", "validate"]
    assert compensation_order(schedule, {TaskId("zzz"): S.SUCCEEDED}) == []
