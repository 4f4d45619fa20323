"""``WimConnectivityStore``: the WIM's services round-trip, and a restarted WIM books them again."""

from __future__ import annotations

from pathlib import Path

import pytest

from addressing import IdPool
from spfed.errors import AlreadyExists
from spfed.model import IdRange, WimService
from spfed.storage import Database, WimConnectivityStore
from wim import (
    BookingStore,
    CapacityOnlyDriver,
    ConnectionPoint,
    ConnectivityHandle,
    ConnectivityRequest,
    Segment,
    ServiceStatus,
    WanGraph,
    WanLink,
    Wim,
)


def _as_booking_store(store: WimConnectivityStore) -> BookingStore:
    """Type-checked, not run: the SQL store is the WIM's ``BookingStore``."""
    return store


def _handle(service_id: str = "s1", vni: int = 7000) -> ConnectivityHandle:
    return ConnectivityHandle(
        service_id=service_id,
        type=WimService.E_LAN,
        endpoints=(
            ConnectionPoint("ams", "eth1", 42),
            ConnectionPoint("par"),
            ConnectionPoint("b1"),
        ),
        segments=(Segment("ams-fra", "ams", "fra", vni), Segment("fra-par", "fra", "par", vni + 1)),
        bandwidth_mbps=12.5,
        latency_ms=0.1 + 0.2,
        created_items={"vxlan": ("vx-1", "vx-2"), "netns": ("ns-a",)},
    )


async def test_a_service_round_trips(db: Database) -> None:
    store = WimConnectivityStore(db)
    bare = ConnectivityHandle("s0", WimService.E_LINE, (ConnectionPoint("a"),) * 2, (), 0, 0)
    await store.save(_handle())
    await store.save(bare)
    assert await store.load() == [bare, _handle()]


async def test_save_replaces_and_delete_is_idempotent(db: Database) -> None:
    store = WimConnectivityStore(db)
    await store.save(_handle(vni=7000))
    await store.save(_handle(vni=8000))
    assert await store.load() == [_handle(vni=8000)]
    await store.delete("s1")
    await store.delete("s1")
    assert await store.load() == []


async def test_service_ids_have_room_for_a_link_id(db: Database) -> None:
    store = WimConnectivityStore(db)
    wide = f"{'f' * 32}/{'l' * 222}"
    await store.save(_handle(wide))
    assert [r.service_id for r in await store.load()] == [wide]


async def test_one_vni_is_stored_once(db: Database) -> None:
    store = WimConnectivityStore(db)
    await store.save(_handle("s1", vni=7000))
    with pytest.raises(AlreadyExists):
        await store.save(_handle("s2", vni=7001))
    assert [r.service_id for r in await store.load()] == ["s1"]


GRAPH = WanGraph(
    ["ams", "fra", "par"],
    [WanLink("ams-fra", "ams", "fra", 100, 5), WanLink("fra-par", "fra", "par", 100, 6)],
)


async def _node(path: Path) -> tuple[Database, Wim, IdPool]:
    db = Database.connect(f"sqlite:///{path}")
    await db.migrate()
    pool = IdPool("wim", IdRange(100, 199))
    return db, Wim(GRAPH, CapacityOnlyDriver(), pool, WimConnectivityStore(db)), pool


async def test_a_restarted_wim_books_again_what_it_stored(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    db, wim, _ = await _node(path)
    request = ConnectivityRequest(
        WimService.E_LINE, (ConnectionPoint("ams"), ConnectionPoint("par")), 40, 20
    )
    kept = await wim.create_connectivity_service(request, service_id="kept")
    gone = await wim.create_connectivity_service(request, service_id="gone")
    await wim.delete_connectivity_service(gone.service_id)
    bookings = wim.ledger.bookings()
    await db.close()

    db, restarted, pool = await _node(path)
    try:
        assert await restarted.restore() == (kept,)
        assert restarted.ledger.bookings() == bookings
        assert set(pool.allocated()) == {IdRange(s.vni, s.vni) for s in kept.segments}
        assert await restarted.get_connectivity_service_status("kept") is ServiceStatus.ACTIVE
        await restarted.delete_connectivity_service("kept")
        assert await WimConnectivityStore(db).load() == []
    finally:
        await db.close()
