"""``ServiceBlocks``: the node's stored pools of service and slice spaces.

Real SQLite storage: what a space holds is stored before it is returned,
survives a restart (a new ``ServiceBlocks`` on the same database), goes back
exactly on release, and an exhausted pool leaves nothing of the request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from spfed.config import AddressingConfig
from spfed.errors import InvalidArgument, ResourceExhausted
from spfed.lifecycle.blocks import Purpose, ServiceBlocks
from spfed.model import IdRange
from spfed.storage import AddressStore, Database

SMALL = AddressingConfig(
    service_pool="10.0.0.0/15",
    service_prefix_length=16,
    service_pool_v6="fd5f::/47",
    service_prefix_length_v6=48,
    slice_pool="172.16.0.0/20",
    slice_prefix_length=20,
    slice_pool_v6="fd5e::/48",
    slice_prefix_length_v6=48,
    vni_pool="5000-5999",
    service_vnis=200,
    mac_pool="02:5f:00:00:00:00/24",
    service_mac_prefix_length=32,
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'node.db'}")
    await database.migrate()
    yield database
    await database.close()


async def blocks_on(db: Database, config: AddressingConfig = SMALL) -> ServiceBlocks:
    blocks = ServiceBlocks(config, AddressStore(db))
    await blocks.start()
    return blocks


async def test_a_space_holds_a_block_vnis_and_macs_from_the_pools(db: Database) -> None:
    blocks = await blocks_on(db)
    space = await blocks.allocate("s1")
    assert space.block == "10.0.0.0/16"
    assert space.vnis == IdRange(5000, 5199)
    assert space.macs == "02:5f:00:00:00:00/32"
    assert space.mtu == SMALL.mtu
    v6 = await blocks.allocate("s2", ip_version=6)
    assert v6.block == "fd5f::/48"
    assert v6.vnis == IdRange(5200, 5399)
    assert blocks.held() == {
        "10.0.0.0/16": "s1",
        "5000-5199": "s1",
        "02:5f:00:00:00:00/32": "s1",
        "fd5f::/48": "s2",
        "5200-5399": "s2",
        "02:5f:00:01:00:00/32": "s2",
    }
    assert blocks.holder_of("10.0.3.4") == "services (10.0.0.0/15)"
    assert blocks.holder_of("fd5f::1") == "services-v6 (fd5f::/47)"
    assert blocks.holder_of("192.0.2.1") == ""


async def test_slices_draw_their_blocks_from_the_slice_pools(db: Database) -> None:
    blocks = await blocks_on(db)
    v4 = await blocks.allocate("slice-1", purpose=Purpose.SLICE)
    v6 = await blocks.allocate("slice-2", ip_version=6, purpose=Purpose.SLICE)
    assert v4.block == "172.16.0.0/20"
    assert v6.block == "fd5e::/48"
    assert blocks.holder_of("172.16.1.1") == "slices (172.16.0.0/20)"
    with pytest.raises(ResourceExhausted) as info:
        await blocks.allocate("slice-3", purpose=Purpose.SLICE)
    assert "slices" in info.value.message
    # a service block is still there: the pools are separate
    assert (await blocks.allocate("s1")).block == "10.0.0.0/16"


@pytest.mark.parametrize(
    ("config", "pool"),
    [
        (AddressingConfig(service_pool="10.0.0.0/16", service_prefix_length=16), "services"),
        (AddressingConfig(vni_pool="100-399", service_vnis=200), "vnis"),
        (
            AddressingConfig(mac_pool="02:5f:00:00:00:00/32", service_mac_prefix_length=32),
            "macs",
        ),
    ],
)
async def test_an_exhausted_pool_is_named_and_leaves_nothing_of_the_request(
    db: Database, config: AddressingConfig, pool: str
) -> None:
    blocks = await blocks_on(db, config)
    await blocks.allocate("first")
    before = blocks.held()
    stored = await AddressStore(db).all()
    with pytest.raises(ResourceExhausted) as info:
        await blocks.allocate("second")
    assert pool in info.value.message or any(pool in q.subject for q in info.value.quota_violations)
    assert blocks.held() == before
    assert await AddressStore(db).all() == stored


async def test_allocations_survive_a_restart_and_release_exactly_what_the_owner_held(
    db: Database,
) -> None:
    blocks = await blocks_on(db)
    first = await blocks.allocate("s1")
    second = await blocks.allocate("s2", ip_version=6)
    slice_space = await blocks.allocate("sl", purpose=Purpose.SLICE)
    held = blocks.held()

    restarted = await blocks_on(db)
    assert restarted.held() == held
    # the restarted pools do not hand out what is held
    third = await restarted.allocate("s3")
    assert third.block not in (first.block, second.block, slice_space.block)
    assert not set(range(third.vnis.first, third.vnis.last + 1)) & set(
        range(first.vnis.first, first.vnis.last + 1)
    )

    with_third = restarted.held()
    await restarted.release("s1")
    assert restarted.held() == {k: v for k, v in with_third.items() if v != "s1"}
    await restarted.release("s1")  # idempotent
    again = await blocks_on(db)
    assert "s1" not in again.held().values()
    assert {"s2", "sl", "s3"} == set(again.held().values())


async def test_sub_service_ids_only(db: Database) -> None:
    blocks = await blocks_on(db)
    ids = await blocks.allocate_ids("sub")
    assert ids.block == ""
    assert ids.vnis.size == SMALL.service_vnis
    await blocks.release("sub")
    assert blocks.held() == {}


def test_a_pool_of_the_wrong_family_is_refused_naming_the_field(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(InvalidArgument) as info:
        ServiceBlocks(AddressingConfig(slice_pool_v6="10.0.0.0/8"), AddressStore(db))
    assert info.value.field_violations[0].field == "addressing.slice_pool_v6"
    with pytest.raises(InvalidArgument, match=r"addressing\.vni_pool"):
        ServiceBlocks(AddressingConfig(vni_pool="nope"), AddressStore(db))
