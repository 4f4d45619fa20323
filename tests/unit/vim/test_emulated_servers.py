"""Emulated specifics of servers: boot delay, options, request checks."""

from __future__ import annotations

import pytest

from lower_sp.local.vim import (
    EmulatedPop,
    MemoryPopStateStore,
    NetworkRequest,
    PortRequest,
    ServerRequest,
    ServerStatus,
)
from spfed.config import CapacityConfig, PopConfig
from spfed.errors import DeadlineExceeded, InvalidArgument, ResourceExhausted
from spfed.model import Resources
from tests.unit.vim.conftest import PopFactory
from tests.unit.vim.fakes import FakeClock

VM = Resources(vcpus=2, memory_mib=1024, disk_gib=10)


async def test_server_builds_for_the_boot_delay(make_pop: PopFactory) -> None:
    clock = FakeClock()
    pop = await make_pop(boot_delay_ms=1500, clock=clock)
    server = await pop.create_server(ServerRequest("vm", "img", VM))

    assert await pop.server_status(server) == ServerStatus.BUILD
    clock.advance(1.499)
    assert await pop.server_status(server) == ServerStatus.BUILD
    clock.advance(0.001)
    assert await pop.server_status(server) == ServerStatus.ACTIVE
    assert (await pop.capacity()).used == VM  # held from creation, not from activation


async def test_wait_active_gives_up_when_the_boot_outlasts_the_timeout(
    make_pop: PopFactory,
) -> None:
    pop = await make_pop(boot_delay_ms=60_000)
    server = await pop.create_server(ServerRequest("vm", "img", VM))

    with pytest.raises(DeadlineExceeded, match="not ACTIVE after 1s"):
        await pop.wait_active(server, 1.0)


async def test_wait_active_sleeps_exactly_the_boot_delay(make_pop: PopFactory) -> None:
    pop = await make_pop(boot_delay_ms=30)
    server = await pop.create_server(ServerRequest("vm", "img", VM))

    await pop.wait_active(server, 5.0)

    assert await pop.server_status(server) == ServerStatus.ACTIVE


def _config(**options: str) -> PopConfig:
    return PopConfig(
        name="ams",
        region="eu-west",
        capacity=CapacityConfig(vcpus=4, memory_mib=4096, disk_gib=40),
        options=options,
    )


async def test_from_config_takes_capacity_and_boot_delay() -> None:
    pop = EmulatedPop.from_config(_config(boot_delay_ms="60000"), MemoryPopStateStore())
    await pop.start()

    server = await pop.create_server(ServerRequest("vm", "img", VM))

    assert pop.name == "ams"
    assert pop.region == "eu-west"
    assert (await pop.capacity()).total == Resources(4, 4096, 40)
    assert await pop.server_status(server) == ServerStatus.BUILD
    await pop.close()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"boot_delay_ms": "-1"}, "pops.ams.options.boot_delay_ms"),
        ({"boot_delay_ms": "soon"}, "pops.ams.options.boot_delay_ms"),
        ({"boot_dealy_ms": "10"}, "pops.ams.options.boot_dealy_ms"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        EmulatedPop.from_config(_config(**options), MemoryPopStateStore())

    assert [v.field for v in raised.value.field_violations] == [field]


def test_negative_boot_delay_is_invalid() -> None:
    with pytest.raises(InvalidArgument):
        EmulatedPop("p", "r", VM, MemoryPopStateStore(), boot_delay_ms=-5)


async def test_every_problem_of_a_server_request_is_reported(pop: EmulatedPop) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.0.0.0/24"))
    port = await pop.create_port(PortRequest("p", network))

    with pytest.raises(InvalidArgument) as raised:
        await pop.create_server(ServerRequest("", "", Resources(-1, 0, 0), (port, port)))

    fields = {v.field for v in raised.value.field_violations}
    assert fields == {"name", "image", "resources", "ports"}
    assert (await pop.capacity()).used == Resources()


async def test_a_server_exactly_the_size_of_the_pop_fits(make_pop: PopFactory) -> None:
    pop = await make_pop(capacity=VM)

    server = await pop.create_server(ServerRequest("vm", "img", VM))
    with pytest.raises(ResourceExhausted) as raised:
        await pop.create_server(ServerRequest("vm2", "img", Resources(0, 0, 1)))

    assert "1 GiB disk asked, 0 free" in raised.value.quota_violations[0].description
    await pop.delete_server(server)
    assert (await pop.capacity()).free == VM


def test_request_metadata_is_a_frozen_copy() -> None:
    tags = {"service": "s1"}
    request = ServerRequest("vm", "img", VM, metadata=tags)
    tags["service"] = "changed"

    assert request.metadata == {"service": "s1"}
    with pytest.raises(TypeError):
        request.metadata["x"] = "y"  # type: ignore[index]
    hash(request)  # requests stay hashable despite the mapping
