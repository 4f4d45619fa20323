"""``Wim``: create → admit → VNIs → realise → store, with exact rollback, delete and restore."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from addressing import IdPool
from spfed.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from spfed.model import IdRange, WimService
from tests.unit.wim.fakes import MemoryBookingStore, ScriptedDriver
from wim import (
    Booking,
    CapacityOnlyDriver,
    ConnectionPoint,
    ConnectivityRequest,
    Segment,
    ServiceStatus,
    WanGraph,
    WanLink,
    Wim,
    WimDriver,
)

GRAPH = WanGraph(
    ["ams", "fra", "par", "border-1"],
    [
        WanLink("ams-fra", "ams", "fra", 100, 5),
        WanLink("fra-par", "fra", "par", 100, 6),
        WanLink("ams-par", "ams", "par", 40, 20),
        WanLink("par-b1", "par", "border-1", 100, 1),
    ],
)


def _line(a: str, b: str, mbps: float = 30, max_ms: float = 0) -> ConnectivityRequest:
    return ConnectivityRequest(
        WimService.E_LINE, (ConnectionPoint(a), ConnectionPoint(b, "eth1", 42)), mbps, max_ms
    )


def _pool(size: int = 100) -> IdPool:
    return IdPool("wim", IdRange(5000, 5000 + size - 1))


def _wim(
    driver: WimDriver | None = None,
    store: MemoryBookingStore | None = None,
    pool: IdPool | None = None,
) -> Wim:
    return Wim(GRAPH, driver or ScriptedDriver(), pool or _pool(), store or MemoryBookingStore())


async def test_an_e_line_is_routed_booked_given_vnis_realised_and_stored() -> None:
    driver, store, pool = ScriptedDriver(), MemoryBookingStore(), _pool()
    wim = _wim(driver, store, pool)
    handle = await wim.create_connectivity_service(_line("ams", "border-1"), service_id="s1")
    assert handle.service_id == "s1"
    assert handle.type is WimService.E_LINE
    assert handle.endpoints == (ConnectionPoint("ams"), ConnectionPoint("border-1", "eth1", 42))
    assert handle.segments == (
        Segment("ams-fra", "ams", "fra", 5000),
        Segment("fra-par", "fra", "par", 5001),
        Segment("par-b1", "par", "border-1", 5002),
    )
    assert handle.links == ("ams-fra", "fra-par", "par-b1")
    assert (handle.bandwidth_mbps, handle.latency_ms) == (30, 12)
    assert dict(handle.created_items) == {"vxlan": ("vx0",)}
    assert store.saved == {"s1": handle}
    assert driver.live == {"s1": replace(handle, created_items={})}
    assert wim.get_connectivity_service("s1") == handle
    assert await wim.get_connectivity_service_status("s1") is ServiceStatus.ACTIVE
    assert [wim.ledger.free(link) for link in handle.links] == [70, 70, 70]
    assert set(pool.allocated()) == {IdRange(v, v) for v in (5000, 5001, 5002)}


async def test_an_e_lan_books_its_tree() -> None:
    wim = _wim()
    request = ConnectivityRequest(
        WimService.E_LAN,
        (ConnectionPoint("ams"), ConnectionPoint("par"), ConnectionPoint("border-1")),
        10,
    )
    handle = await wim.create_connectivity_service(request)
    assert len(handle.service_id) == 32
    assert set(handle.links) == {"ams-fra", "fra-par", "par-b1"}
    assert handle.latency_ms == 12
    assert len({s.vni for s in handle.segments}) == 3


@pytest.mark.parametrize(
    ("request_", "error", "detail"),
    [
        (_line("ams", "par", mbps=101), ResourceExhausted, "wan-link:ams-fra"),
        (_line("ams", "par", max_ms=10), FailedPrecondition, "max_latency_ms"),
        (_line("ams", "nowhere"), InvalidArgument, "endpoints[1].node"),
    ],
)
async def test_a_refused_request_holds_nothing(
    request_: ConnectivityRequest, error: type[Exception], detail: str
) -> None:
    driver, store, pool = ScriptedDriver(), MemoryBookingStore(), _pool()
    wim = _wim(driver, store, pool)
    with pytest.raises(error) as caught:
        await wim.create_connectivity_service(request_, service_id="s1")
    assert detail in str(caught.value)
    assert (wim.ledger.bookings(), pool.allocated(), store.saved, driver.live) == ([], {}, {}, {})
    with pytest.raises(NotFound):
        await wim.get_connectivity_service_status("s1")


async def test_a_failing_driver_rolls_everything_back() -> None:
    driver, store, pool = ScriptedDriver(fail_realise=1), MemoryBookingStore(), _pool()
    wim = _wim(driver, store, pool)
    with pytest.raises(Internal):
        await wim.create_connectivity_service(_line("ams", "par"), service_id="s1")
    assert (wim.ledger.bookings(), pool.allocated(), store.saved) == ([], {}, {})
    handle = await wim.create_connectivity_service(_line("ams", "par"), service_id="s1")
    assert handle.segments[0].vni == 5000


async def test_a_failing_store_removes_what_the_driver_built() -> None:
    driver, store, pool = ScriptedDriver(), MemoryBookingStore(), _pool()
    store.fail_saves = 1
    wim = _wim(driver, store, pool)
    with pytest.raises(Unavailable):
        await wim.create_connectivity_service(_line("ams", "par"), service_id="s1")
    assert driver.removed == ["s1"]
    assert (wim.ledger.bookings(), pool.allocated(), store.saved, driver.live) == ([], {}, {}, {})


async def test_a_failing_rollback_is_logged_and_the_first_error_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    driver, store = ScriptedDriver(fail_remove=1), MemoryBookingStore()
    store.fail_saves = 1
    wim = _wim(driver, store)
    with pytest.raises(Unavailable, match="store down"):
        await wim.create_connectivity_service(_line("ams", "par"), service_id="s1")
    assert "wim.connectivity.leaked service=s1 created_items={'vxlan': ('vx0',)}" in caplog.text
    assert wim.ledger.bookings() == []


async def test_a_dry_vni_pool_is_resource_exhausted_and_frees_the_bandwidth() -> None:
    pool = _pool(size=2)
    wim = _wim(pool=pool)
    with pytest.raises(ResourceExhausted, match="id pool wim"):
        await wim.create_connectivity_service(_line("ams", "border-1"))
    assert (wim.ledger.bookings(), pool.allocated()) == ([], {})


async def test_a_cancelled_create_holds_nothing() -> None:
    driver, pool = ScriptedDriver(delay_s=10), _pool()
    wim = _wim(driver, pool=pool)
    task = asyncio.create_task(
        wim.create_connectivity_service(_line("ams", "par"), service_id="s1")
    )
    for _ in range(100):
        await asyncio.sleep(0)
        if wim.ledger.bookings():
            break
    assert await wim.get_connectivity_service_status("s1") is ServiceStatus.BUILD
    with pytest.raises(Aborted, match="creating"):
        await wim.delete_connectivity_service("s1")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (wim.ledger.bookings(), pool.allocated()) == ([], {})


async def test_concurrent_creates_never_over_book() -> None:
    wim = _wim(ScriptedDriver(delay_s=0.001))
    outcomes = await asyncio.gather(
        *(wim.create_connectivity_service(_line("ams", "fra", mbps=30)) for _ in range(8)),
        return_exceptions=True,
    )
    created = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    # Three fit on ams-fra; a fourth fits on the detour ams-par (40 Mbps) and no more.
    assert len(created) == 4
    assert all(isinstance(e, ResourceExhausted) for e in refused)
    for link in GRAPH.links:
        assert wim.ledger.booked(link) <= wim.ledger.capacity(link)
    vnis = [s.vni for h in created for s in h.segments]
    assert len(vnis) == len(set(vnis))


async def test_one_service_id_is_created_once() -> None:
    wim = _wim(ScriptedDriver(delay_s=0.001))
    outcomes = await asyncio.gather(
        wim.create_connectivity_service(_line("ams", "fra"), service_id="s1"),
        wim.create_connectivity_service(_line("ams", "fra"), service_id="s1"),
        return_exceptions=True,
    )
    assert sum(isinstance(o, AlreadyExists) for o in outcomes) == 1
    assert len(wim.ledger.bookings()) == 1


async def test_delete_releases_exactly_that_service_and_is_idempotent() -> None:
    driver, store, pool = ScriptedDriver(), MemoryBookingStore(), _pool()
    wim = _wim(driver, store, pool)
    first = await wim.create_connectivity_service(_line("ams", "par", 10), service_id="s1")
    second = await wim.create_connectivity_service(_line("fra", "par", 20), service_id="s2")
    await wim.delete_connectivity_service("s1")
    assert wim.ledger.bookings() == [Booking("s2", "fra-par", 20)]
    assert set(pool.allocated()) == {IdRange(v.vni, v.vni) for v in second.segments}
    assert driver.removed == ["s1"]
    assert set(store.saved) == {"s2"}
    with pytest.raises(NotFound):
        wim.get_connectivity_service("s1")
    await wim.delete_connectivity_service("s1")
    await wim.delete_connectivity_service("never")
    assert driver.removed == ["s1"]
    assert first.segments[0].vni not in {s.vni for s in second.segments}


async def test_a_delete_that_fails_keeps_the_service_whole_and_can_be_retried() -> None:
    driver, store = ScriptedDriver(), MemoryBookingStore()
    wim = _wim(driver, store)
    await wim.create_connectivity_service(_line("ams", "fra"), service_id="s1")
    driver.fail_remove = 1
    with pytest.raises(Unavailable):
        await wim.delete_connectivity_service("s1")
    store.fail_deletes = 1
    with pytest.raises(Unavailable):
        await wim.delete_connectivity_service("s1")
    assert await wim.get_connectivity_service_status("s1") is ServiceStatus.DOWN
    assert wim.ledger.booked("ams-fra") == 30
    await wim.delete_connectivity_service("s1")
    assert (wim.ledger.bookings(), store.saved) == ([], {})


async def test_concurrent_deletes_of_one_service_let_one_through() -> None:
    wim = _wim(ScriptedDriver(delay_s=0.001))
    await wim.create_connectivity_service(_line("ams", "fra"), service_id="s1")
    outcomes = await asyncio.gather(
        wim.delete_connectivity_service("s1"),
        wim.delete_connectivity_service("s1"),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Aborted", "NoneType"]
    assert wim.ledger.bookings() == []


async def test_restore_books_again_what_the_store_holds() -> None:
    store = MemoryBookingStore()
    before = _wim(CapacityOnlyDriver(), store)
    kept = await before.create_connectivity_service(_line("ams", "par", 10), service_id="s1")
    await before.create_connectivity_service(_line("ams", "fra", 5), service_id="s2")
    await before.delete_connectivity_service("s2")

    driver, pool = ScriptedDriver(), _pool()
    after = _wim(driver, store, pool)
    assert await after.restore() == (kept,)
    assert driver.adopted == ["s1"]
    assert after.ledger.bookings() == before.ledger.bookings()
    assert set(pool.allocated()) == {IdRange(s.vni, s.vni) for s in kept.segments}
    assert await after.get_connectivity_service_status("s1") is ServiceStatus.ACTIVE
    fresh = await after.create_connectivity_service(_line("ams", "fra", 5))
    assert not {s.vni for s in fresh.segments} & {s.vni for s in kept.segments}
    await after.delete_connectivity_service("s1")
    await after.delete_connectivity_service(fresh.service_id)
    assert (after.ledger.bookings(), pool.allocated(), store.saved) == ([], {}, {})


async def test_restore_runs_before_any_service() -> None:
    wim = _wim()
    await wim.create_connectivity_service(_line("ams", "fra", 5))
    with pytest.raises(FailedPrecondition, match="restore runs once"):
        await wim.restore()
    assert len(wim.ledger.bookings()) == 1


async def test_a_stored_service_the_wan_no_longer_has_room_for_is_restored_but_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryBookingStore()
    await _wim(store=store).create_connectivity_service(_line("ams", "fra", 90), service_id="s1")
    shrunk = WanGraph(
        GRAPH.nodes, [replace(link, capacity_mbps=50) for link in GRAPH.links.values()]
    )
    wim = Wim(shrunk, ScriptedDriver(), _pool(), store)
    await wim.restore()
    assert wim.ledger.free("ams-fra") == -40
    assert "wim.link.overbooked link=ams-fra booked_mbps=90 capacity_mbps=50" in caplog.text


async def test_a_stored_service_that_does_not_fit_the_configuration_restores_nothing() -> None:
    store = MemoryBookingStore()
    await _wim(store=store).create_connectivity_service(_line("ams", "fra", 5), service_id="s1")
    await _wim(store=store).create_connectivity_service(_line("fra", "par", 5), service_id="s2")
    without_fra_par = WanGraph(
        GRAPH.nodes, [link for link in GRAPH.links.values() if link.id != "fra-par"]
    )
    driver, pool = ScriptedDriver(), _pool()
    wim = Wim(without_fra_par, driver, pool, store)
    with pytest.raises(FailedPrecondition, match="s2 cannot be restored"):
        await wim.restore()
    assert (wim.ledger.bookings(), pool.allocated(), driver.adopted) == ([], {}, [])
    with pytest.raises(NotFound):
        wim.get_connectivity_service("s1")


async def test_the_capacity_only_driver_is_honest() -> None:
    driver = CapacityOnlyDriver()
    assert isinstance(driver, WimDriver)
    wim = _wim(driver)
    handle = await wim.create_connectivity_service(_line("ams", "fra"))
    assert dict(handle.created_items) == {}
    assert await driver.status(handle) is ServiceStatus.ACTIVE
    await wim.delete_connectivity_service(handle.service_id)
    assert await driver.status(handle) is ServiceStatus.DOWN
    await driver.remove(handle)


async def test_a_service_id_wider_than_the_id_columns_is_invalid() -> None:
    wim = _wim()
    with pytest.raises(InvalidArgument) as caught:
        await wim.create_connectivity_service(_line("ams", "fra"), service_id="x" * 256)
    assert [v.field for v in caught.value.field_violations] == ["service_id"]
    await wim.create_connectivity_service(_line("ams", "fra"), service_id="x" * 255)


async def test_connectivity_ids_are_listed_by_prefix() -> None:
    wim = _wim()
    for sid in ("svc-2/l1", "svc-1/l2", "svc-1/l1", "svc-10/l1"):
        await wim.create_connectivity_service(_line("ams", "fra", 1), service_id=sid)
    assert wim.connectivity_ids("svc-1/") == ["svc-1/l1", "svc-1/l2"]
    assert wim.connectivity_ids() == ["svc-1/l1", "svc-1/l2", "svc-10/l1", "svc-2/l1"]
    await wim.delete_connectivity_service("svc-1/l1")
    assert wim.connectivity_ids("svc-1/") == ["svc-1/l2"]
