"""Create-or-replace of one row by its primary key, in one statement where the backend can.

SQLite and PostgreSQL both have ``INSERT … ON CONFLICT DO UPDATE``; any
other backend gets a delete then an insert in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, insert
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["Upsert", "upsert"]

Upsert = Callable[[Connection, Mapping[str, Any]], None]


def upsert(table: Table) -> Upsert:
    """A writer that creates or replaces a row of ``table`` (statements built once)."""
    keys = [c.name for c in table.primary_key.columns]
    others = [c.name for c in table.columns if c.name not in keys]
    on_conflict = {}
    for name, dialect_insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert)):
        stmt = dialect_insert(table)
        on_conflict[name] = stmt.on_conflict_do_update(
            index_elements=keys, set_={c: stmt.excluded[c] for c in others}
        )
    plain_insert = insert(table)

    def write(conn: Connection, row: Mapping[str, Any]) -> None:
        statement = on_conflict.get(conn.dialect.name)
        if statement is not None:
            conn.execute(statement, dict(row))
            return
        conn.execute(delete(table).where(and_(*(table.c[k] == row[k] for k in keys))))
        conn.execute(plain_insert, dict(row))

    return write
