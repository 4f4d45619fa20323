"""``HandleStore``, ``AddressStore``, ``CatalogueStore``, ``PopStateTable`` and ``Database``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from lower_sp.local.handles import HandleJournal, StoredHandle
from lower_sp.local.vim import EmulatedResource, PopStateStore
from spfed.errors import AlreadyExists, InvalidArgument, SpfedError
from spfed.model import (
    BorderPoint,
    Catalogue,
    Offer,
    OfferKind,
    Price,
    RegionCapacity,
    RegionSla,
    Resources,
    SignedCatalogue,
    WimService,
)
from spfed.storage import (
    AddressStore,
    CatalogueStore,
    Database,
    HandleStore,
    PopStateTable,
    ServiceStore,
    StoredAllocation,
    WithdrawalStore,
)
from tests.unit.storage.records import NSD_REF, new_service

# --- handles -----------------------------------------------------------------------


def handle(resource_id: str, part: str = "pop:ams", kind: str = "server") -> StoredHandle:
    return StoredHandle("s1", part, "ams", kind, resource_id, f'{{"id":"{resource_id}"}}')


async def test_handles_are_listed_per_part_oldest_first(db: Database) -> None:
    store = HandleStore(db)
    for h in (handle("n1", kind="network"), handle("p1", kind="port"), handle("x", "pop:fra")):
        await store.add(h)
    await store.add(handle("v1"))
    assert await store.of_part("s1", "pop:ams") == [
        handle("n1", kind="network"),
        handle("p1", kind="port"),
        handle("v1"),
    ]
    assert await store.of_part("s1", "pop:fra") == [handle("x", "pop:fra")]
    assert await store.of_part("s2", "pop:ams") == []


async def test_removing_a_handle_is_idempotent(db: Database) -> None:
    store = HandleStore(db)
    await store.add(handle("v1"))
    await store.remove("ams", "server", "v1")
    await store.remove("ams", "server", "v1")
    assert await store.of_part("s1", "pop:ams") == []


async def test_one_vim_resource_is_recorded_once(db: Database) -> None:
    store = HandleStore(db)
    await store.add(handle("v1"))
    with pytest.raises(AlreadyExists):
        await store.add(handle("v1", part="pop:other"))


async def test_a_journal_lands_its_writes_in_order_and_commit_raises_the_first_failure(
    db: Database,
) -> None:
    journal = HandleJournal(HandleStore(db))
    for h in (handle("n1", kind="network"), handle("p1", kind="port"), handle("v1")):
        journal.created(h)  # synchronous, as from a VIM callback
    journal.created(handle("v1", part="pop:other"))  # the same resource again: refused
    journal.created(handle("v2"))
    assert journal.count == 5
    with pytest.raises(AlreadyExists):
        await journal.commit()
    # Every other write landed, in the order reported.
    assert [h.resource_id for h in await HandleStore(db).of_part("s1", "pop:ams")] == [
        "n1",
        "p1",
        "v1",
        "v2",
    ]
    await journal.commit()  # nothing left to wait for


# --- address allocations -----------------------------------------------------------


def alloc(prefix: str, owner: str, pool: str = "services") -> StoredAllocation:
    return StoredAllocation(pool, prefix, owner, "service block")


async def test_allocations_round_trip_and_release_by_owner(db: Database) -> None:
    store = AddressStore(db)
    await store.add([alloc("10.1.0.0/16", "a"), alloc("10.2.0.0/16", "b")])
    await store.add([alloc("10.1.0.0/16", "a", pool="other"), alloc("2001:db8::/48", "a")])
    await store.add([])
    assert sorted(await store.all(), key=lambda a: (a.pool, a.prefix)) == [
        alloc("10.1.0.0/16", "a", pool="other"),
        alloc("10.1.0.0/16", "a"),
        alloc("10.2.0.0/16", "b"),
        alloc("2001:db8::/48", "a"),
    ]
    assert await store.release_owner("a") == 3
    assert await store.release_owner("a") == 0
    assert await store.all() == [alloc("10.2.0.0/16", "b")]


async def test_a_prefix_is_allocated_once_per_pool_and_a_failing_batch_adds_nothing(
    db: Database,
) -> None:
    store = AddressStore(db)
    await store.add([alloc("10.1.0.0/16", "a")])
    with pytest.raises(AlreadyExists):
        await store.add([alloc("10.3.0.0/16", "c"), alloc("10.1.0.0/16", "c")])
    assert await store.all() == [alloc("10.1.0.0/16", "a")]


# --- catalogues --------------------------------------------------------------------


def catalogue(publisher: str, version: int) -> SignedCatalogue:
    content = Catalogue(
        publisher,
        version,
        datetime(2026, 1, 1, 8, 30, tzinfo=UTC),
        (
            Offer(
                OfferKind.NETWORK_SERVICE,
                NSD_REF,
                regions=("eu",),
                resources=Resources(2, 3, 4),
                price=Price(120_000),
            ),
        ),
        (RegionCapacity("eu", Resources(8, 8, 8), Resources(4, 4, 4), pops=2),),
        valid_until=datetime(2026, 1, 1, 8, 35, tzinfo=UTC),
        sla=(RegionSla("eu", "us", 80, 500),),
        borders=(BorderPoint("ix-1", "eu"),),
        wim_services=(WimService.E_LINE,),
        address_constraints=("prefix",),
    )
    return SignedCatalogue(content, f"{publisher}-{version}".encode(), b"\x00\xff" * 32, "kid")


async def test_the_latest_catalogue_per_publisher_own_and_received_apart(db: Database) -> None:
    store = CatalogueStore(db)
    assert await store.latest("retail", own=True) is None
    await store.save(catalogue("retail", 1), own=True)
    await store.save(catalogue("retail", 7), own=False)  # another node's view of 'retail'
    await store.save(catalogue("retail", 2), own=True)
    await store.save(catalogue("lower", 3), own=False)
    assert await store.latest("retail", own=True) == catalogue("retail", 2)
    assert await store.latest("retail", own=False) == catalogue("retail", 7)
    assert await store.latest("lower", own=False) == catalogue("lower", 3)
    assert await store.latest("lower", own=True) is None


async def test_withdrawn_offers_are_kept_and_restored(db: Database) -> None:
    store = WithdrawalStore(db)
    assert await store.all() == frozenset()
    await store.withdraw(OfferKind.NETWORK_SERVICE, NSD_REF)
    await store.withdraw(OfferKind.NETWORK_SERVICE, NSD_REF)  # again: no change
    assert await store.all() == {(OfferKind.NETWORK_SERVICE, NSD_REF)}
    assert await store.restore(OfferKind.NETWORK_SERVICE, NSD_REF)
    assert not await store.restore(OfferKind.NETWORK_SERVICE, NSD_REF)
    assert await store.all() == frozenset()


# --- emulated PoP state ------------------------------------------------------------


async def test_pop_rows_are_put_replaced_listed_and_deleted(db: Database) -> None:
    table: PopStateStore = PopStateTable(db)
    await table.put("ams", EmulatedResource("server", "b", {"name": "vm-b", "vcpus": 2}))
    await table.put("ams", EmulatedResource("network", "z", {"cidr": "10.0.0.0/24"}))
    await table.put("ams", EmulatedResource("server", "a", {"name": "vm-a", "nested": {"k": [1]}}))
    await table.put("fra", EmulatedResource("server", "a", {"name": "other"}))
    await table.put("ams", EmulatedResource("server", "b", {"name": "vm-b", "vcpus": 4}))
    assert await table.load("ams") == [
        EmulatedResource("network", "z", {"cidr": "10.0.0.0/24"}),
        EmulatedResource("server", "a", {"name": "vm-a", "nested": {"k": [1]}}),
        EmulatedResource("server", "b", {"name": "vm-b", "vcpus": 4}),
    ]
    await table.delete("ams", "server", "a")
    await table.delete("ams", "server", "a")
    assert [r.id for r in await table.load("ams")] == ["z", "b"]
    assert await table.load("fra") == [EmulatedResource("server", "a", {"name": "other"})]
    assert await table.load("nowhere") == []


# --- database ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["not a url", "nosuchdialect://x/y", "postgresql+nosuchdriver://x/y"]
)
def test_a_bad_url_is_invalid_argument_naming_the_setting(url: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^storage\.url: "):
        Database.connect(url)


async def test_work_runs_in_submission_order_and_results_come_back(db: Database) -> None:
    def insert(n: int) -> Callable[[Connection], int]:
        def run(conn: Connection) -> int:
            conn.execute(
                text("INSERT INTO emulated_resources (pop, kind, id, data) VALUES ('p','k',:i,'')"),
                {"i": f"{n:03d}"},
            )
            return n

        return run

    results = await asyncio.gather(*(db.submit(insert(n)) for n in range(30)))
    assert results == list(range(30))
    ids = await db.run(
        lambda conn: list(conn.execute(text("SELECT id FROM emulated_resources")).scalars())
    )
    assert sorted(ids) == [f"{n:03d}" for n in range(30)]


async def test_a_bug_in_submitted_work_reaches_its_caller_only(db: Database) -> None:
    def broken(conn: Connection) -> None:
        raise KeyError("bug")

    good = db.submit(lambda conn: conn.execute(text("SELECT 1")).scalar_one())
    bad = db.submit(broken)
    after = db.submit(lambda conn: conn.execute(text("SELECT 2")).scalar_one())
    outcomes = await asyncio.gather(good, bad, after, return_exceptions=True)
    assert outcomes[0] == 1
    assert outcomes[2] == 2
    assert isinstance(outcomes[1], KeyError)


async def test_the_migrated_schema_is_what_the_stores_expect(db: Database) -> None:
    new = new_service("s1")
    await ServiceStore(db).create_service(new.record, new.request, "h", new.operation, [])
    assert await ServiceStore(db).count_services() == 1


# --- PostgreSQL only ---------------------------------------------------------------


async def test_sqlite_takes_a_long_service_name(sqlite_db: Database) -> None:
    new = new_service("s1", name="n" * 300)
    await ServiceStore(sqlite_db).create_service(new.record, new.request, "h", new.operation, [])
    record = await ServiceStore(sqlite_db).get_service("s1")
    assert record is not None
    assert record.name == "n" * 300


async def test_postgresql_takes_a_long_service_name_too(pg_db: Database) -> None:
    new = new_service("s1", name="n" * 300)
    await ServiceStore(pg_db).create_service(new.record, new.request, "h", new.operation, [])
    record = await ServiceStore(pg_db).get_service("s1")
    assert record is not None
    assert record.name == "n" * 300


async def test_work_after_close_fails_cleanly_every_time(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'closed.db'}")
    await db.migrate()
    await db.close()
    for _ in range(2):
        with pytest.raises(SpfedError):
            async with asyncio.timeout(1):
                await db.run(lambda conn: conn.execute(text("SELECT 1")).scalar_one())
