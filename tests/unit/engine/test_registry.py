"""Task registration: validated at once, compensators attached by decorator."""

from __future__ import annotations

import pytest

from spfed.engine import TaskDefinition, TaskId, TaskRegistry, UnknownTaskError, task_id
from tests.unit.engine.fakes import Ctx, simple_tasks


async def _noop(ctx: Ctx) -> None:
    return None


def test_decorator_registers_a_definition_with_its_limits() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()

    @tasks.task("deploy_local", timeout_s=30, max_attempts=2)
    async def deploy_local(ctx: Ctx) -> None:
        return None

    assert isinstance(deploy_local, TaskDefinition)
    assert tasks.get("deploy_local") is deploy_local
    assert deploy_local.id == "deploy_local"
    assert deploy_local.timeout_s == 30
    assert deploy_local.max_attempts == 2
    assert deploy_local.compensate is None
    assert tasks.ids() == ("deploy_local",)
    assert "deploy_local" in tasks
    assert len(tasks) == 1


def test_compensator_decorator_replaces_the_registered_definition() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()

    @tasks.task("deploy_local")
    async def deploy_local(ctx: Ctx) -> None:
        return None

    @deploy_local.compensator
    async def undeploy_local(ctx: Ctx) -> None:
        return None

    registered = tasks.get("deploy_local")
    assert registered is undeploy_local
    assert registered.compensate is not None
    assert registered.run is deploy_local.run
    assert deploy_local.compensate is None  # definitions are immutable


def test_a_second_compensator_is_rejected() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()
    first = tasks.task("place")(_noop)
    updated = first.compensator(_noop)
    with pytest.raises(ValueError, match="already has a compensator"):
        updated.compensator(_noop)
    with pytest.raises(ValueError, match="stale"):
        first.compensator(_noop)


@pytest.mark.parametrize("bad", ["", "Deploy", "1task", "deploy-local", "deploy local", "x\n"])
def test_bad_id_syntax_is_rejected_at_registration(bad: str) -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()
    with pytest.raises(ValueError, match="invalid task id"):
        tasks.task(bad)
    with pytest.raises(ValueError, match="invalid task id"):
        task_id(bad)


def test_duplicate_id_is_rejected_naming_both_functions() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()
    tasks.task("place")(_noop)

    async def other(ctx: Ctx) -> None:
        return None

    with pytest.raises(ValueError, match=r"duplicate task id 'place'.*_noop.*other"):
        tasks.task("place")(other)


def test_only_coroutine_functions_are_accepted() -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()

    def not_async(ctx: Ctx) -> None:
        return None

    with pytest.raises(TypeError, match="coroutine function"):
        tasks.task("place")(not_async)  # type: ignore[arg-type]
    definition = tasks.task("record")(_noop)
    with pytest.raises(TypeError, match="compensator must be a coroutine function"):
        definition.compensator(not_async)  # type: ignore[arg-type]
    assert tasks.ids() == ("record",)


@pytest.mark.parametrize(
    ("timeout_s", "max_attempts", "message"),
    [(0, None, "timeout_s"), (-1.0, None, "timeout_s"), (None, 0, "max_attempts")],
)
def test_bad_limits_are_rejected(
    timeout_s: float | None, max_attempts: int | None, message: str
) -> None:
    tasks: TaskRegistry[Ctx] = TaskRegistry()
    with pytest.raises(ValueError, match=message):
        tasks.task("place", timeout_s=timeout_s, max_attempts=max_attempts)(_noop)


def test_unknown_id_lists_the_registered_ones() -> None:
    tasks = simple_tasks("validate", "place")
    with pytest.raises(UnknownTaskError, match=r"'deploy'.*registered: validate, place"):
        tasks.get("deploy")


def test_merge_returns_a_new_registry_and_keeps_inputs() -> None:
    core = simple_tasks("validate", "place")
    plugin = simple_tasks("firewall")
    merged = core.merge(plugin)
    assert merged.ids() == ("validate", "place", "firewall")
    assert merged.get("firewall") is plugin.get("firewall")
    assert core.ids() == ("validate", "place")
    assert plugin.ids() == ("firewall",)


def test_include_adds_in_place_and_rejects_clashes_atomically() -> None:
    core = simple_tasks("validate")
    core.include(simple_tasks("place"))
    assert core.ids() == ("validate", "place")
    clashing = simple_tasks("record", "place")
    with pytest.raises(ValueError, match="duplicate task id 'place'"):
        core.include(clashing)
    assert core.ids() == ("validate", "place")


def test_including_the_same_definitions_twice_is_harmless() -> None:
    core = simple_tasks("validate")
    plugin = simple_tasks("firewall")
    core.include(plugin)
    core.include(plugin)
    assert core.ids() == ("validate", "firewall")


def test_standalone_definitions_are_validated_too() -> None:
    with pytest.raises(ValueError, match="invalid task id"):
        TaskDefinition(id=TaskId("Bad"), run=_noop)
    definition: TaskDefinition[Ctx] = TaskDefinition(id=TaskId("ok"), run=_noop)
    assert definition.compensator(_noop).compensate is _noop
