"""Concurrent calls on one emulated PoP never over-book compute nor hand out an address twice."""

from __future__ import annotations

import asyncio

from lower_sp.local.vim import (
    NetworkRequest,
    PortHandle,
    PortRequest,
    ServerHandle,
    ServerRequest,
)
from spfed.errors import FailedPrecondition, ResourceExhausted
from spfed.model import Resources
from tests.unit.vim.conftest import PopFactory
from tests.unit.vim.fakes import YieldingStore

VM = Resources(vcpus=1, memory_mib=512, disk_gib=10)


async def test_concurrent_creates_succeed_exactly_as_many_times_as_fit(
    make_pop: PopFactory,
) -> None:
    store = YieldingStore()
    pop = await make_pop(capacity=Resources(5, 5 * 512, 100), on=store)

    results = await asyncio.gather(
        *(pop.create_server(ServerRequest(f"vm{i}", "img", VM)) for i in range(20)),
        return_exceptions=True,
    )

    created = [r for r in results if isinstance(r, ServerHandle)]
    refused = [r for r in results if isinstance(r, ResourceExhausted)]
    assert len(created) == 5
    assert len(refused) == 15
    capacity = await pop.capacity()
    assert capacity.used == Resources(5, 5 * 512, 50)
    assert capacity.free == Resources(0, 0, 50)
    assert (await (await make_pop(on=store)).capacity()).used == capacity.used


async def test_the_scarcest_axis_decides(make_pop: PopFactory) -> None:
    pop = await make_pop(capacity=Resources(100, 1000, 100), on=YieldingStore())

    results = await asyncio.gather(
        *(pop.create_server(ServerRequest(f"vm{i}", "img", VM)) for i in range(5)),
        return_exceptions=True,
    )

    assert sum(isinstance(r, ServerHandle) for r in results) == 1  # 1000 MiB holds one 512
    (violation,) = next(r for r in results if isinstance(r, ResourceExhausted)).quota_violations
    assert violation.subject == "pop:pop-a"
    assert "512 MiB memory asked, 488 free" in violation.description


async def test_concurrent_automatic_addresses_are_distinct(make_pop: PopFactory) -> None:
    pop = await make_pop(on=YieldingStore())
    network = await pop.create_network(NetworkRequest("n", "10.0.0.0/28"))  # 13 free hosts

    results = await asyncio.gather(
        *(pop.create_port(PortRequest(f"p{i}", network)) for i in range(20)),
        return_exceptions=True,
    )

    ports = [r for r in results if isinstance(r, PortHandle)]
    assert len(ports) == 13
    assert len({p.address for p in ports}) == 13
    assert len({p.mac for p in ports}) == 13
    assert sum(isinstance(r, ResourceExhausted) for r in results) == 7


async def test_a_port_raced_by_many_servers_goes_to_one(make_pop: PopFactory) -> None:
    pop = await make_pop(on=YieldingStore())
    network = await pop.create_network(NetworkRequest("n", "10.0.0.0/28"))
    port = await pop.create_port(PortRequest("p", network))

    results = await asyncio.gather(
        *(pop.create_server(ServerRequest(f"vm{i}", "img", VM, (port,))) for i in range(5)),
        return_exceptions=True,
    )

    assert sum(isinstance(r, ServerHandle) for r in results) == 1
    assert sum(isinstance(r, FailedPrecondition) for r in results) == 4
    assert (await pop.capacity()).used == VM


async def test_concurrent_deletes_release_once(make_pop: PopFactory) -> None:
    pop = await make_pop(on=YieldingStore())
    server = await pop.create_server(ServerRequest("vm", "img", VM))

    await asyncio.gather(*(pop.delete_server(server) for _ in range(5)))

    assert (await pop.capacity()).used == Resources()
