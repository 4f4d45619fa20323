"""The node's accounts, and the client assertions that have been used once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Row, bindparam, delete, insert, select, update

from spfed.errors import AlreadyExists, InvalidArgument, NotFound
from spfed.model import Account, AccountKind, Role
from spfed.storage._upsert import upsert
from spfed.storage.database import Database
from spfed.storage.schema import accounts, used_assertions

__all__ = ["AccountStore"]

_ALL = select(accounts).order_by(accounts.c.name)
_ONE = select(accounts).where(accounts.c.name == bindparam("n"))
_PUT = upsert(accounts)
_USE = insert(used_assertions)
_EXPIRED = delete(used_assertions).where(used_assertions.c.expires_at < bindparam("now"))
_MAX_JTI: int = getattr(used_assertions.c.jti.type, "length", None) or 128
"""Width of the column: SQLite would store a longer id whole, PostgreSQL refuse it."""


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _account(row: Row[tuple[object, ...]]) -> Account:
    return Account(
        name=row.name,
        kind=AccountKind(row.kind),
        role=Role(row.role),
        disabled=row.disabled,
        public_key=row.public_key,
        password_hash=row.password_hash,
        create_time=_aware(row.created_at),
        update_time=_aware(row.updated_at),
    )


def _row(account: Account) -> dict[str, object]:
    return {
        "name": account.name,
        "kind": account.kind.value,
        "role": account.role.value,
        "disabled": account.disabled,
        "public_key": account.public_key,
        "password_hash": account.password_hash,
        "created_at": account.create_time,
        "updated_at": account.update_time,
    }


class AccountStore:
    """Accounts by name, and single use of client assertions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Account]:
        """Every account, by name."""
        return await self._db.run(lambda conn: [_account(r) for r in conn.execute(_ALL)])

    async def create(self, account: Account) -> None:
        """Add a new account.

        Raises:
            AlreadyExists: an account of that name exists.
        """

        def run(conn: Connection) -> None:
            if conn.execute(_ONE, {"n": account.name}).first() is not None:
                raise AlreadyExists(f"account '{account.name}' already exists")
            conn.execute(insert(accounts), _row(account))

        await self._db.run(run)

    async def put(self, account: Account) -> None:
        """Create or replace an account."""
        row = _row(account)
        await self._db.run(lambda conn: _PUT(conn, row))

    async def update(self, account: Account) -> None:
        """Replace an existing account.

        Raises:
            NotFound: there is no account of that name.
        """

        def run(conn: Connection) -> None:
            done = conn.execute(
                update(accounts).where(accounts.c.name == account.name).values(_row(account))
            )
            if done.rowcount == 0:
                raise NotFound(f"account '{account.name}' not found")

        await self._db.run(run)

    async def use_assertion(self, jti: str, account: str, expires_at: datetime) -> bool:
        """Record a client assertion's ``jti``; False if it was used before.

        Records whose assertion has expired are dropped on the way: an expired
        assertion is refused anyway, so its ``jti`` need not be remembered.

        Raises:
            InvalidArgument: ``jti`` is empty or longer than the column holds (the
                verification of assertions refuses such ids before they get here).
        """
        if not jti or len(jti) > _MAX_JTI:
            raise InvalidArgument(f"an assertion id has 1 to {_MAX_JTI} characters")

        def run(conn: Connection) -> bool:
            conn.execute(_EXPIRED, {"now": datetime.now(UTC)})
            seen = conn.execute(
                select(used_assertions.c.jti).where(used_assertions.c.jti == jti)
            ).first()
            if seen is not None:
                return False
            conn.execute(_USE, {"jti": jti, "account": account, "expires_at": expires_at})
            return True

        return await self._db.run(run)

    async def seed(self, seeds: Sequence[Account]) -> list[str]:
        """Create or update the given accounts, keeping whether each is disabled.

        Returns the names created.
        """

        def run(conn: Connection) -> list[str]:
            created = []
            for seed in seeds:
                row = conn.execute(_ONE, {"n": seed.name}).first()
                if row is None:
                    conn.execute(insert(accounts), _row(seed))
                    created.append(seed.name)
                    continue
                old = _account(row)
                changed = (old.kind, old.role, old.public_key, old.password_hash) != (
                    seed.kind,
                    seed.role,
                    seed.public_key,
                    seed.password_hash,
                )
                if changed:
                    kept = _row(seed) | {"disabled": old.disabled, "created_at": old.create_time}
                    conn.execute(update(accounts).where(accounts.c.name == seed.name).values(kept))
            return created

        return await self._db.run(run)
