"""Instantiate tasks pass typed outputs: the listener stores them with the task's success,
a retried ``plan_addresses`` plans in the space it drew, and the block stays while a
delegation may still use it.

Service records and pools on SQLite; intents and handles in memory.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from spfed.engine import RunId, TaskId
from spfed.lifecycle.context import (
    InstantiateContext,
    InstantiateOutputs,
    InstantiateState,
    Placed,
    dump_state,
    load_instantiate_state,
)
from spfed.lifecycle.instantiate import instantiate_tasks
from spfed.lifecycle.listener import ProgressListener
from spfed.lifecycle.runtime import NodeRuntime
from spfed.model import DelegatedPart, Intent, IntentKind, TaskState
from tests.unit.storage.records import new_service
from tests.unit.upper_sp.builders import link, lookup, nsd, ref, vnfd
from tests.unit.upper_sp.fakes import FakeLowerSp
from upper_sp.graph import build_graph

pytestmark = pytest.mark.timeout(20)

NODE = "retail"


def _context(rt: NodeRuntime) -> InstantiateContext:
    """A service of two functions, both delegated: no PoP is needed to plan it."""
    service = nsd(
        "two", functions={"a": ref("fw"), "b": ref("fw")}, links=[link("ab", "a:out", "b:in")]
    )
    graph = build_graph(service, lookup([vnfd("fw")]))
    placed = Placed({"a": DelegatedPart("x"), "b": DelegatedPart("y")})
    state = InstantiateState("s1", "op-s1", InstantiateOutputs(place=placed))
    request = new_service("s1").request
    request = type(request)(request_id=request.request_id, name=request.name)
    return InstantiateContext(rt, "alice", request, state, datetime(2026, 1, 1, tzinfo=UTC), graph)


async def test_a_retried_plan_plans_in_the_space_it_drew(runtime: NodeRuntime) -> None:
    ctx = _context(runtime)
    task = instantiate_tasks.get("plan_addresses")

    first = await task.run(ctx)
    held = runtime.blocks.held()
    again = await task.run(ctx)  # the engine's retry after a temporary failure

    assert again == first
    assert runtime.blocks.held() == held  # nothing drawn twice
    assert set(held.values()) == {"s1"}
    assert first.block_from_pool  # type: ignore[attr-defined]


async def test_the_block_stays_while_a_delegation_intent_is_open(runtime: NodeRuntime) -> None:
    ctx = _context(replace(runtime, lowers={"x": FakeLowerSp("x")}))
    task = instantiate_tasks.get("plan_addresses")
    assert task.compensate is not None
    await task.run(ctx)
    sent = Intent("retail/s1/sp:x", IntentKind.DELEGATION, "s1", "x", "sp:x")
    await runtime.intents.open(sent)

    await task.compensate(ctx)
    assert set(runtime.blocks.held().values()) == {"s1"}  # the sub-service may use it

    await runtime.intents.close(sent.key)
    await task.compensate(ctx)
    assert runtime.blocks.held() == {}


async def test_an_intent_to_a_lower_sp_the_node_no_longer_has_holds_no_block(
    runtime: NodeRuntime,
) -> None:
    ctx = _context(runtime)  # the node has no lower SP "x" (any more)
    task = instantiate_tasks.get("plan_addresses")
    assert task.compensate is not None
    await task.run(ctx)
    await runtime.intents.open(Intent("retail/s1/sp:x", IntentKind.DELEGATION, "s1", "x", "sp:x"))

    await task.compensate(ctx)
    assert runtime.blocks.held() == {}


async def test_an_output_is_stored_with_its_tasks_success(runtime: NodeRuntime) -> None:
    ctx = _context(runtime)
    state = ctx.state
    state.outputs = InstantiateOutputs()
    listener = ProgressListener(
        runtime, "s1", "op-s1", lambda: dump_state(state), outputs=state.outputs.record
    )
    placed = Placed({"a": DelegatedPart("x")})

    await listener.task_finished(
        RunId("op-s1"), TaskId("place"), TaskState.SUCCEEDED, 1, None, placed
    )
    await runtime.services.get_service("s1")  # queued behind the listener's write

    stored = await runtime.progress.run_context("op-s1")
    assert stored is not None
    assert load_instantiate_state(stored).outputs.place == placed
    assert state.outputs.place == placed
