"""The slice workflows on one node: tasks, compensation, deletion and recovery.

One node with two emulated PoPs (ams in nl, fra in de) joined by a WAN link of its WIM,
a real ``ServiceLifecycle`` on SQLite, and a ``SliceManager`` whose run store is the
engine's ``InMemoryRunStore``. The slice is two firewall services (``fw-hop``), one per
PoP, joined by one slice link, which the WIM carries from ams to fra.

A crash is simulated by a fault hook that raises: the manager's run dies where the hook
fired, with its progress in the run store as it was. A new manager over the same stores
(the restart) must then settle the slice, ACTIVE, FAILED or DELETED, with nothing left.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from lower_sp.local.vim import MemoryPopStateStore, VimDriverRegistry
from spfed.config import NodeConfig, parse_config
from spfed.descriptors import DescriptorSet, load_files, parse_document
from spfed.engine import InMemoryRunStore, RunId, TaskId, TaskRecord
from spfed.engine.runner import FaultPhase
from spfed.faults import SLICE_WORKFLOWS, WORKFLOWS
from spfed.lifecycle import EventLog, NodeRuntime, ServiceBlocks, ServiceLifecycle, SliceManager
from spfed.lifecycle.intents import InMemoryIntentStore
from spfed.lifecycle.slice_context import SliceContext, SliceRunState, link_owner
from spfed.lifecycle.slice_tasks import (
    SLICE_CREATE,
    SLICE_DELETE,
    allocate_slice_links,
    release_subnets,
)
from spfed.model import (
    CreateSliceRequest,
    OperationState,
    PlacementConstraints,
    Principal,
    ServiceState,
    SliceRecord,
    SliceState,
    SliceTemplate,
    TaskState,
)
from spfed.storage import (
    AddressStore,
    Database,
    HandleStore,
    ServiceStore,
    SliceStore,
    WimConnectivityStore,
)
from spfed.wan_assembly import start_wim

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parents[3]
SLICES = ROOT / "examples" / "slices"
DESCRIPTORS = ROOT / "examples" / "descriptors"
NST_SCHEMA = (
    "https://raw.githubusercontent.com/sonata-nfv/tng-schema/master/slice-descriptor/nst-schema.yml"
)
OWNER = "alice"
ALICE = Principal(account=OWNER, roles=frozenset())
PHASES: tuple[FaultPhase, ...] = ("before", "after_effect", "after_persist")


class Crash(Exception):
    """The simulated crash: raised by the fault hook, it ends the run where it fires."""


def _config(tmp_path: Path) -> NodeConfig:
    return parse_config(
        {
            "id": "retail",
            "storage": {"url": f"sqlite:///{tmp_path / 'node.db'}"},
            "pops": [
                {
                    "name": "ams",
                    "region": "nl",
                    "capacity": {"vcpus": 16, "memory_mib": 32768, "disk_gib": 500},
                },
                {
                    "name": "fra",
                    "region": "de",
                    "capacity": {"vcpus": 16, "memory_mib": 32768, "disk_gib": 500},
                },
            ],
            "wim": {
                "enabled": True,
                "links": [
                    {
                        "id": "ams-fra",
                        "a": "ams",
                        "b": "fra",
                        "capacity_mbps": 1000,
                        "latency_ms": 5,
                    }
                ],
            },
            "workflow": {"retry_delay_s": 0.01, "task_timeout_s": 10},
            # never read: the node is assembled here, without a server or a catalogue
            "tls": {"insecure": True},
            "federation": {"key_file": str(tmp_path / "unused.pem")},
        }
    )


@dataclass
class Node:
    """One node's collaborators, and its slice manager (replaced by ``restart``)."""

    rt: NodeRuntime
    lifecycle: ServiceLifecycle
    store: SliceStore
    runs: InMemoryRunStore
    manager: SliceManager

    def restart(self) -> SliceManager:
        """A new manager over the same stores: what a restarted node recovers with."""
        self.rt.fault_hook = None
        self.manager = SliceManager(self.lifecycle, self.store, self.runs)
        return self.manager

    async def settled(self, slice_id: str) -> SliceRecord:
        """The slice once no longer CREATING or DELETING (bounded)."""
        async with asyncio.timeout(20):
            while True:
                record = await self.store.get(slice_id)
                assert record is not None
                unsettled = record.state in (SliceState.CREATING, SliceState.DELETING)
                if not unsettled and not self.manager._running:
                    return record
                await asyncio.sleep(0.01)

    async def held(self) -> list[str]:
        """Everything the node still holds for slices: pool allocations, holds, services
        not TERMINATED, PoP capacity, WIM connectivity, unfinished runs."""
        out = [f"pool: {k} ({v})" for k, v in self.rt.blocks.held().items()]
        services, _ = await self.lifecycle.list_services(
            ALICE, include_inactive=True, page_size=100, page_token=""
        )
        for service in services:
            if service.state is not ServiceState.TERMINATED:
                out.append(f"service {service.id} is {service.state.name}")
            if await self.store.holders(service.id):
                out.append(f"service {service.id} is held")
        for name, vim in self.rt.vims.items():
            used = (await vim.capacity()).used
            if used.vcpus:
                out.append(f"PoP {name}: {used}")
        assert self.rt.wim is not None
        out += [f"WIM: {cid}" for cid in self.rt.wim.connectivity_ids("")]
        for workflow in SLICE_WORKFLOWS:
            out += [f"run {r.run_id} unfinished" for r in await self.runs.unfinished(workflow)]
        return out


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    config = _config(tmp_path)
    db = Database.connect(config.storage.url)
    await db.migrate()
    registry = VimDriverRegistry.default()
    vims = {pop.name: registry.create(pop, MemoryPopStateStore()) for pop in config.pops}
    for vim in vims.values():
        await vim.start()
    services = ServiceStore(db)
    blocks = ServiceBlocks(config.addressing, AddressStore(db))
    await blocks.start()
    rt = NodeRuntime(
        node_id=config.id,
        config=config,
        services=services,
        progress=services.progress,
        handles=HandleStore(db),
        intents=InMemoryIntentStore(),
        events=EventLog(services),
        blocks=blocks,
        vims=vims,
        lowers={},
        onboarded=DescriptorSet(),
        lower_catalogues=dict,
        capacity_changed=lambda: None,
        wim=await start_wim(config, WimConnectivityStore(db)),
    )
    lifecycle = ServiceLifecycle(rt)
    store, runs = SliceStore(db), InMemoryRunStore()
    node = Node(rt, lifecycle, store, runs, SliceManager(lifecycle, store, runs))
    yield node
    await node.manager.shutdown()
    await lifecycle.shutdown(0)
    rt.events.close()
    for vim in vims.values():
        await vim.close()
    await db.close()


