"""Handles of VIM resources a service holds, written the moment they exist.

A handle is what the VIM needs to undo a creation. Each is recorded as soon
as the VIM returns it, so a crash in the middle of a deployment still lets
compensation delete exactly what was created.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Connection, bindparam, delete, insert, select

from lower_sp.local.handles import StoredHandle
from spfed.storage.database import Database, executes
from spfed.storage.schema import resource_handles

__all__ = ["HandleStore"]

_T = resource_handles.c
_INSERT = insert(resource_handles)
_DELETE = delete(resource_handles).where(
    _T.vim == bindparam("h_vim"),
    _T.kind == bindparam("h_kind"),
    _T.resource_id == bindparam("h_id"),
)
_OF_PART = (
    select(resource_handles)
    .where(_T.service_id == bindparam("h_service"), _T.part_id == bindparam("h_part"))
    .order_by(_T.id)
)


class HandleStore:
    """Records of created VIM resources, by service and part: the SQL adapter of
    ``lower_sp.local.handles.HandleRecords``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, handle: StoredHandle) -> asyncio.Future[None]:
        """Record a created resource (queued now; the future resolves once committed)."""
        row = {
            "service_id": handle.service_id,
            "part_id": handle.part_id,
            "vim": handle.vim,
            "kind": handle.kind,
            "resource_id": handle.resource_id,
            "handle": handle.handle,
        }
        return self._db.submit(executes(_INSERT, row))

    def remove(self, vim: str, kind: str, resource_id: str) -> asyncio.Future[None]:
        """Forget a resource once the VIM deleted it (idempotent)."""
        key = {"h_vim": vim, "h_kind": kind, "h_id": resource_id}
        return self._db.submit(executes(_DELETE, key))

    async def of_part(self, service_id: str, part_id: str) -> list[StoredHandle]:
        """Every recorded resource of one part, oldest first."""

        def run(conn: Connection) -> list[StoredHandle]:
            rows = conn.execute(_OF_PART, {"h_service": service_id, "h_part": part_id}).all()
            return [
                StoredHandle(r.service_id, r.part_id, r.vim, r.kind, r.resource_id, r.handle)
                for r in rows
            ]

        return await self._db.run(run)
