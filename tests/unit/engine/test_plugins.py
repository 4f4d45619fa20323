"""Workflow plug-ins edit schedules and bring tasks; unknown names and ids fail clearly."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from spfed.engine import (
    PluginNotFoundError,
    Schedule,
    TaskRegistry,
    UnknownTaskError,
    WorkflowPlugin,
    WorkflowSubject,
    customize_schedule,
    load_plugins,
    registry_with_plugins,
)
from tests.unit.engine.fakes import Ctx, simple_tasks

BASE = Schedule.of("validate", "place", ("delegate_subservices", "deploy_local"), "record")
CORE = simple_tasks("validate", "place", "delegate_subservices", "deploy_local", "record")
SECURE = WorkflowSubject("instantiate", "eu.spfed.demo/secure-chain/1.0", {"tier": "gold"})


@dataclass
class FirewallPlugin:
    """Adds a firewall task after local deployment for secure chains."""

    name: str = "firewall"
    registry: TaskRegistry[Ctx] = field(default_factory=lambda: simple_tasks("firewall"))
    seen: list[Schedule] = field(default_factory=list)

    def tasks(self) -> TaskRegistry[Ctx]:
        return self.registry

    def applies_to(self, subject: WorkflowSubject) -> bool:
        return subject.service_type.startswith("eu.spfed.demo/secure-chain/")

    def customize(self, subject: WorkflowSubject, schedule: Schedule) -> Schedule:
        self.seen.append(schedule)
        return schedule.insert_after("deploy_local", "firewall")


@dataclass
class NoDelegationPlugin:
    """Keeps gold services local: drops delegation."""

    name: str = "no_delegation"

    def tasks(self) -> TaskRegistry[Ctx]:
        return TaskRegistry()

    def applies_to(self, subject: WorkflowSubject) -> bool:
        return subject.attributes.get("tier") == "gold"

    def customize(self, subject: WorkflowSubject, schedule: Schedule) -> Schedule:
        return schedule.remove("delegate_subservices")


@dataclass
class TypoPlugin:
    name: str = "typo"

    def tasks(self) -> TaskRegistry[Ctx]:
        return TaskRegistry()

    def applies_to(self, subject: WorkflowSubject) -> bool:
        return True

    def customize(self, subject: WorkflowSubject, schedule: Schedule) -> Schedule:
        return schedule.replace("record", "recrod")


def test_applicable_plugins_apply_in_order_each_seeing_the_previous_result() -> None:
    firewall = FirewallPlugin()
    plugins: list[WorkflowPlugin[Ctx]] = [NoDelegationPlugin(), firewall]
    result = customize_schedule(BASE, SECURE, plugins, CORE)
    assert result == Schedule.of("validate", "place", "deploy_local", "firewall", "record")
    assert firewall.seen == [BASE.remove("delegate_subservices")]


def test_plugins_that_do_not_apply_leave_the_schedule_alone() -> None:
    plain = WorkflowSubject("instantiate", "eu.spfed.demo/plain/1.0")
    plugins: list[WorkflowPlugin[Ctx]] = [NoDelegationPlugin(), FirewallPlugin()]
    assert customize_schedule(BASE, plain, plugins, CORE) is BASE


def test_an_unregistered_task_is_blamed_on_the_plugin_that_introduced_it() -> None:
    plugins: list[WorkflowPlugin[Ctx]] = [FirewallPlugin(), TypoPlugin()]
    with pytest.raises(
        UnknownTaskError, match=r"plug-in 'typo' put unregistered task\(s\) 'recrod'"
    ):
        customize_schedule(BASE, SECURE, plugins, CORE)


def test_plugin_tasks_count_as_registered_but_nothing_else_does() -> None:
    bare: TaskRegistry[Ctx] = TaskRegistry()
    with pytest.raises(UnknownTaskError, match="the base schedule"):
        customize_schedule(BASE, SECURE, [FirewallPlugin()], bare)


def test_registry_with_plugins_combines_tasks_and_names_clashing_plugins() -> None:
    combined = registry_with_plugins(CORE, [FirewallPlugin()])
    assert combined.ids()[-1] == "firewall"
    assert "firewall" not in CORE
    clash = FirewallPlugin(name="clash", registry=simple_tasks("place"))
    with pytest.raises(ValueError, match="plug-in 'clash': duplicate task id 'place'"):
        registry_with_plugins(CORE, [clash])


def test_the_subject_is_an_immutable_value() -> None:
    hints = {"tier": "gold"}
    subject = WorkflowSubject("instantiate", "x/y/1.0", hints)
    hints["tier"] = "bronze"
    assert subject.attributes["tier"] == "gold"
    with pytest.raises(TypeError):
        subject.attributes["tier"] = "silver"  # type: ignore[index]
    assert subject == WorkflowSubject("instantiate", "x/y/1.0", {"tier": "gold"})
    assert hash(subject) == hash(WorkflowSubject("instantiate", "x/y/1.0"))


@pytest.fixture
def installed_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A distribution on sys.path with two entry points in a private group."""
    group = "spfed.test_plugins"
    module = "spfed_test_plugin_module"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent(
            """
            from spfed.engine import TaskRegistry

            class Plugin:
                name = "secure_chain"

                def tasks(self):
                    return TaskRegistry()

                def applies_to(self, subject):
                    return True

                def customize(self, subject, schedule):
                    return schedule

            NOT_A_PLUGIN = 42
            """
        )
    )
    dist_info = tmp_path / "spfed_test_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: spfed-test-plugin\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{group}]\nsecure_chain = {module}:Plugin\nbroken = {module}:NOT_A_PLUGIN\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield group
    sys.modules.pop(module, None)


def test_load_plugins_instantiates_entry_points_by_name(installed_plugins: str) -> None:
    [plugin] = load_plugins(["secure_chain"], group=installed_plugins)
    assert plugin.name == "secure_chain"
    assert isinstance(plugin, WorkflowPlugin)


def test_load_plugins_lists_the_available_names_for_an_unknown_one(
    installed_plugins: str,
) -> None:
    with pytest.raises(
        PluginNotFoundError,
        match=r"unknown workflow plug-in 'nope' .*available: broken, secure_chain",
    ):
        load_plugins(["secure_chain", "nope"], group=installed_plugins)


def test_load_plugins_says_when_none_are_installed() -> None:
    with pytest.raises(PluginNotFoundError, match="available: none installed"):
        load_plugins(["nope"], group="spfed.no_such_group")


def test_load_plugins_rejects_entry_points_that_are_not_factories(
    installed_plugins: str,
) -> None:
    with pytest.raises(TypeError, match="plug-in 'broken'"):
        load_plugins(["broken"], group=installed_plugins)
