"""The intent journal: effects announced before they are made (``spfed.model.intents``).

One row per open intent. ``open`` is durable when it returns, so the effect
it announces can follow; ``close`` removes the row once the effect is undone.
The lifecycle's ``IntentStore`` protocol is what the node sees of it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Index,
    Row,
    String,
    Table,
    bindparam,
    delete,
    select,
)

from spfed.model import Intent, IntentKind
from spfed.storage._upsert import upsert
from spfed.storage.database import Database, executes
from spfed.storage.schema import ID, metadata

__all__ = ["IntentJournal", "effect_intents"]

effect_intents = Table(
    "effect_intents",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("service_id", ID, nullable=False),
    Column("target", String(128), nullable=False),
    Column("part", String(128), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
)
Index("ix_effect_intents_service_id", effect_intents.c.service_id)

_T = effect_intents.c
_PUT = upsert(effect_intents)
_CLOSE = delete(effect_intents).where(_T.key == bindparam("i_key"))
_ALL = select(effect_intents).order_by(_T.opened_at, _T.key)
_OF_SERVICE = (
    select(effect_intents).where(_T.service_id == bindparam("i_service")).order_by(_T.opened_at)
)


def _intent(row: Row[Any]) -> Intent:
    return Intent(row.key, IntentKind(row.kind), row.service_id, row.target, row.part)


class IntentJournal:
    """Open intents, in the node's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open(self, intent: Intent) -> None:
        """Record an intent (idempotent per key) and wait until it is committed."""
        row = {
            "key": intent.key,
            "kind": intent.kind.value,
            "service_id": intent.service_id,
            "target": intent.target,
            "part": intent.part,
            "opened_at": datetime.now(UTC),
        }

        def run(conn: Connection) -> None:
            _PUT(conn, row)

        await self._db.run(run)

    async def close(self, key: str) -> None:
        """Remove an intent once its effect is undone (idempotent)."""
        await self._db.run(executes(_CLOSE, {"i_key": key}))

    async def of_service(self, service_id: str) -> list[Intent]:
        """A service's open intents, oldest first."""

        def run(conn: Connection) -> list[Intent]:
            return [_intent(r) for r in conn.execute(_OF_SERVICE, {"i_service": service_id})]

        return await self._db.run(run)

    async def all_open(self) -> list[Intent]:
        """Every open intent, oldest first."""

        def run(conn: Connection) -> list[Intent]:
            return [_intent(r) for r in conn.execute(_ALL)]

        return await self._db.run(run)
