"""The intent journal: the SQL adapter and the in-memory store keep one contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from spfed.lifecycle.intents import InMemoryIntentStore, IntentStore
from spfed.model import Intent, IntentKind, vim_tag
from spfed.storage import Database, IntentJournal

VIM = Intent(vim_tag("retail", "s1", "pop:ams"), IntentKind.VIM_PART, "s1", "ams", "pop:ams")
DELEGATION = Intent("retail/s1/sp:eu", IntentKind.DELEGATION, "s1", "eu", "sp:eu")
WAN = Intent("s2/", IntentKind.WAN, "s2", "")

Check = Callable[[IntentStore], Awaitable[None]]


async def _listed_by_service_and_in_order(store: IntentStore) -> None:
    for intent in (VIM, DELEGATION, WAN):
        await store.open(intent)
    assert await store.of_service("s1") == [VIM, DELEGATION]
    assert await store.of_service("s2") == [WAN]
    assert await store.of_service("nobody") == []
    assert {i.key for i in await store.all_open()} == {VIM.key, DELEGATION.key, WAN.key}


async def _opened_once_and_closed_idempotently(store: IntentStore) -> None:
    await store.open(VIM)
    await store.open(VIM)
    assert await store.all_open() == [VIM]
    await store.close(VIM.key)
    await store.close(VIM.key)
    await store.close("never-opened")
    assert await store.all_open() == []


CONTRACT = (_listed_by_service_and_in_order, _opened_once_and_closed_idempotently)


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__.strip("_"))
async def test_the_journal_in_the_database(db: Database, check: Check) -> None:
    await check(IntentJournal(db))


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__.strip("_"))
async def test_the_in_memory_store(check: Check) -> None:
    await check(InMemoryIntentStore())


async def test_the_journal_survives_a_reopened_database(db: Database) -> None:
    await IntentJournal(db).open(VIM)
    assert await IntentJournal(db).of_service("s1") == [VIM]


def test_vim_tags_are_stable_distinct_and_within_every_vims_limits() -> None:
    tag = vim_tag("retail", "s1", "pop:ams")
    assert tag == vim_tag("retail", "s1", "pop:ams")
    others = {
        vim_tag("wholesale", "s1", "pop:ams"),
        vim_tag("retail", "s2", "pop:ams"),
        vim_tag("retail", "s1", "pop:fra"),
    }
    assert tag not in others
    assert len(others) == 3
    assert tag.startswith("spfed-")
    assert len(tag) <= 60
    assert not set(tag) & {"/", ","}
