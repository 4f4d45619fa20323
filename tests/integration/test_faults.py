"""Faults: a lower SP that goes away, a node restarted in the middle of an instantiation."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from spfed.model import OperationState, Resources, ServiceState
from tests.integration._federation import Federation, demo_request, demo_spec, settle

pytestmark = pytest.mark.timeout(60)


async def test_unreachable_lower_sp_fails_with_unavailable_and_compensates(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        # wholesale-us published its catalogue, then went away.
        await fed.nodes.pop("wholesale-us").stop(0)
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("gone"))
            record, _ = await settle(top, op.service_id)
        assert record.state is ServiceState.FAILED
        assert record.error is not None
        assert record.error.code == "UNAVAILABLE"
        assert "wholesale-us" in record.error.message
        assert set((await fed.used()).values()) == {Resources()}
        # The part that did reach wholesale-eu was terminated there.
        async with fed.client("wholesale-eu") as eu:
            states = {s.state for s in await eu.list_services(include_inactive=True)}
        assert states <= {ServiceState.TERMINATED, ServiceState.FAILED}
    finally:
        await fed.stop()


async def test_restart_in_the_middle_of_an_instantiation_compensates_down_the_tree(
    tmp_path: Path,
) -> None:
    spec = demo_spec()
    # Slow boots at the leaf keep the instantiation running long enough to cut it.
    spec["edge-be"] = replace(spec["edge-be"], pop_options={"boot_delay_ms": "3000"})
    fed = await Federation.start(tmp_path, spec)
    try:
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("cut"))
            async for event in top.watch_service(op.service_id):
                if event.origin == ("retail", "wholesale-eu", "edge-be") and event.part_id:
                    break
        assert set((await fed.used()).values()) != {Resources()}
        # The top node stops without waiting: its run is interrupted, not compensated.
        await fed.nodes["retail"].stop(0)
        await fed.start_node("retail", spec)
        async with fed.client("retail") as top:
            record, _ = await settle(top, op.service_id)
            assert record.state is ServiceState.FAILED
            assert record.error is not None
            assert record.error.code == "ABORTED"
            assert "restarted" in record.error.message
            assert (await top.get_operation(op.id)).state is OperationState.FAILED
        for _ in range(100):
            if set((await fed.used()).values()) == {Resources()}:
                break
            await asyncio.sleep(0.05)
        assert set((await fed.used()).values()) == {Resources()}
        assert fed.nodes["retail"].lifecycle is not None
        assert fed.nodes["retail"].lifecycle.rt.blocks.held() == {}
    finally:
        await fed.stop()


async def test_a_restarted_node_keeps_its_services_and_their_resources(tmp_path: Path) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("keep"))
            before, _ = await settle(top, op.service_id)
        used = await fed.used()
        await fed.nodes["retail"].stop()
        await fed.start_node("retail", demo_spec())
        assert await fed.used() == used
        async with fed.client("retail") as top:
            after = await top.get_service(op.service_id)
            assert after.state is ServiceState.ACTIVE
            assert after.parts == before.parts
            await top.terminate(op.service_id, "t")
            record, _ = await settle(top, op.service_id)
            assert record.state is ServiceState.TERMINATED
        assert set((await fed.used()).values()) == {Resources()}
    finally:
        await fed.stop()
