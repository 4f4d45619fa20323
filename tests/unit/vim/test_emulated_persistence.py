"""The emulated PoP's state survives a restart, and every change is written before it returns."""

from __future__ import annotations

import pytest

from lower_sp.local.vim import (
    EmulatedPop,
    EmulatedResource,
    MemoryPopStateStore,
    NetworkRequest,
    PortRequest,
    ServerRequest,
    ServerStatus,
)
from spfed.errors import (
    AlreadyExists,
    FailedPrecondition,
    Internal,
    Unavailable,
)
from spfed.model import Resources
from tests.unit.vim.conftest import PopFactory
from tests.unit.vim.fakes import FailingStore, FakeClock

VM = Resources(vcpus=2, memory_mib=1024, disk_gib=10)


async def _populate(pop: EmulatedPop) -> None:
    net4 = await pop.create_network(NetworkRequest("net4", "10.1.0.0/24", segmentation_id=42))
    net6 = await pop.create_network(NetworkRequest("net6", "2001:db8:1::/64"))
    a = await pop.create_port(PortRequest("a", net4, address="10.1.0.10", mac="02:00:00:00:00:0a"))
    b = await pop.create_port(PortRequest("b", net4))
    c = await pop.create_port(PortRequest("c", net6))
    gone = await pop.create_port(PortRequest("gone", net4))
    await pop.create_server(
        ServerRequest("vm1", "img", VM, (a, c), flavor="m1", metadata={"service": "s1"})
    )
    doomed = await pop.create_server(ServerRequest("vm2", "img", VM, (b,)))
    await pop.create_server(ServerRequest("vm3", "img", VM))
    await pop.delete_server(doomed)
    await pop.delete_port(gone)


async def test_restart_sees_the_same_networks_ports_servers_and_capacity(
    make_pop: PopFactory,
) -> None:
    before = await make_pop()
    await _populate(before)

    after = await make_pop()

    assert set(after.networks()) == set(before.networks())
    assert set(after.ports()) == set(before.ports())
    assert set(after.servers()) == set(before.servers())
    assert len(after.servers()) == 2
    assert await after.capacity() == await before.capacity()
    assert (await after.capacity()).used == VM + VM


async def test_restart_keeps_bindings_addresses_macs_and_segments(make_pop: PopFactory) -> None:
    await _populate(await make_pop())

    pop = await make_pop()

    ports = {p.name: p for p in pop.ports()}
    networks = {n.name: n for n in pop.networks()}
    with pytest.raises(FailedPrecondition):  # a is still bound to vm1
        await pop.create_server(ServerRequest("vm4", "img", VM, (ports["a"],)))
    with pytest.raises(FailedPrecondition):
        await pop.delete_port(ports["a"])
    with pytest.raises(AlreadyExists):
        await pop.create_port(PortRequest("x", networks["net4"], address="10.1.0.10"))
    with pytest.raises(AlreadyExists):
        await pop.create_port(PortRequest("x", networks["net4"], mac="02:00:00:00:00:0a"))
    with pytest.raises(AlreadyExists):
        await pop.create_network(NetworkRequest("again", "10.9.0.0/24", segmentation_id=42))
    with pytest.raises(FailedPrecondition):
        await pop.delete_network(networks["net4"])
    # b was released when vm2 was deleted before the restart.
    await pop.create_server(ServerRequest("vm5", "img", VM, (ports["b"],)))


async def test_handles_from_before_a_restart_still_work(make_pop: PopFactory) -> None:
    first = await make_pop()
    network = await first.create_network(NetworkRequest("n", "10.2.0.0/29"))
    port = await first.create_port(PortRequest("p", network))
    server = await first.create_server(ServerRequest("vm", "img", VM, (port,)))

    pop = await make_pop()

    assert await pop.server_status(server) == ServerStatus.ACTIVE
    await pop.delete_server(server)
    await pop.delete_port(port)
    await pop.delete_network(network)
    assert (await pop.capacity()).used == Resources()
    assert (await make_pop()).networks() == ()


