"""State of the embedded emulated PoPs, so they survive a node restart.

Rows are ``(pop, kind, id) -> JSON``; the emulated PoP decides what a row
means. The composition root adapts this table to the PoP's state-store
protocol.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select

from spfed.storage._upsert import upsert
from spfed.storage.database import Database, executes
from spfed.storage.schema import emulated_resources

__all__ = ["PopStateTable"]

_T = emulated_resources.c
_KEY = (
    (_T.pop == bindparam("p_pop")) & (_T.kind == bindparam("p_kind")) & (_T.id == bindparam("p_id"))
)
_DELETE = delete(emulated_resources).where(_KEY)
_PUT = upsert(emulated_resources)
_ROWS = select(_T.kind, _T.id, _T.data).where(_T.pop == bindparam("p_pop")).order_by(_T.kind, _T.id)


class PopStateTable:
    """Rows of emulated VIM resources, by PoP."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def rows(self, pop: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Every ``(kind, id, data)`` of a PoP."""

        def run(conn: Connection) -> list[tuple[str, str, dict[str, Any]]]:
            result = conn.execute(_ROWS, {"p_pop": pop}).all()
            return [(r.kind, r.id, json.loads(r.data)) for r in result]

        return await self._db.run(run)

    def put(
        self, pop: str, kind: str, resource_id: str, data: Mapping[str, Any]
    ) -> asyncio.Future[None]:
        """Create or replace a row (queued now; the future resolves once committed)."""
        text = json.dumps(dict(data), sort_keys=True, separators=(",", ":"))
        row = {"pop": pop, "kind": kind, "id": resource_id, "data": text}

        def run(conn: Connection) -> None:
            _PUT(conn, row)

        return self._db.submit(run)

    def delete(self, pop: str, kind: str, resource_id: str) -> asyncio.Future[None]:
        """Delete a row, idempotently (queued now; the future resolves once committed)."""
        key = {"p_pop": pop, "p_kind": kind, "p_id": resource_id}
        return self._db.submit(executes(_DELETE, key))
