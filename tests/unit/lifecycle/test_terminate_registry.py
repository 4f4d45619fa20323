"""Terminate is the compensation of the instantiation: each terminate task runs the
compensator of one instantiate task, on the instantiation's context."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spfed.config import FederationConfig
from spfed.engine import TaskRegistry
from spfed.lifecycle.context import (
    InstantiateContext,
    InstantiateState,
    TerminateContext,
    TerminateState,
)
from spfed.lifecycle.instantiate import instantiate_tasks
from spfed.lifecycle.runtime import NodeRuntime
from spfed.lifecycle.terminate import TERMINATE, UNDOES, terminate_registry
from tests.unit.storage.records import new_service

FEDERATION = FederationConfig()


def _recording(undone: list[tuple[str, str]]) -> TaskRegistry[InstantiateContext]:
    """Instantiate tasks whose compensators record which ran, on which service."""
    registry: TaskRegistry[InstantiateContext] = TaskRegistry()
    for task in UNDOES.values():

        async def run(ctx: InstantiateContext) -> None:
            return None

        definition = registry.task(task)(run)

        async def compensate(ctx: InstantiateContext, task: str = task) -> None:
            undone.append((task, ctx.state.service_id))

        definition.compensator(compensate)
    return registry


def _context(rt: NodeRuntime) -> TerminateContext:
    new = new_service("s1")
    inst = InstantiateContext(
        rt, "alice", new.request, InstantiateState("s1", "op-i"), datetime.now(UTC)
    )
    return TerminateContext(new.record, TerminateState("s1", "op-t"), inst)


async def test_each_terminate_task_runs_its_instantiate_tasks_compensator(
    runtime: NodeRuntime,
) -> None:
    undone: list[tuple[str, str]] = []
    registry = terminate_registry(_recording(undone), FEDERATION)
    ctx = _context(runtime)
    for step in TERMINATE.steps:
        for task in step:
            await registry.get(task).run(ctx)
    assert undone == [(UNDOES[t], "s1") for step in TERMINATE.steps for t in step]


def test_the_nodes_terminate_covers_every_compensated_instantiate_task() -> None:
    compensated = {d.id for d in instantiate_tasks if d.compensate is not None}
    assert set(UNDOES.values()) == compensated
    registry = terminate_registry(instantiate_tasks, FEDERATION)
    assert set(registry.ids()) == set(TERMINATE.task_ids())
    # Lower SPs are waited for until the terminate deadline, inside one attempt.
    subservices = registry.get("terminate_subservices")
    assert subservices.max_attempts == 1
    assert subservices.timeout_s is not None
    assert subservices.timeout_s > FEDERATION.terminate_deadline_s


def test_an_instantiate_task_without_compensator_is_refused() -> None:
    registry: TaskRegistry[InstantiateContext] = TaskRegistry()
    for task in UNDOES.values():

        async def run(ctx: InstantiateContext) -> None:
            return None

        registry.task(task)(run)
    with pytest.raises(ValueError, match="has no compensator"):
        terminate_registry(registry, FEDERATION)
