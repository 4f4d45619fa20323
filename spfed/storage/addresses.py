"""Address allocations: which prefixes of which pool belong to whom."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from spfed.storage.database import Database
from spfed.storage.schema import address_allocations

__all__ = ["AddressStore", "StoredAllocation"]


@dataclass(frozen=True)
class StoredAllocation:
    """One allocated prefix."""

    pool: str
    """Pool name."""
    prefix: str
    """The prefix, e.g. ``10.3.0.0/16``."""
    owner: str
    """The service (or slice) holding it."""
    purpose: str
    """What it is for."""


class AddressStore:
    """Persistent allocations; the primary key makes a double allocation impossible."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[StoredAllocation]:
        """Every allocation of every pool."""

        def run(conn: Connection) -> list[StoredAllocation]:
            rows = conn.execute(select(address_allocations)).all()
            return [StoredAllocation(r.pool, r.prefix, r.owner, r.purpose) for r in rows]

        return await self._db.run(run)

    async def add(self, allocations: Sequence[StoredAllocation]) -> None:
        """Record allocations in one transaction.

        Raises:
            AlreadyExists: one of the prefixes is already allocated in its pool.
        """

        def run(conn: Connection) -> None:
            if allocations:
                conn.execute(
                    insert(address_allocations),
                    [
                        {"pool": a.pool, "prefix": a.prefix, "owner": a.owner, "purpose": a.purpose}
                        for a in allocations
                    ],
                )

        await self._db.run(run)

    async def release_owner(self, owner: str) -> int:
        """Release everything an owner holds; returns how many prefixes."""

        def run(conn: Connection) -> int:
            return conn.execute(
                delete(address_allocations).where(address_allocations.c.owner == owner)
            ).rowcount

        return await self._db.run(run)
