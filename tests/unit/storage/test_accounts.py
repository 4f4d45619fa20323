"""``AccountStore`` on SQLite and PostgreSQL: accounts, seeding, single-use assertions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from spfed.errors import AlreadyExists, NotFound
from spfed.model import Account, AccountKind, Role
from spfed.storage import AccountStore, Database

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def user(name: str, **changes: object) -> Account:
    base = Account(
        name,
        AccountKind.USER,
        Role.CUSTOMER,
        password_hash="scrypt$h",
        create_time=T0,
        update_time=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_accounts_round_trip_by_name(db: Database) -> None:
    store = AccountStore(db)
    await store.create(user("bob"))
    await store.create(user("alice", role=Role.OPERATOR))
    assert [a.name for a in await store.all()] == ["alice", "bob"]
    assert (await store.all())[1] == user("bob")
    with pytest.raises(AlreadyExists):
        await store.create(user("bob"))


async def test_update_replaces_and_an_unknown_account_is_not_found(db: Database) -> None:
    store = AccountStore(db)
    await store.create(user("bob"))
    await store.update(user("bob", disabled=True))
    assert (await store.all())[0].disabled
    with pytest.raises(NotFound):
        await store.update(user("nobody"))


async def test_seeding_creates_updates_and_keeps_the_disabled_flag(db: Database) -> None:
    store = AccountStore(db)
    assert await store.seed([user("bob"), user("carol")]) == ["bob", "carol"]
    await store.update(user("bob", disabled=True))
    assert await store.seed([user("bob", password_hash="scrypt$new")]) == []
    (bob, _) = await store.all()
    assert bob.password_hash == "scrypt$new"
    assert bob.disabled  # an operator's decision survives the configuration
    assert bob.create_time == T0


async def test_an_assertion_id_is_accepted_once(db: Database) -> None:
    store = AccountStore(db)
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert await store.use_assertion("jti-1", "upper", later)
    assert not await store.use_assertion("jti-1", "upper", later)
    assert await store.use_assertion("jti-2", "upper", later)


async def test_expired_assertion_ids_are_forgotten(db: Database) -> None:
    store = AccountStore(db)
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert await store.use_assertion("old", "upper", past)
    # The record of an assertion that can no longer be used is dropped on the next use.
    assert await store.use_assertion("old", "upper", datetime.now(UTC) + timedelta(minutes=1))
