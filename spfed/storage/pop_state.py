"""State of the embedded emulated PoPs, so they survive a node restart.

Rows are ``(pop, kind, id) -> JSON``; the emulated PoP decides what a row
means. ``PopStateTable`` implements the PoP's own port (``PopStateStore``).
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, bindparam, delete, select

from lower_sp.local.vim import EmulatedResource
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
    """Rows of emulated VIM resources, by PoP: the SQL adapter of the emulated PoP's
    own port, ``lower_sp.local.vim.PopStateStore``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self, pop: str) -> list[EmulatedResource]:
        """Every resource of a PoP, by kind and id."""

        def run(conn: Connection) -> list[EmulatedResource]:
            result = conn.execute(_ROWS, {"p_pop": pop}).all()
            return [EmulatedResource(r.kind, r.id, json.loads(r.data)) for r in result]

        return await self._db.run(run)

    async def put(self, pop: str, resource: EmulatedResource) -> None:
        """Create or replace a resource's row; durable when this returns."""
        text = json.dumps(dict(resource.data), sort_keys=True, separators=(",", ":"))
        row = {"pop": pop, "kind": resource.kind, "id": resource.id, "data": text}

        def run(conn: Connection) -> None:
            _PUT(conn, row)

        await self._db.run(run)

    async def delete(self, pop: str, kind: str, resource_id: str) -> None:
        """Delete a row, idempotently; durable when this returns."""
        key = {"p_pop": pop, "p_kind": kind, "p_id": resource_id}
        await self._db.run(executes(_DELETE, key))