async def test_restart_keeps_a_boot_in_progress(make_pop: PopFactory) -> None:
    clock = FakeClock()
    first = await make_pop(boot_delay_ms=5000, clock=clock)
    server = await first.create_server(ServerRequest("vm", "img", VM))
    clock.advance(2)

    pop = await make_pop(boot_delay_ms=5000, clock=clock)

    assert await pop.server_status(server) == ServerStatus.BUILD
    clock.advance(3)
    assert await pop.server_status(server) == ServerStatus.ACTIVE


async def test_every_create_is_stored_before_it_returns(
    pop: EmulatedPop, store: MemoryPopStateStore
) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.3.0.0/24"))
    port = await pop.create_port(PortRequest("p", network))
    server = await pop.create_server(ServerRequest("vm", "img", VM, (port,)))

    saved = {(r.kind, r.id) for r in await store.load("pop-a")}

    assert saved == {
        ("network", network.network_id),
        ("port", port.port_id),
        ("server", server.server_id),
    }


async def test_a_failed_write_changes_nothing(make_pop: PopFactory) -> None:
    store = FailingStore()
    pop = await make_pop(on=store)
    network = await pop.create_network(NetworkRequest("n", "10.4.0.0/29"))
    port = await pop.create_port(PortRequest("p", network))
    server = await pop.create_server(ServerRequest("vm", "img", VM, (port,)))
    store.failing = True

    with pytest.raises(Unavailable):
        await pop.create_server(ServerRequest("vm2", "img", VM))
    with pytest.raises(Unavailable):
        await pop.create_port(PortRequest("p2", network))
    with pytest.raises(Unavailable):
        await pop.delete_server(server)

    assert (await pop.capacity()).used == VM
    assert await pop.server_status(server) == ServerStatus.ACTIVE
    assert len(pop.ports()) == 1
    store.failing = False
    second = await pop.create_port(PortRequest("p2", network))
    assert second.address == "10.4.0.3/29"  # .2 is p's; nothing leaked from the failed try


async def test_calls_outside_start_and_close_fail(store: MemoryPopStateStore) -> None:
    pop = EmulatedPop("pop-a", "eu-west", VM, store)

    with pytest.raises(FailedPrecondition):
        await pop.capacity()
    with pytest.raises(FailedPrecondition):
        await pop.create_network(NetworkRequest("n", "10.5.0.0/24"))

    await pop.start()
    network = await pop.create_network(NetworkRequest("n", "10.5.0.0/24"))
    await pop.close()
    await pop.close()

    with pytest.raises(FailedPrecondition):
        await pop.delete_network(network)
    await pop.start()
    assert pop.networks() == (network,)


@pytest.mark.parametrize(
    "resource",
    [
        EmulatedResource("volume", "v1", {}),
        EmulatedResource("network", "n1", {"name": "no cidr"}),
        EmulatedResource(
            "port",
            "p1",
            {
                "network_id": "missing",
                "name": "",
                "address": "10.0.0.2",
                "mac": "02:00:00:00:00:01",
            },
        ),
    ],
    ids=["unknown-kind", "malformed", "dangling-reference"],
)
async def test_corrupt_saved_state_fails_start_loudly(
    store: MemoryPopStateStore, resource: EmulatedResource
) -> None:
    await store.put("pop-a", resource)
    pop = EmulatedPop("pop-a", "eu-west", VM, store)

    with pytest.raises(Internal, match=resource.id):
        await pop.start()


async def test_pops_sharing_a_store_are_separate(store: MemoryPopStateStore) -> None:
    a = EmulatedPop("pop-a", "eu", VM, store)
    b = EmulatedPop("pop-b", "eu", VM, store)
    await a.start()
    await b.start()

    await a.create_server(ServerRequest("vm", "img", VM))

    assert (await b.capacity()).used == Resources()
    await b.start()
    assert b.servers() == ()