def two_firewalls(request_id: str, second_region: str = "de") -> CreateSliceRequest:
    """Two fw-hop services, one at ams and one at fra, the first's output joined to the
    second's input."""
    hop = {"nsd-vendor": "eu.spfed.demo", "nsd-name": "fw-hop", "nsd-version": "1.0"}
    nst = parse_document(
        {
            "descriptor_schema": NST_SCHEMA,
            "vendor": "eu.spfed.test",
            "name": "two-firewalls",
            "version": "1.0",
            "description": "Two firewall services in a row, on two PoPs.",
            "slice_ns_subnets": [
                {"id": "first", "nsd-ref": "fw-hop", **hop, "is-shared": False},
                {"id": "second", "nsd-ref": "fw-hop", **hop, "is-shared": False},
            ],
            "slice_vld": [
                {
                    "id": "between",
                    "name": "first to second",
                    "type": "E-LINE",
                    "nsd-connection-point-ref": [
                        {"subnet-ref": "first", "nsd-cp-ref": "output"},
                        {"subnet-ref": "second", "nsd-cp-ref": "input"},
                    ],
                }
            ],
        }
    )
    assert isinstance(nst, SliceTemplate)
    hops = load_files([SLICES / "nsd-fw-hop.yml"], resolve=False)
    firewall = load_files([DESCRIPTORS / "vnfd-firewall.yml"], resolve=False)
    return CreateSliceRequest(
        request_id=request_id,
        template=nst,
        nsds=hops.nsds,
        vnfds=firewall.vnfds,
        placement={
            "first": PlacementConstraints(default_region="nl"),
            "second": PlacementConstraints(default_region=second_region),
        },
    )


