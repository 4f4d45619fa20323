"""Intent before effect: every VIM object carries its part's intent key, so what a
crash cut off before its handle was recorded is still found and removed, by
terminate and by the reconciliation at start-up. Real in-process nodes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lower_sp.local.vim import NetworkRequest, PortRequest, ServerRequest, Vim
from spfed.lifecycle import NodeRuntime
from spfed.lifecycle.release import delegation_request_id
from spfed.model import (
    DelegatedPart,
    Intent,
    IntentKind,
    LocalPart,
    Resources,
    ServiceRecord,
    ServiceState,
    vim_tag,
)
from tests.integration._federation import Federation, demo_request, demo_spec, settle

pytestmark = pytest.mark.timeout(90)

TOP = "retail"
POP = "ams"


def _rt(fed: Federation, op_id: str) -> NodeRuntime:
    lifecycle = fed.nodes[op_id].lifecycle
    assert lifecycle is not None
    return lifecycle.rt


async def _instantiate(fed: Federation, request_id: str) -> ServiceRecord:
    async with fed.client(TOP) as top:
        op = await top.instantiate(demo_request(request_id))
        record, _ = await settle(top, op.service_id)
    assert record.state is ServiceState.ACTIVE, record.error
    return record


async def _terminate(fed: Federation, service_id: str) -> ServiceRecord:
    async with fed.client(TOP) as top:
        await top.terminate(service_id, request_id=f"end-{service_id}")
        record, _ = await settle(top, service_id)
    return record


async def _orphans(vim: Vim, tag: str) -> int:
    """Create a network, a port and a server carrying ``tag``, and drop their handles: what
    a node leaves when it dies between the VIM's answer and the handle's record."""
    network = await vim.create_network(NetworkRequest("orphan", "198.51.100.0/29", tag=tag))
    port = await vim.create_port(PortRequest("orphan", network, tag=tag))
    await vim.create_server(
        ServerRequest("orphan", "img", Resources(vcpus=1, memory_mib=64), (port,), tag=tag)
    )
    return 3


async def _count(vim: Vim, tag: str) -> int:
    found = await vim.tagged(tag)
    return len(found.networks) + len(found.ports) + len(found.servers)


async def _all_released(fed: Federation) -> None:
    for _ in range(100):
        if set((await fed.used()).values()) == {Resources()}:
            break
        await asyncio.sleep(0.05)
    assert await fed.used() == dict.fromkeys(fed.nodes, Resources())


async def test_every_effect_is_announced_and_closed_with_its_undo(tmp_path: Path) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        record = await _instantiate(fed, "announced")
        rt = _rt(fed, TOP)
        tag = vim_tag(TOP, record.id, str(LocalPart(POP)))
        intents = {(i.kind, i.target): i for i in await rt.intents.of_service(record.id)}
        assert set(intents) == {
            (IntentKind.VIM_PART, POP),
            (IntentKind.DELEGATION, "wholesale-eu"),
            (IntentKind.DELEGATION, "wholesale-us"),
        }
        assert intents[IntentKind.VIM_PART, POP].key == tag
        part = DelegatedPart("wholesale-eu")
        assert intents[IntentKind.DELEGATION, "wholesale-eu"].key == delegation_request_id(
            TOP, record.id, part
        )
        # Every object of the local part carries the tag, and nothing else does.
        vim = rt.vims[POP]
        found = await vim.tagged(tag)
        assert found.servers
        assert found.ports
        assert found.networks
        recorded = {h.resource_id for h in await rt.handles.of_part(record.id, f"pop:{POP}")}
        assert {s.server_id for s in found.servers} <= recorded
        # Lower nodes announce their own parts the same way.
        edge = _rt(fed, "edge-be")
        assert any(i.kind is IntentKind.VIM_PART for i in await edge.intents.all_open())

        assert (await _terminate(fed, record.id)).state is ServiceState.TERMINATED
        for op_id in fed.nodes:
            assert await _rt(fed, op_id).intents.all_open() == [], op_id
        assert await _count(vim, tag) == 0
    finally:
        await fed.stop()


async def test_terminate_removes_objects_whose_handles_were_never_recorded(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        record = await _instantiate(fed, "cut-off")
        vim = _rt(fed, TOP).vims[POP]
        tag = vim_tag(TOP, record.id, str(LocalPart(POP)))
        recorded = await _count(vim, tag)
        await _orphans(vim, tag)
        assert await _count(vim, tag) == recorded + 3

        assert (await _terminate(fed, record.id)).state is ServiceState.TERMINATED
        assert await _count(vim, tag) == 0
        await _all_released(fed)
    finally:
        await fed.stop()


async def test_a_restarted_node_removes_what_escaped_a_finished_service(tmp_path: Path) -> None:
    spec = demo_spec()
    fed = await Federation.start(tmp_path, spec)
    try:
        gone = await _instantiate(fed, "gone")
        live = await _instantiate(fed, "live")
        assert (await _terminate(fed, gone.id)).state is ServiceState.TERMINATED
        rt = _rt(fed, TOP)
        # An effect that escaped its undo: announced for the terminated service, and
        # objects with its tag on the PoP, with no handle anywhere.
        escaped = Intent(
            vim_tag(TOP, gone.id, f"pop:{POP}"), IntentKind.VIM_PART, gone.id, POP, f"pop:{POP}"
        )
        await rt.intents.open(escaped)
        await _orphans(rt.vims[POP], escaped.key)
        live_tag = vim_tag(TOP, live.id, f"pop:{POP}")
        live_objects = await _count(rt.vims[POP], live_tag)
        live_intents = await rt.intents.of_service(live.id)

        await fed.stop_node(TOP)
        node = await fed.restart_node(TOP, spec)
        assert node.lifecycle is not None
        assert await node.lifecycle.wait_idle(20)

        rt = _rt(fed, TOP)
        assert await _count(rt.vims[POP], escaped.key) == 0
        assert await rt.intents.of_service(gone.id) == []
        # The ACTIVE service's objects and intents are its own: untouched.
        assert await _count(rt.vims[POP], live_tag) == live_objects > 0
        assert await rt.intents.of_service(live.id) == live_intents
        assert (await _terminate(fed, live.id)).state is ServiceState.TERMINATED
        await _all_released(fed)
    finally:
        await fed.stop()
