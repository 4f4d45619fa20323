"""``CataloguePublisher``: versions, persistence across restarts, watch, debounce, close."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from capability_catalog import CataloguePublisher, CatalogueSigner, check_signed
from spfed.errors import Unavailable
from spfed.model import Catalogue, Price, RegionCapacity, RegionSla, Resources
from spfed.wire import catalogue_payload
from tests.unit.catalogue.fakes import MemoryCatalogueStore, content_of, key_of

DEBOUNCE = 0.01
VALIDITY = 60.0


def signer() -> CatalogueSigner:
    """Signs as retail."""
    return CatalogueSigner(key_of("retail"), catalogue_payload)


class Content:
    """What the node can offer right now, and a ``build`` that publishes it.

    With ``gate`` set, a build reads the content, then waits for the gate (a slow build).
    """

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.builds = 0
        self.gate: asyncio.Event | None = None
        self.building = asyncio.Event()
        self.fail = False

    async def build(self, version: int, issued: datetime, valid_until: datetime) -> Catalogue:
        self.builds += 1
        names = sorted(self.names)
        if self.fail:
            raise RuntimeError("descriptor directory vanished")
        if self.gate is not None:
            self.building.set()
            await self.gate.wait()
        return content_of("retail", version, *names, valid_until=valid_until)


def names(catalogue: Catalogue) -> set[str]:
    return {o.descriptor.name for o in catalogue.offers}


async def eventually(check: Callable[[], bool], within_s: float = 2.0) -> None:
    """Poll ``check`` on every loop turn (plus a millisecond) until it holds."""
    for _ in range(int(within_s * 1000)):
        if check():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"still false after {within_s}s")


async def test_current_before_start_is_unavailable() -> None:
    publisher = CataloguePublisher(
        "retail",
        Content().build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
    )
    with pytest.raises(Unavailable):
        _ = publisher.current
    await publisher.close()


async def test_start_publishes_version_one_and_keeps_it() -> None:
    store = MemoryCatalogueStore()
    publisher = CataloguePublisher(
        "retail", Content("fw").build, signer(), store, validity_s=VALIDITY, debounce_s=DEBOUNCE
    )
    await publisher.start()
    assert publisher.current.version == 1
    assert names(publisher.current) == {"fw"}
    assert store.saves == [("retail", 1, True)]
    await publisher.close()


async def test_a_new_version_only_when_the_content_changes() -> None:
    store = MemoryCatalogueStore()
    content = Content("fw")
    publisher = CataloguePublisher(
        "retail", content.build, signer(), store, validity_s=VALIDITY, debounce_s=DEBOUNCE
    )
    await publisher.start()
    first = publisher.current
    assert await publisher.refresh() is first  # same content, new issue time: not a version
    content.names.add("ids")
    second = await publisher.refresh()
    assert (second.version, names(second)) == (2, {"fw", "ids"})
    assert store.saves == [("retail", 1, True), ("retail", 2, True)]
    await publisher.close()


async def test_versions_keep_growing_across_a_restart() -> None:
    store = MemoryCatalogueStore()
    content = Content("fw")
    before = CataloguePublisher(
        "retail", content.build, signer(), store, validity_s=VALIDITY, debounce_s=DEBOUNCE
    )
    await before.start()
    content.names.add("ids")
    await before.refresh()
    await before.close()

    same = CataloguePublisher(
        "retail", content.build, signer(), store, validity_s=VALIDITY, debounce_s=DEBOUNCE
    )
    await same.start()
    # A restarted node issues a fresh version (its validity starts anew), numbered on.
    assert same.current.version == 3
    assert names(same.current) == {"fw", "ids"}
    await same.close()

    content.names.add("nat")
    after = CataloguePublisher(
        "retail", content.build, signer(), store, validity_s=VALIDITY, debounce_s=DEBOUNCE
    )
    await after.start()
    assert after.current.version == 4
    assert store.saves[-1] == ("retail", 4, True)
    await after.close()


async def test_watch_yields_the_current_version_then_each_new_one() -> None:
    content = Content("fw")
    publisher = CataloguePublisher(
        "retail",
        content.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
    )
    await publisher.start()
    stream = publisher.watch(0)
    async with asyncio.timeout(2):
        assert (await anext(stream)).catalogue.version == 1
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.01)
        assert not pending.done()  # nothing new yet
        content.names.add("ids")
        await publisher.refresh()
        assert (await pending).catalogue.version == 2
    await stream.aclose()  # type: ignore[attr-defined]
    await publisher.close()


async def test_watch_after_the_current_version_waits_for_the_next() -> None:
    content = Content("fw")
    publisher = CataloguePublisher(
        "retail",
        content.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
    )
    await publisher.start()
    stream = publisher.watch(1)
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)
    assert not pending.done()
    content.names.add("ids")
    publisher.changed()
    async with asyncio.timeout(2):
        assert (await pending).catalogue.version == 2
    await stream.aclose()  # type: ignore[attr-defined]
    await publisher.close()


async def test_a_burst_of_changes_becomes_one_version() -> None:
    content = Content("fw")
    publisher = CataloguePublisher(
        "retail",
        content.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
    )
    await publisher.start()
    for name in ("a", "b", "c", "d", "e"):
        content.names.add(name)
        publisher.changed()
        await asyncio.sleep(0)
    await eventually(lambda: publisher.current.version == 2)
    await asyncio.sleep(DEBOUNCE * 3)
    assert publisher.current.version == 2
    assert names(publisher.current) == {"fw", "a", "b", "c", "d", "e"}
    assert content.builds == 2  # start, then one debounced rebuild
    await publisher.close()


async def test_a_failed_rebuild_keeps_the_last_good_version() -> None:
    content = Content("fw")
    publisher = CataloguePublisher(
        "retail",
        content.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
    )
    await publisher.start()
    content.fail = True
    content.names.add("ids")
    publisher.changed()
    await eventually(lambda: content.builds == 2)
    await asyncio.sleep(0)
    assert publisher.current.version == 1
    content.fail = False
    publisher.changed()  # the failed refresh does not block later ones
    await eventually(lambda: publisher.current.version == 2)
    await publisher.close()


async def test_close_ends_watchers_and_cancels_a_pending_refresh() -> None:
    content = Content("fw")
    publisher = CataloguePublisher(
        "retail",
        content.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=0.05,
    )
    await publisher.start()
    stream = publisher.watch(1)
    watcher = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    content.names.add("ids")
    publisher.changed()
    await publisher.close()
    with pytest.raises(StopAsyncIteration):
        async with asyncio.timeout(2):
            await watcher
    await asyncio.sleep(0.08)
    assert content.builds == 1  # the debounced rebuild never ran
    publisher.changed()  # ignored once closed
    assert [v async for v in publisher.watch(0)] == []


async def test_a_change_during_a_rebuild_is_published_too() -> None:
    content = Content("fw")
    publisher = CataloguePublisher(
        "retail",
        content.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
    )
    await publisher.start()
    content.gate = asyncio.Event()
    content.names.add("ids")
    publisher.changed()
    async with asyncio.timeout(2):
        await content.building.wait()  # the rebuild has read {fw, ids} and is still working
    content.names.add("nat")
    publisher.changed()
    content.gate.set()
    await asyncio.sleep(DEBOUNCE * 5)
    try:
        assert names(publisher.current) == {"fw", "ids", "nat"}
    finally:
        await publisher.close()


class Capacity:
    """A node with one region of 100 vCPUs (and as much memory and disk) whose free room moves."""

    def __init__(self) -> None:
        self.free = 50
        self.total = 100

    async def build(self, version: int, issued: datetime, valid_until: datetime) -> Catalogue:
        room = Resources(self.total, self.total, self.total)
        free = Resources(self.free, self.free, self.free)
        return Catalogue("retail", version, issued, (), (RegionCapacity("eu", room, free),))


async def test_free_capacity_is_republished_only_when_it_moves_by_the_step() -> None:
    capacity = Capacity()
    publisher = CataloguePublisher(
        "retail",
        capacity.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
        capacity_step_percent=10,
    )
    await publisher.start()
    for free, version in [(45, 1), (59, 1), (39, 2), (31, 2), (29, 3)]:
        capacity.free = free
        assert (await publisher.refresh()).version == version, f"free={free}"
    assert publisher.current.regions[0].free.vcpus == 29  # the last published figure
    await publisher.close()


async def test_running_out_or_a_new_total_is_always_news() -> None:
    capacity = Capacity()
    publisher = CataloguePublisher(
        "retail",
        capacity.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
        capacity_step_percent=90,
    )
    await publisher.start()
    capacity.free = 1
    assert (await publisher.refresh()).version == 1
    capacity.free = 0
    assert (await publisher.refresh()).version == 2
    capacity.free = 1
    assert (await publisher.refresh()).version == 3
    capacity.total = 101
    assert (await publisher.refresh()).version == 4
    await publisher.close()


async def test_becoming_wholly_free_is_always_news() -> None:
    capacity = Capacity()
    capacity.free = 99
    publisher = CataloguePublisher(
        "retail",
        capacity.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
        capacity_step_percent=10,
    )
    await publisher.start()
    capacity.free = 100  # 1% of the total: below the step, but the region is idle now
    assert (await publisher.refresh()).version == 2
    # Leaving "idle" below the step is not news: the lower SP's admission refuses what
    # an upper SP over-estimates (tests/integration/test_federation.py relies on it).
    capacity.free = 99
    assert (await publisher.refresh()).version == 2
    capacity.free = 90
    assert (await publisher.refresh()).version == 3
    await publisher.close()


async def test_without_a_step_any_change_is_a_new_version() -> None:
    capacity = Capacity()
    publisher = CataloguePublisher(
        "retail",
        capacity.build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
    )
    await publisher.start()
    capacity.free = 49
    assert (await publisher.refresh()).version == 2
    await publisher.close()


async def test_every_version_is_signed_and_valid_for_the_configured_time() -> None:
    publisher = CataloguePublisher(
        "retail",
        Content("fw").build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=VALIDITY,
        debounce_s=DEBOUNCE,
    )
    await publisher.start()
    signed = publisher.current_signed
    check_signed(signed, "retail", key_of("retail").public_key(), datetime.now(UTC))
    assert signed.catalogue.valid_until is not None
    lifetime = signed.catalogue.valid_until - datetime.now(UTC)
    assert timedelta(seconds=VALIDITY - 5) < lifetime <= timedelta(seconds=VALIDITY)
    await publisher.close()


async def test_a_version_is_reissued_before_its_validity_ends() -> None:
    publisher = CataloguePublisher(
        "retail",
        Content("fw").build,
        signer(),
        MemoryCatalogueStore(),
        validity_s=0.5,
        debounce_s=DEBOUNCE,
    )
    await publisher.start()
    first = publisher.current
    await eventually(lambda: publisher.current.version > first.version, within_s=3)
    renewed = publisher.current
    assert names(renewed) == names(first)  # same content, a new version and validity
    assert renewed.valid_until is not None
    assert first.valid_until is not None
    assert renewed.valid_until > first.valid_until
    await publisher.close()


async def test_a_price_or_sla_change_is_a_new_version() -> None:
    content = Content("fw")
    extra: dict[str, object] = {}

    async def build(version: int, issued: datetime, valid_until: datetime) -> Catalogue:
        base = await content.build(version, issued, valid_until)
        return replace(base, **extra)  # type: ignore[arg-type]

    publisher = CataloguePublisher(
        "retail", build, signer(), MemoryCatalogueStore(), validity_s=VALIDITY, debounce_s=0
    )
    await publisher.start()
    assert (await publisher.refresh()).version == 1  # nothing new
    extra["sla"] = (RegionSla("nl", "de", 9, 1000),)
    assert (await publisher.refresh()).version == 2
    offer = publisher.current.offers[0]
    extra["offers"] = (replace(offer, price=Price(10)),)
    assert (await publisher.refresh()).version == 3
    await publisher.close()
