"""``spfed.lifecycle.ports``: a task's helpers run with an object that has only the
members of their port, not a whole ``NodeRuntime``; and the runtime has every port.

Real emulated PoP (state in memory), real WIM with the capacity-only driver, intents
and handles in memory, service records on SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest

from addressing import IdPool
from lower_sp.local.handles import HandleRecords, InMemoryHandleStore, StoredHandle
from lower_sp.local.leaves import encode_handle
from lower_sp.local.vim import (
    EmulatedPop,
    MemoryPopStateStore,
    NetworkRequest,
    PortRequest,
    ServerRequest,
    Vim,
)
from spfed.lifecycle import ports
from spfed.lifecycle.context import InstantiateState
from spfed.lifecycle.intents import InMemoryIntentStore, IntentStore
from spfed.lifecycle.ports import (
    ActivatePorts,
    AddressPorts,
    AdmissionPorts,
    DelegationPorts,
    DeployPorts,
    EventPorts,
    FaultPorts,
    NodeIdentity,
    PlacePorts,
    ReleasePorts,
    UndeployPorts,
    UndoPorts,
    ValidatePorts,
    WanPorts,
    WanReleasePorts,
)
from spfed.lifecycle.runtime import NodeRuntime
from spfed.lifecycle.undo import (
    held_local_parts,
    part_intent,
    release_service_wan,
    undeploy_local_parts,
    wan_intent,
)
from spfed.lifecycle.wan import book_link, connectivity_id
from spfed.model import IdRange, LocalPart, Resources
from spfed.storage import Database, ServiceStore
from tests.unit.storage.records import new_service
from tests.unit.wim.fakes import MemoryBookingStore
from wim import CapacityOnlyDriver, WanGraph, WanLink, Wim

pytestmark = pytest.mark.timeout(20)

POP = LocalPart("ams")


@dataclass(frozen=True)
class LocalPartsOnly:
    """Exactly ``UndeployPorts``: no config, no events, no lower SP, no WIM."""

    node_id: str
    vims: Mapping[str, Vim]
    handles: HandleRecords
    services: ServiceStore
    intents: IntentStore
    capacity_changed: Callable[[], None]


@dataclass(frozen=True)
class WanOnly:
    """Exactly ``WanReleasePorts``."""

    wim: Wim | None
    intents: IntentStore


@dataclass
class Counter:
    calls: int = 0

    def __call__(self) -> None:
        self.calls += 1


@dataclass
class Node:
    services: ServiceStore
    pop: EmulatedPop
    changed: Counter = field(default_factory=Counter)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    db = Database.connect(f"sqlite:///{tmp_path / 'node.db'}")
    await db.migrate()
    services = ServiceStore(db)
    new = new_service("s1")
    await services.create_service(new.record, new.request, "h", new.operation, [])
    pop = EmulatedPop(POP.pop, "nl", Resources(64, 65536, 1000), MemoryPopStateStore())
    await pop.start()
    yield Node(services, pop)
    await pop.close()
    await db.close()


def _members(port: type) -> set[str]:
    """The members a port protocol declares, its bases' included."""
    return {
        name
        for cls in port.__mro__
        for name, value in vars(cls).items()
        if isinstance(value, property)
    }


async def test_a_local_part_is_found_and_undone_with_only_its_ports(node: Node) -> None:
    rt = LocalPartsOnly(
        node_id="retail",
        vims={POP.pop: node.pop},
        handles=InMemoryHandleStore(),
        services=node.services,
        intents=InMemoryIntentStore(),
        capacity_changed=node.changed,
    )
    assert {f.name for f in fields(rt)} == _members(UndeployPorts)
    # A network and a server on the PoP, tagged with the part's intent; only the
    # network's handle was recorded (a crash cut off the rest).
    intent = part_intent(rt, "s1", POP)
    await rt.intents.open(intent)
    network = await node.pop.create_network(NetworkRequest("n", "10.0.0.0/28", tag=intent.key))
    port = await node.pop.create_port(PortRequest("p", network, tag=intent.key))
    await node.pop.create_server(
        ServerRequest("vm", "img", Resources(1, 64), (port,), tag=intent.key)
    )
    await rt.handles.add(
        StoredHandle(
            "s1",
            str(POP),
            POP.pop,
            "network",
            network.network_id,
            encode_handle("network", network),
        )
    )

    # Not placed, not recorded: found through its open intent alone.
    held = await held_local_parts(rt, InstantiateState("s1", "op-1"))
    assert held == [POP]
    await undeploy_local_parts(rt, "s1", held)

    tagged = await node.pop.tagged(intent.key)
    assert (tagged.networks, tagged.ports, tagged.servers) == ((), (), ())
    assert await rt.handles.of_part("s1", str(POP)) == []
    assert await rt.intents.all_open() == []
    assert (await node.pop.capacity()).used == Resources()
    assert node.changed.calls == 1


async def test_a_services_wan_is_released_with_only_its_ports() -> None:
    graph = WanGraph(["ams", "fra"], [WanLink("ams-fra", "ams", "fra", 100, 5)])
    wim = Wim(graph, CapacityOnlyDriver(), IdPool("wim", IdRange(5000, 5099)), MemoryBookingStore())
    rt = WanOnly(wim=wim, intents=InMemoryIntentStore())
    assert {f.name for f in fields(rt)} == _members(WanReleasePorts)
    for service_id in ("s1", "s2"):
        await rt.intents.open(wan_intent(service_id))
        await book_link(wim, connectivity_id(service_id, "l1"), ("ams", "fra"), 0, 10)

    await release_service_wan(rt, "s1")

    assert wim.connectivity_ids() == [connectivity_id("s2", "l1")]
    assert [i.service_id for i in await rt.intents.all_open()] == ["s2"]


def _runtime_as_every_port(rt: NodeRuntime) -> list[object]:
    """Checked by mypy: a ``NodeRuntime`` is each port."""
    identity: NodeIdentity = rt
    events: EventPorts = rt
    fault: FaultPorts = rt
    admission: AdmissionPorts = rt
    validate: ValidatePorts = rt
    place: PlacePorts = rt
    addresses: AddressPorts = rt
    undeploy: UndeployPorts = rt
    release: ReleasePorts = rt
    wan_release: WanReleasePorts = rt
    undo: UndoPorts = rt
    deploy: DeployPorts = rt
    delegation: DelegationPorts = rt
    wan: WanPorts = rt
    activate: ActivatePorts = rt
    return [
        identity,
        events,
        fault,
        admission,
        validate,
        place,
        addresses,
        undeploy,
        release,
        wan_release,
        undo,
        deploy,
        delegation,
        wan,
        activate,
    ]


def test_the_node_runtime_has_every_member_of_every_port(runtime: NodeRuntime) -> None:
    every = _runtime_as_every_port(runtime)
    assert len(every) == len(ports.__all__)
    for name in ports.__all__:
        port = getattr(ports, name)
        missing = {m for m in _members(port) if not hasattr(runtime, m)}
        assert not missing, f"{name}: NodeRuntime lacks {sorted(missing)}"


def test_the_undo_port_is_every_undo_together() -> None:
    parts = (UndeployPorts, ReleasePorts, WanReleasePorts)
    assert _members(UndoPorts) == set().union(*(_members(p) for p in parts))
