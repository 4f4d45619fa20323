"""Tags on the emulated PoP: ``Vim.tagged`` (the shared contract), across restarts, and
in the saved rows (a row without a tag, saved before tags existed, is untagged)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

import pytest

from lower_sp.local.vim import (
    EmulatedPop,
    EmulatedResource,
    MemoryPopStateStore,
    NetworkRequest,
    PortRequest,
    ServerRequest,
    ServerStatus,
    TaggedResources,
    Vim,
)
from spfed.errors import InvalidArgument, Unavailable
from spfed.model import Resources
from tests.unit.vim.conftest import PopFactory
from tests.unit.vim.fakes import FailingStore
from tests.unit.vim.tagged_contract import TaggedContract, remove_tagged

VM = Resources(vcpus=2, memory_mib=1024, disk_gib=10)
TAG = "spfed-intent-7"
OTHER = "spfed-intent-8"


class TestEmulatedPopTagged(TaggedContract):
    @pytest.fixture(params=[0, 20], ids=["instant-boot", "boot-20ms"])
    async def vim(self, request: pytest.FixtureRequest) -> AsyncIterator[Vim]:
        pop = EmulatedPop(
            "tagged-pop",
            "eu-west",
            Resources(vcpus=8, memory_mib=8192, disk_gib=80),
            MemoryPopStateStore(),
            boot_delay_ms=request.param,
        )
        await pop.start()
        yield pop
        await pop.close()


async def _populate(pop: EmulatedPop) -> TaggedResources:
    """A network, a port and a server with ``TAG``, and untagged and ``OTHER`` neighbours."""
    network = await pop.create_network(NetworkRequest("n", "10.6.0.0/24", tag=TAG))
    port = await pop.create_port(PortRequest("p", network, tag=TAG))
    server = await pop.create_server(ServerRequest("vm", "img", VM, (port,), tag=TAG))
    bare = await pop.create_network(NetworkRequest("bare", "10.7.0.0/24"))
    await pop.create_port(PortRequest("bare-port", bare))
    await pop.create_port(PortRequest("other-port", bare, tag=OTHER))
    await pop.create_server(ServerRequest("bare-vm", "img", VM))
    return TaggedResources((network,), (port,), (server,))


async def test_a_restarted_pop_still_finds_what_carries_a_tag(make_pop: PopFactory) -> None:
    made = await _populate(await make_pop())

    pop = await make_pop()

    assert await pop.tagged(TAG) == made
    assert [p.name for p in (await pop.tagged(OTHER)).ports] == ["other-port"]


async def test_what_a_restarted_pop_found_by_tag_can_be_deleted(make_pop: PopFactory) -> None:
    await _populate(await make_pop())
    pop = await make_pop()

    removed = await remove_tagged(pop, TAG)

    (server,) = removed.servers
    assert await pop.server_status(server) == ServerStatus.DELETED
    assert (await pop.capacity()).used == VM  # only bare-vm is left
    restarted = await make_pop()
    assert (await restarted.tagged(TAG)).empty
    assert {n.name for n in restarted.networks()} == {"bare"}


async def test_untagged_rows_have_no_tag_key_and_tagged_rows_have_one(
    pop: EmulatedPop, store: MemoryPopStateStore
) -> None:
    await _populate(pop)

    rows = {r.data["name"]: r.data for r in await store.load("pop-a")}

    assert {name for name, data in rows.items() if "tag" in data} == {"n", "p", "vm", "other-port"}
    assert rows["n"]["tag"] == TAG
    assert rows["other-port"]["tag"] == OTHER


async def test_rows_saved_before_tags_existed_load_untagged(
    make_pop: PopFactory, store: MemoryPopStateStore
) -> None:
    # The rows as an emulated PoP without tags wrote them.
    network = {
        "subnet_id": "s1",
        "name": "old-net",
        "cidr": "10.8.0.0/24",
        "gateway": "10.8.0.1",
        "segmentation_id": 0,
        "dhcp": False,
        "mtu": 0,
    }
    port = {
        "network_id": "n1",
        "name": "old-port",
        "address": "10.8.0.2",
        "mac": "02:00:00:00:00:01",
    }
    server = {
        "name": "old-vm",
        "image": "img",
        "image_md5": "",
        "flavor": "",
        "metadata": {},
        "resources": {"vcpus": 2, "memory_mib": 1024, "disk_gib": 10},
        "port_ids": ["p1"],
        "active_at": 0.0,
    }
    for kind, resource_id, data in (
        ("network", "n1", network),
        ("port", "p1", port),
        ("server", "v1", server),
    ):
        await store.put("pop-a", EmulatedResource(kind, resource_id, data))

    pop = await make_pop()

    assert [n.tag for n in pop.networks()] == [""]
    assert [p.tag for p in pop.ports()] == [""]
    assert [s.tag for s in pop.servers()] == [""]
    assert (await pop.tagged(TAG)).empty
    # And they are still deleted through their old handles.
    (old,) = pop.servers()
    await pop.delete_server(old)
    assert await pop.server_status(old) == ServerStatus.DELETED


async def test_a_malformed_tag_books_nothing(pop: EmulatedPop, store: MemoryPopStateStore) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.9.0.0/24"))

    with pytest.raises(InvalidArgument) as refused:
        await pop.create_server(ServerRequest("", "img", VM, tag="Not-A-Tag"))

    fields = {v.field for v in refused.value.field_violations}
    assert fields == {"name", "tag"}  # every problem is reported
    assert pop.servers() == ()
    assert (await pop.capacity()).used == Resources()
    assert {r.id for r in await store.load("pop-a")} == {network.network_id}


async def test_a_failed_write_leaves_no_tag_behind(make_pop: PopFactory) -> None:
    store = FailingStore()
    pop = await make_pop(on=store)
    network = await pop.create_network(NetworkRequest("n", "10.10.0.0/24", tag=TAG))
    store.failing = True

    with pytest.raises(Unavailable):
        await pop.create_port(PortRequest("p", network, tag=TAG))
    with pytest.raises(Unavailable):
        await pop.delete_network(network)

    assert await pop.tagged(TAG) == TaggedResources((network,), (), ())


async def test_the_tag_index_forgets_a_tag_with_its_last_holder(pop: EmulatedPop) -> None:
    network = await pop.create_network(NetworkRequest("n", "10.11.0.0/24", tag=TAG))
    port = await pop.create_port(PortRequest("p", network, tag=TAG))
    state = pop._live()
    assert not gc.is_tracked(state.tags[TAG])  # ids and kinds only: no GC scans per tag

    await pop.delete_port(port)
    await pop.delete_network(network)

    assert state.tags == {}
