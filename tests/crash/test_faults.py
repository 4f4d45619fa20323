"""The crash switch itself: parsing, where the runner calls it, and that it is inert unset."""

from __future__ import annotations

import pytest

from spfed.config import ConfigError, FaultsConfig, parse_config
from spfed.engine import RunId, Schedule, TaskId, WorkflowRunner
from spfed.engine.runner import FaultPhase
from spfed.errors import InvalidArgument, Unavailable
from spfed.faults import CRASH_EXIT_CODE, CrashAt, crash_hook, fault_hook
from tests.unit.engine.fakes import Ctx, FakeSleep, RecordingListener, simple_tasks

RUN = RunId("op-1")


def test_a_point_names_a_workflow_one_of_its_tasks_and_a_phase() -> None:
    point = CrashAt.parse("instantiate/deploy_local/after_effect")
    assert (point.workflow, point.task, point.phase) == (
        "instantiate",
        "deploy_local",
        "after_effect",
    )
    assert str(point) == "instantiate/deploy_local/after_effect"
    for bad, says in [
        ("rebuild/deploy_local/before", "unknown workflow"),
        ("terminate/deploy_local/before", "terminate has no task 'deploy_local'"),
        ("instantiate/activate/during", "unknown phase"),
    ]:
        with pytest.raises(InvalidArgument, match=says):
            CrashAt.parse(bad)


def test_the_config_is_off_by_default_and_checks_the_syntax() -> None:
    base = {"id": "a", "tls": {"insecure": True}, "catalogue": {"signing_key_file": "k.pem"}}
    assert parse_config(base, environ={}).faults == FaultsConfig(crash_at="")
    point = "terminate/undeploy_local/after_persist"
    env = {"SPFED__FAULTS__CRASH_AT": point}
    assert parse_config(base, environ=env).faults.crash_at == point
    with pytest.raises(ConfigError, match=r"faults\.crash_at"):
        parse_config({**base, "faults": {"crash_at": "deploy_local"}}, environ={})


def test_the_hook_exits_with_70_at_its_point_only(caplog: pytest.LogCaptureFixture) -> None:
    exits: list[int] = []
    hook = crash_hook(CrashAt.parse("instantiate/activate/before"), exits.append)
    hook(RUN, TaskId("activate"), "after_effect")
    hook(RUN, TaskId("deploy_local"), "before")
    assert exits == []
    hook(RUN, TaskId("activate"), "before")
    assert exits == [CRASH_EXIT_CODE]
    assert "event=fault_injected point=instantiate/activate/before run=op-1" in caplog.text


async def test_the_runner_calls_the_hook_around_effect_and_report_not_in_compensation() -> None:
    ctx = Ctx()
    listener = RecordingListener(ctx.log)

    def hook(run_id: RunId, task: TaskId, phase: FaultPhase) -> None:
        ctx.log.append(f"fault:{task}:{phase}")

    tasks = simple_tasks("deploy_local")
    fails = simple_tasks("activate")

    @fails.task("broken")
    async def broken(_: Ctx) -> None:
        raise Unavailable("down")

    engine = WorkflowRunner(
        tasks.merge(fails), listener, max_attempts=1, sleep=FakeSleep(), fault_hook=hook
    )
    result = await engine.run(RUN, Schedule.of("deploy_local", "broken"), ctx)

    assert not result.succeeded
    assert ctx.log == [
        "started:deploy_local:1",
        "fault:deploy_local:before",
        "run:deploy_local",
        "fault:deploy_local:after_effect",
        "finished:deploy_local:succeeded:1",
        "fault:deploy_local:after_persist",
        "started:broken:1",
        "fault:broken:before",  # a failed task has no effect to crash after
        "finished:broken:failed:1",
        "compensating:Unavailable",
        "undo:deploy_local",  # compensators are not fault points
        "finished:deploy_local:compensated:1",
    ]


def test_the_hook_exists_only_when_a_point_is_set() -> None:
    assert fault_hook(FaultsConfig()) is None
    assert fault_hook(FaultsConfig(crash_at="instantiate/place/before")) is not None
    with pytest.raises(InvalidArgument):
        fault_hook(FaultsConfig(crash_at="instantiate/nothing/before"))
    assert WorkflowRunner(simple_tasks(), RecordingListener())._fault_hook is None
