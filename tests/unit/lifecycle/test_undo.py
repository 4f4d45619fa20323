"""``spfed.lifecycle.undo``: a part's objects go whether or not their handles were
recorded, intents close with their undo, and the start-up reconciliation undoes only
what no service answers for.

Real emulated PoP (state in memory), intents and handles in memory, service records
on SQLite; lower SPs are scripted fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from lower_sp.local.handles import InMemoryHandleStore, StoredHandle
from lower_sp.local.leaves import Handle, HandleKind, encode_handle
from lower_sp.local.vim import (
    EmulatedPop,
    MemoryPopStateStore,
    NetworkRequest,
    PortRequest,
    ServerRequest,
    Vim,
)
from spfed.config import FederationConfig, NodeConfig
from spfed.descriptors import DescriptorSet
from spfed.errors import Internal
from spfed.lifecycle.blocks import ServiceBlocks
from spfed.lifecycle.events import EventLog
from spfed.lifecycle.intents import InMemoryIntentStore
from spfed.lifecycle.release import delegation_request_id
from spfed.lifecycle.runtime import NodeRuntime
from spfed.lifecycle.undo import (
    part_intent,
    reconcile_intents,
    release_service_wan,
    undeploy_local_parts,
    wan_intent,
)
from spfed.model import (
    DelegatedPart,
    ErrorStatus,
    Intent,
    IntentKind,
    LocalPart,
    OperationState,
    Resources,
    ServiceState,
)
from spfed.storage import AddressStore, Database, ServiceStore
from tests.unit.storage.records import new_service
from tests.unit.upper_sp.fakes import REMOTE_ID, FakeLowerSp, record, state_event

pytestmark = pytest.mark.timeout(20)

NODE = "retail"
POP = LocalPart("ams")


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[NodeRuntime]:
    db = Database.connect(f"sqlite:///{tmp_path / 'node.db'}")
    await db.migrate()
    config = NodeConfig(id=NODE, federation=FederationConfig(delegation_timeout_s=5))
    services = ServiceStore(db)
    pop = EmulatedPop(POP.pop, "nl", Resources(64, 65536, 1000), MemoryPopStateStore())
    await pop.start()
    rt = NodeRuntime(
        node_id=NODE,
        config=config,
        services=services,
        progress=services.progress,
        handles=InMemoryHandleStore(),
        intents=InMemoryIntentStore(),
        events=EventLog(services),
        blocks=ServiceBlocks(config.addressing, AddressStore(db)),
        vims={POP.pop: pop},
        lowers={},
        onboarded=DescriptorSet(),
        lower_catalogues=dict,
        capacity_changed=lambda: None,
    )
    yield rt
    rt.events.close()
    await pop.close()
    await db.close()


async def _service(rt: NodeRuntime, service_id: str, state: ServiceState) -> None:
    new = new_service(service_id)
    await rt.services.create_service(new.record, new.request, "h", new.operation, [])
    if state is not ServiceState.INSTANTIATING:
        error = (
            ErrorStatus(code="FAILED_PRECONDITION", message="x")
            if state is ServiceState.FAILED
            else None
        )
        await rt.services.finish_operation(
            new.operation.operation.id,
            OperationState.FAILED if error else OperationState.SUCCEEDED,
            error,
            service_id,
            state,
            error,
            [],
        )


async def _deploy(rt: NodeRuntime, service_id: str, *, recorded: int = 3) -> None:
    """A network, a port and a server of the part, with its intent and tag; only the first
    ``recorded`` handles reach the handle store (a crash cuts off the rest)."""
    intent = part_intent(rt, service_id, POP)
    await rt.intents.open(intent)
    vim = rt.vims[POP.pop]
    tag = intent.key
    network = await vim.create_network(NetworkRequest(f"{service_id}-n", "10.0.0.0/28", tag=tag))
    port = await vim.create_port(PortRequest(f"{service_id}-p", network, tag=tag))
    server = await vim.create_server(
        ServerRequest(f"{service_id}-vm", "img", Resources(1, 64), (port,), tag=tag)
    )
    created: list[tuple[HandleKind, str, Handle]] = [
        ("network", network.network_id, network),
        ("port", port.port_id, port),
        ("server", server.server_id, server),
    ]
    for kind, resource_id, handle in created[:recorded]:
        await rt.handles.add(
            StoredHandle(
                service_id, str(POP), POP.pop, kind, resource_id, encode_handle(kind, handle)
            )
        )


async def _objects(vim: Vim, tag: str) -> int:
    found = await vim.tagged(tag)
    return len(found.networks) + len(found.ports) + len(found.servers)


@pytest.mark.parametrize("recorded", [3, 1, 0], ids=["all-recorded", "one-recorded", "none"])
async def test_undeploy_removes_recorded_and_only_tagged_objects_and_closes_the_intent(
    runtime: NodeRuntime, recorded: int
) -> None:
    await _service(runtime, "s1", ServiceState.ACTIVE)
    await _deploy(runtime, "s1", recorded=recorded)
    await _deploy(runtime, "s2")  # a neighbour on the same PoP
    vim = runtime.vims[POP.pop]
    key = part_intent(runtime, "s1", POP).key

    await undeploy_local_parts(runtime, "s1", [POP])

    assert await _objects(vim, key) == 0
    assert await runtime.handles.of_part("s1", str(POP)) == []
    assert [i.service_id for i in await runtime.intents.all_open()] == ["s2"]
    assert await _objects(vim, part_intent(runtime, "s2", POP).key) == 3
    assert len(await runtime.handles.of_part("s2", str(POP))) == 3
    assert (await vim.capacity()).used == Resources(1, 64)


async def test_undeploy_twice_is_harmless(runtime: NodeRuntime) -> None:
    await _service(runtime, "s1", ServiceState.ACTIVE)
    await _deploy(runtime, "s1", recorded=2)
    await undeploy_local_parts(runtime, "s1", [POP])
    await undeploy_local_parts(runtime, "s1", [POP])
    assert (await runtime.vims[POP.pop].capacity()).used == Resources()


async def test_reconcile_undoes_only_what_no_live_service_answers_for(
    runtime: NodeRuntime,
) -> None:
    for sid, state in (
        ("active", ServiceState.ACTIVE),
        ("failed", ServiceState.FAILED),
        ("gone", ServiceState.TERMINATED),
        ("running", ServiceState.INSTANTIATING),
    ):
        await _service(runtime, sid, state)
        await _deploy(runtime, sid, recorded=1)
    await runtime.intents.open(wan_intent("gone"))
    vim = runtime.vims[POP.pop]

    assert await reconcile_intents(runtime) == 3  # two parts and one WAN intent

    left = {(i.service_id, i.kind) for i in await runtime.intents.all_open()}
    assert left == {("active", IntentKind.VIM_PART), ("running", IntentKind.VIM_PART)}
    for sid, objects in (("active", 3), ("running", 3), ("failed", 0), ("gone", 0)):
        assert await _objects(vim, part_intent(runtime, sid, POP).key) == objects, sid
    assert await reconcile_intents(runtime) == 0


async def test_reconcile_releases_a_terminated_services_delegation_but_leaves_a_failed_ones(
    runtime: NodeRuntime,
) -> None:
    part = DelegatedPart("eu")
    sent = replace(
        record(ServiceState.ACTIVE), request_id=delegation_request_id(NODE, "gone", part)
    )
    lower = FakeLowerSp(
        "eu",
        events=[state_event(1, ServiceState.TERMINATED, ("eu",))],
        records=[record(ServiceState.TERMINATED)],
        listed=[sent],
    )
    runtime.lowers = {"eu": lower}
    for sid, state in (("gone", ServiceState.TERMINATED), ("failed", ServiceState.FAILED)):
        await _service(runtime, sid, state)
        key = delegation_request_id(NODE, sid, part)
        await runtime.intents.open(Intent(key, IntentKind.DELEGATION, sid, "eu", str(part)))

    assert await reconcile_intents(runtime) == 1

    assert [i.service_id for i in await runtime.intents.all_open()] == ["failed"]
    # Found by its request id (its id was never recorded), then terminated.
    assert [c[:2] for c in lower.calls if c[0] in ("list", "terminate")] == [
        ("list", True),
        ("terminate", REMOTE_ID),
    ]


async def test_an_intent_whose_undo_fails_stays_open_for_the_next_start(
    runtime: NodeRuntime,
) -> None:
    await _service(runtime, "gone", ServiceState.TERMINATED)
    await _deploy(runtime, "gone")
    vim = runtime.vims[POP.pop]

    async def broken(tag: str) -> object:
        raise Internal("the PoP's API is down")

    runtime.vims[POP.pop].tagged = broken  # type: ignore[method-assign]
    assert await reconcile_intents(runtime) == 0
    assert [i.service_id for i in await runtime.intents.all_open()] == ["gone"]
    del runtime.vims[POP.pop].tagged  # type: ignore[attr-defined]
    assert await reconcile_intents(runtime) == 1
    assert await _objects(vim, part_intent(runtime, "gone", POP).key) == 0


async def test_release_service_wan_closes_its_intent(runtime: NodeRuntime) -> None:
    await runtime.intents.open(wan_intent("s1"))
    await release_service_wan(runtime, "s1")  # no WIM on this node: nothing booked
    assert await runtime.intents.all_open() == []