def states(tasks: Sequence[TaskRecord]) -> dict[str, TaskState]:
    return {t.task: t.state for t in tasks}


async def test_a_slice_is_created_by_its_tasks_and_deleted_by_the_reverse(node: Node) -> None:
    made = await node.manager.create(ALICE, two_firewalls("one"))
    assert made.state is SliceState.CREATING
    assert (await node.manager.create(ALICE, two_firewalls("one"))).id == made.id
    active = await node.settled(made.id)
    assert active.state is SliceState.ACTIVE, active.error
    (link,) = active.links
    assert link.subnet
    assert link.vni
    assert link.connectivity_ids == (f"slice:{made.id}/between",)
    assert link_owner(made.id, "between") in node.rt.blocks.held().values()

    (create,) = node.runs.runs().values()
    assert (create.workflow, create.subject, create.state) == (
        "slice_create",
        made.id,
        OperationState.SUCCEEDED,
    )
    assert states(create.tasks) == dict.fromkeys(SLICE_CREATE.task_ids(), TaskState.SUCCEEDED)
    assert json.loads(create.context) == {"slice_id": made.id, "owner": OWNER, "reused": {}}

    await node.manager.delete(ALICE, made.id)
    deleted = await node.settled(made.id)
    assert deleted.state is SliceState.DELETED
    delete = next(r for r in node.runs.runs().values() if r.workflow == "slice_delete")
    assert delete.state is OperationState.SUCCEEDED
    assert states(delete.tasks) == dict.fromkeys(SLICE_DELETE.task_ids(), TaskState.SUCCEEDED)
    assert await node.held() == []
    assert (await node.manager.delete(ALICE, made.id)).state is SliceState.DELETED


async def test_a_task_that_fails_is_compensated_through_the_engine(node: Node) -> None:
    """The second subnet asks for a region nobody serves: the first subnet's service,
    the link's addresses and nothing else were made, and all of it is undone."""
    made = await node.manager.create(ALICE, two_firewalls("bad", second_region="mars"))
    failed = await node.settled(made.id)
    assert failed.state is SliceState.FAILED
    assert failed.error is not None
    assert failed.error.code == "FAILED_PRECONDITION"
    (run,) = node.runs.runs().values()
    assert run.state is OperationState.FAILED
    assert states(run.tasks) == {
        "claim_shared_subnets": TaskState.COMPENSATED,
        "allocate_slice_links": TaskState.COMPENSATED,
        "instantiate_subnets": TaskState.COMPENSATED,
    }
    first = next(s for s in failed.subnets if s.subnet_id == "first")
    service = await node.lifecycle.get_service(ALICE, first.service_id, remote=False)
    assert service.state is ServiceState.TERMINATED
    assert await node.held() == []


async def test_deleting_a_slice_being_created_aborts_and_compensates_it_first(
    node: Node,
) -> None:
    made = await node.manager.create(ALICE, two_firewalls("abort"))
    await asyncio.sleep(0)
    await node.manager.delete(ALICE, made.id)
    deleted = await node.settled(made.id)
    assert deleted.state is SliceState.DELETED
    create = next(r for r in node.runs.runs().values() if r.workflow == "slice_create")
    assert create.state is OperationState.FAILED
    assert create.error is not None
    assert create.error.code == "CANCELLED"
    assert await node.held() == []


