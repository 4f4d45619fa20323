"""The ``delegate_subservices`` task and its compensation, with two scripted lower SPs.

The task and its compensator are taken from the instantiate registry and run as the
engine runs them: the task fails, then the compensator runs. Everything behind them is
real (ServiceStore on SQLite, EventLog, the address plan); only the lower SPs are fakes
behind ``upper_sp.delegation.LowerSp``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spfed.config import FederationConfig, NodeConfig
from spfed.descriptors import DescriptorSet
from spfed.errors import InvalidArgument, Unavailable
from spfed.lifecycle.blocks import ServiceBlocks
from spfed.lifecycle.context import (
    AddressesPlanned,
    InstantiateContext,
    InstantiateOutputs,
    InstantiateState,
    Placed,
)
from spfed.lifecycle.events import EventLog
from spfed.lifecycle.instantiate import instantiate_tasks
from spfed.lifecycle.intents import InMemoryIntentStore
from spfed.lifecycle.runtime import NodeRuntime
from spfed.model import (
    DelegatedPart,
    InstantiateRequest,
    Operation,
    ServiceRecord,
    ServiceState,
)
from spfed.storage import AddressStore, Database, HandleStore, ServiceStore
from tests.unit.storage.records import new_service
from tests.unit.upper_sp.builders import link, lookup, nsd, plan_for, ref, space, vnfd
from tests.unit.upper_sp.fakes import REMOTE_ID, FakeLowerSp, record, state_event
from upper_sp.graph import build_graph
from upper_sp.placement import Placement

NODE = "retail"


@dataclass
class GatedLower(FakeLowerSp):
    """Admits a sub-service only once ``gate`` opens; ``live`` holds what it runs.

    Once terminated, its stream reports TERMINATED and its record says so.
    """

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    live: set[str] = field(default_factory=set)
    followed: asyncio.Event = field(default_factory=asyncio.Event)

    async def instantiate(self, request: InstantiateRequest) -> Operation:
        await self.gate.wait()
        op = await super().instantiate(request)
        self.live.add(op.service_id)
        return op

    async def terminate(self, service_id: str, request_id: str = "") -> Operation:
        self.live.discard(service_id)
        self.events = [*self.events, state_event(2, ServiceState.TERMINATED, (self.id,))]
        return await super().terminate(service_id, request_id)

    async def get_service(self, service_id: str) -> ServiceRecord:
        self.followed.set()
        gone = any(e.state is ServiceState.TERMINATED for e in self.events)
        return record(ServiceState.TERMINATED if gone else ServiceState.ACTIVE)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[NodeRuntime]:
    db = Database.connect(f"sqlite:///{tmp_path / 'node.db'}")
    await db.migrate()
    config = NodeConfig(id=NODE, federation=FederationConfig(delegation_timeout_s=5))
    services = ServiceStore(db)
    rt = NodeRuntime(
        node_id=NODE,
        config=config,
        services=services,
        progress=services.progress,
        handles=HandleStore(db),
        intents=InMemoryIntentStore(),
        events=EventLog(services),
        blocks=ServiceBlocks(config.addressing, AddressStore(db)),
        vims={},
        lowers={},
        onboarded=DescriptorSet(),
        lower_catalogues=dict,
        capacity_changed=lambda: None,
    )
    yield rt
    rt.events.close()
    await db.close()


async def test_no_sub_service_survives_a_failed_delegation_and_its_compensation(
    runtime: NodeRuntime,
) -> None:
    refused = FakeLowerSp("x", instantiate_error=InvalidArgument("x says no", origin=("x",)))
    slow = GatedLower("y", [state_event(1, ServiceState.ACTIVE, ("y",))])
    runtime.lowers = {"x": refused, "y": slow}
    service = nsd(
        "two", functions={"a": ref("fw"), "b": ref("fw")}, links=[link("ab", "a:out", "b:in")]
    )
    graph = build_graph(service, lookup([vnfd("fw")]))
    placement = Placement({"a": DelegatedPart("x"), "b": DelegatedPart("y")})
    new = new_service("s1")
    await runtime.services.create_service(new.record, new.request, "h", new.operation, [])
    plan = plan_for(graph, placement)
    state = InstantiateState(
        service_id="s1",
        operation_id="op-s1",
        outputs=InstantiateOutputs(
            place=Placed(dict(placement.parts)),
            plan_addresses=AddressesPlanned(space(), False, plan),
        ),
    )
    ctx = InstantiateContext(
        runtime, "alice", new.request, state, datetime(2026, 1, 1, tzinfo=UTC), graph
    )
    task = instantiate_tasks.get("delegate_subservices")
    assert task.compensate is not None

    # The engine compensates a task once it has ended. x refuses at once; y admits the
    # request a little later. A task that waits for its siblings ends only after that.
    run = asyncio.ensure_future(task.run(ctx))
    await asyncio.wait({run}, timeout=0.2)
    if run.done():  # the task ended while y's delegation was still in flight
        with pytest.raises(InvalidArgument):
            await run
        await task.compensate(ctx)
        slow.gate.set()
    else:
        slow.gate.set()
        with pytest.raises(InvalidArgument):
            await run
        await task.compensate(ctx)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.5):
            await slow.followed.wait()  # a stray delegation of y runs to its end
    for _ in range(10):
        await asyncio.sleep(0)
    await runtime.services.get_service("s1")  # queued behind every write of the stray delegation

    assert slow.live == set(), "a sub-service is left running at lower SP y"


@dataclass
class Unreachable(GatedLower):
    """A ``GatedLower`` whose TerminateService fails UNAVAILABLE while ``down``."""

    down: bool = False

    async def terminate(self, service_id: str, request_id: str = "") -> Operation:
        if self.down:
            raise Unavailable(f"cannot reach lower SP {self.id}")
        return await super().terminate(service_id, request_id)


async def test_a_retried_compensation_does_not_release_again_what_it_released(
    runtime: NodeRuntime,
) -> None:
    x = GatedLower("x", [state_event(1, ServiceState.ACTIVE, ("x",))])
    y = Unreachable("y", [state_event(1, ServiceState.ACTIVE, ("y",))])
    x.gate.set()
    y.gate.set()
    runtime.lowers = {"x": x, "y": y}
    service = nsd(
        "two", functions={"a": ref("fw"), "b": ref("fw")}, links=[link("ab", "a:out", "b:in")]
    )
    graph = build_graph(service, lookup([vnfd("fw")]))
    placement = Placement({"a": DelegatedPart("x"), "b": DelegatedPart("y")})
    new = new_service("s1")
    await runtime.services.create_service(new.record, new.request, "h", new.operation, [])
    state = InstantiateState(
        service_id="s1",
        operation_id="op-s1",
        outputs=InstantiateOutputs(
            place=Placed(dict(placement.parts)),
            plan_addresses=AddressesPlanned(space(), False, plan_for(graph, placement)),
        ),
    )
    ctx = InstantiateContext(
        runtime, "alice", new.request, state, datetime(2026, 1, 1, tzinfo=UTC), graph
    )
    task = instantiate_tasks.get("delegate_subservices")
    assert task.compensate is not None
    await task.run(ctx)  # both admitted; a later task fails: no output was recorded
    y.down = True

    with pytest.raises(Unavailable):
        await task.compensate(ctx)  # x released, y not
    y.down = False
    await task.compensate(ctx)  # the engine's retry

    assert x.live == set()
    assert y.live == set()
    assert [c for c in x.calls if c[0] == "terminate"] == [
        ("terminate", REMOTE_ID, f"{NODE}/op-s1/sp:x")
    ]
    assert [i.target for i in await runtime.intents.all_open()] == []
