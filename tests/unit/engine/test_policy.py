"""The default in-order policy and the policy contract check."""

from __future__ import annotations

from spfed.engine import InOrderPolicy, Schedule, TaskId, step_violation
from spfed.model.services import TaskState

SCHEDULE = Schedule.of("validate", ("a", "b", "c"), "record")
S = TaskState


def ids(*names: str) -> tuple[TaskId, ...]:
    return tuple(TaskId(n) for n in names)


def test_first_step_first() -> None:
    assert InOrderPolicy().next_step(SCHEDULE, {}) == ids("validate")


def test_within_a_step_only_unfinished_tasks_run() -> None:
    states = {TaskId("validate"): S.SUCCEEDED, TaskId("b"): S.SUCCEEDED, TaskId("c"): S.FAILED}
    assert InOrderPolicy().next_step(SCHEDULE, states) == ids("a", "c")


def test_non_succeeded_states_are_run_again() -> None:
    states = {TaskId("validate"): S.RUNNING}
    assert InOrderPolicy().next_step(SCHEDULE, states) == ids("validate")


def test_none_when_everything_succeeded() -> None:
    states = dict.fromkeys(SCHEDULE.task_ids(), S.SUCCEEDED)
    assert InOrderPolicy().next_step(SCHEDULE, states) is None


def test_step_violation_names_the_broken_rule() -> None:
    done = {TaskId("validate"): S.SUCCEEDED}
    assert step_violation(ids("a", "b"), SCHEDULE, done) is None
    assert step_violation((), SCHEDULE, done) == "an empty step"
    assert step_violation(ids("a", "a"), SCHEDULE, done) == "a task twice"
    assert "not in the schedule" in (step_violation(ids("zzz"), SCHEDULE, done) or "")
    assert "already succeeded" in (step_violation(ids("validate"), SCHEDULE, done) or "")