async def test_allocating_again_replaces_what_an_interrupted_attempt_drew(node: Node) -> None:
    made = await node.manager.create(ALICE, two_firewalls("alloc"))
    await node.settled(made.id)
    ctx = SliceContext(node.lifecycle, node.store, asyncio.Lock(), SliceRunState(made.id, OWNER))
    # as if an attempt had drawn a /31 and died before recording it on the slice
    record = await ctx.load()
    await ctx.update(links=tuple(replace(link, subnet="") for link in record.links))
    owner = link_owner(made.id, "between")
    await allocate_slice_links(ctx)
    await allocate_slice_links(ctx)
    assert list(node.rt.blocks.held().values()).count(owner) == 2  # one /31, one VNI
    (link,) = (await ctx.load()).links
    assert link.subnet in node.rt.blocks.held()


async def test_releasing_ends_a_service_made_for_the_slice_but_never_held(node: Node) -> None:
    """A node may stop between requesting a subnet's service and holding it."""
    made = await node.manager.create(ALICE, two_firewalls("orphan"))
    active = await node.settled(made.id)
    first = next(s for s in active.subnets if s.subnet_id == "first")
    assert await node.store.drop(made.id, "first") == (first.service_id, 0)
    ctx = SliceContext(node.lifecycle, node.store, asyncio.Lock(), SliceRunState(made.id, OWNER))
    await release_subnets(ctx)
    await release_subnets(ctx)  # idempotent
    for subnet in active.subnets:
        service = await node.lifecycle.get_service(ALICE, subnet.service_id, remote=False)
        assert service.state is ServiceState.TERMINATED


def test_a_crash_point_names_one_task_of_one_workflow() -> None:
    """The fault hook matches the task id alone, so task ids never repeat across the
    workflows (``spfed.faults``)."""
    every = [
        t
        for schedule in (*WORKFLOWS.values(), *SLICE_WORKFLOWS.values())
        for t in schedule.task_ids()
    ]
    assert len(every) == len(set(every))


def _points() -> list[object]:
    cases: list[object] = []
    for workflow, schedule in SLICE_WORKFLOWS.items():
        for task in schedule.task_ids():
            for phase in PHASES:
                cases.append(pytest.param(workflow, task, phase, id=f"{workflow}/{task}/{phase}"))
    return cases


@pytest.mark.parametrize(("workflow", "task", "phase"), _points())
async def test_a_run_cut_at_any_point_is_settled_by_recovery(
    node: Node, workflow: str, task: str, phase: FaultPhase
) -> None:
    crashed = asyncio.Event()
    point = (task, phase)

    def hook(run_id: RunId, task: TaskId, phase: FaultPhase) -> None:
        if (task, phase) == point:
            crashed.set()
            raise Crash(f"{workflow}/{task}/{phase}")

    manager = node.manager
    if workflow == "slice_delete":
        made = await manager.create(ALICE, two_firewalls("cut"))
        assert (await node.settled(made.id)).state is SliceState.ACTIVE
        node.rt.fault_hook = hook
        await manager.delete(ALICE, made.id)
    else:
        node.rt.fault_hook = hook
        made = await manager.create(ALICE, two_firewalls("cut"))
    async with asyncio.timeout(10):
        await crashed.wait()
    await manager.shutdown()  # reaps the run the crash ended

    recovered = node.restart()
    assert await recovered.recover() in (0, 1)
    settled = await node.settled(made.id)
    if workflow == "slice_delete":
        assert settled.state is SliceState.DELETED
    else:
        assert settled.state in (SliceState.ACTIVE, SliceState.FAILED)
        if settled.state is SliceState.FAILED:
            assert settled.error is not None
            assert settled.error.code == "ABORTED"
        await recovered.delete(ALICE, made.id)
        assert (await node.settled(made.id)).state is SliceState.DELETED
    assert await node.held() == []

    again = await recovered.create(ALICE, two_firewalls("again"))
    assert (await node.settled(again.id)).state is SliceState.ACTIVE
    await recovered.delete(ALICE, again.id)
    assert (await node.settled(again.id)).state is SliceState.DELETED
    assert await node.held() == []
