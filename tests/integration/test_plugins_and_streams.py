"""A real service-specific plug-in, and the life of event streams."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from spfed.model import (
    ForwardingGraph,
    ForwardingPath,
    ForwardingPathHop,
    OperationState,
    Resources,
    ServiceEventKind,
    ServiceState,
    TaskState,
)
from tests.integration._federation import Federation, demo_request, demo_spec, settle

pytestmark = pytest.mark.timeout(60)


def _with_chain_check(spec: dict) -> dict:  # type: ignore[type-arg]
    spec["retail"] = replace(spec["retail"], settings={"workflow": {"plugins": ["chain_check"]}})
    return spec


async def test_chain_check_plugin_inserts_its_task_and_passes_a_real_chain(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, _with_chain_check(demo_spec()))
    try:
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("chain"))
            tasks = [t.task for t in op.tasks]
            assert tasks.index("verify_forwarding_paths") == tasks.index("verify_addresses") + 1
            record, _ = await settle(top, op.service_id)
            assert record.state is ServiceState.ACTIVE
            done = await top.get_operation(op.id)
            progress = {t.task: t.state for t in done.tasks}
            assert progress["verify_forwarding_paths"] is TaskState.SUCCEEDED
    finally:
        await fed.stop()


async def test_chain_check_plugin_fails_a_broken_chain_and_everything_is_released(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, _with_chain_check(demo_spec()))
    try:
        request = demo_request("broken")
        assert request.descriptors is not None
        # A valid descriptor (every point exists) whose path runs through the
        # firewall's management point: no data traffic can take it.
        broken_fg = ForwardingGraph(
            fg_id="fg-broken",
            constituent_vnfs=("vnf_fw",),
            network_forwarding_paths=(
                ForwardingPath(
                    "fp",
                    connection_points=(
                        ForwardingPathHop("input", 1),
                        ForwardingPathHop("vnf_fw:mgmt", 2),
                    ),
                ),
            ),
        )
        nsd = replace(request.descriptors.nsd, forwarding_graphs=(broken_fg,))
        request = replace(request, descriptors=replace(request.descriptors, nsd=nsd))
        async with fed.client("retail") as top:
            op = await top.instantiate(request)
            record, events = await settle(top, op.service_id)
            assert record.state is ServiceState.FAILED
            assert record.error is not None
            assert record.error.code == "FAILED_PRECONDITION"
            assert "fg-broken/fp" in record.error.message
            assert any(
                e.kind is ServiceEventKind.TASK_FAILED and e.task == "verify_forwarding_paths"
                for e in events
            )
            assert (await top.get_operation(op.id)).state is OperationState.FAILED
        assert set((await fed.used()).values()) == {Resources()}
    finally:
        await fed.stop()


async def test_a_cancelled_watch_leaves_no_subscription_behind(tmp_path: Path) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        retail = fed.nodes["retail"]
        assert retail.lifecycle is not None
        events = retail.lifecycle.rt.events
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("watch"))
            await settle(top, op.service_id)

            async def follow() -> None:
                async for _ in top.watch_service(op.service_id):
                    pass

            watcher = asyncio.ensure_future(follow())
            for _ in range(100):
                if events.watchers(op.service_id):
                    break
                await asyncio.sleep(0.01)
            assert events.watchers(op.service_id) == 1
            watcher.cancel()
            with pytest.raises(asyncio.CancelledError):
                await watcher
            for _ in range(100):
                if not events.watchers(op.service_id):
                    break
                await asyncio.sleep(0.01)
            assert events.watchers(op.service_id) == 0
    finally:
        await fed.stop()


async def test_stopping_a_node_ends_open_watches_promptly(tmp_path: Path) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("stop"))
            await settle(top, op.service_id)
            received: list[int] = []

            async def follow() -> None:
                async for event in top.watch_service(op.service_id):
                    received.append(event.sequence)

            watcher = asyncio.ensure_future(follow())
            await asyncio.sleep(0.2)
            started = asyncio.get_running_loop().time()
            await fed.nodes["retail"].stop(5)
            await asyncio.wait_for(watcher, 5)
            assert asyncio.get_running_loop().time() - started < 3
            assert received  # the backlog arrived before the node stopped
    finally:
        await fed.stop()


async def test_until_settled_on_a_terminating_service_waits_for_terminated(tmp_path: Path) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("settle"))
            await settle(top, op.service_id)
            await top.terminate(op.service_id, "t")
            # Watched from the start: the earlier ACTIVE must not end the stream.
            states = [
                e.state
                async for e in top.watch_service(op.service_id, until_settled=True)
                if e.origin == ("retail",) and e.state is not None
            ]
            assert states[-1] is ServiceState.TERMINATED
            assert ServiceState.ACTIVE in states
    finally:
        await fed.stop()
