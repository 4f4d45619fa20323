"""Schedules are immutable data; every edit returns a new, checked schedule."""

from __future__ import annotations

import pytest

from spfed.engine import Schedule, TaskId

INSTANTIATE = Schedule.of(
    "validate",
    "place",
    "plan_addresses",
    ("delegate_subservices", "deploy_local"),
    "connect_wan",
    "record",
)


def test_of_builds_ordered_steps_of_parallel_tasks() -> None:
    assert INSTANTIATE.steps[3] == ("delegate_subservices", "deploy_local")
    assert len(INSTANTIATE) == 6
    assert INSTANTIATE.task_ids() == (
        "validate",
        "place",
        "plan_addresses",
        "delegate_subservices",
        "deploy_local",
        "connect_wan",
        "record",
    )
    assert "deploy_local" in INSTANTIATE
    assert "activate" not in INSTANTIATE
    assert str(Schedule.of("a", ("b", "c"))) == "a → b ∥ c"


def test_insert_after_and_before_add_one_task_steps_around_the_anchor_step() -> None:
    after = INSTANTIATE.insert_after("deploy_local", "firewall")
    assert after.steps[3:5] == (("delegate_subservices", "deploy_local"), ("firewall",))
    before = INSTANTIATE.insert_before("delegate_subservices", "reserve")
    assert before.steps[3:5] == (("reserve",), ("delegate_subservices", "deploy_local"))
    assert INSTANTIATE.steps[3] == ("delegate_subservices", "deploy_local")  # unchanged


def test_add_parallel_joins_the_anchor_step() -> None:
    edited = INSTANTIATE.add_parallel("connect_wan", "notify")
    assert edited.steps[4] == ("connect_wan", "notify")
    assert len(edited) == len(INSTANTIATE)


def test_replace_keeps_the_position() -> None:
    edited = INSTANTIATE.replace("deploy_local", "deploy_hardened")
    assert edited.steps[3] == ("delegate_subservices", "deploy_hardened")
    assert INSTANTIATE.replace("place", "place") is INSTANTIATE


def test_remove_drops_steps_left_empty() -> None:
    edited = INSTANTIATE.remove("connect_wan").remove("deploy_local")
    assert edited.steps == (
        ("validate",),
        ("place",),
        ("plan_addresses",),
        ("delegate_subservices",),
        ("record",),
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.insert_after("nope", "x"),
        lambda s: s.insert_before("nope", "x"),
        lambda s: s.add_parallel("nope", "x"),
        lambda s: s.replace("nope", "x"),
        lambda s: s.remove("nope"),
    ],
)
def test_unknown_anchor_is_a_clear_error(edit: object) -> None:
    with pytest.raises(
        ValueError, match=r"unknown anchor task 'nope': not in the schedule validate"
    ):
        edit(INSTANTIATE)  # type: ignore[operator]


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.insert_after("validate", "record"),
        lambda s: s.insert_before("validate", "record"),
        lambda s: s.add_parallel("validate", "record"),
        lambda s: s.replace("validate", "record"),
    ],
)
def test_adding_a_task_twice_is_a_clear_error(edit: object) -> None:
    with pytest.raises(ValueError, match=r"task 'record' is already in the schedule \(step 5\)"):
        edit(INSTANTIATE)  # type: ignore[operator]


def test_construction_rejects_duplicates_empty_steps_and_bad_ids() -> None:
    with pytest.raises(ValueError, match=r"'a' appears twice in the schedule \(steps 0 and 1\)"):
        Schedule.of("a", ("b", "a"))
    with pytest.raises(ValueError, match="step 1 is empty"):
        Schedule.of("a", ())
    with pytest.raises(ValueError, match="invalid task id"):
        Schedule.of("Validate")
    with pytest.raises(ValueError, match="invalid task id"):
        INSTANTIATE.insert_after("validate", "bad-id")


def test_schedules_are_values() -> None:
    assert Schedule.of("a", ("b", "c")) == Schedule((("a",), ("b", "c")))  # type: ignore[arg-type]
    assert Schedule.of("a") != Schedule.of("b")
    assert hash(Schedule.of("a")) == hash(Schedule.of("a"))
    assert Schedule.of().task_ids() == ()
    assert INSTANTIATE.step_index(TaskId("deploy_local")) == 3
