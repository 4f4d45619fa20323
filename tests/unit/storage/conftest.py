"""Databases for the storage tests: SQLite in a tmp dir, and PostgreSQL at 127.0.0.1:5432.

Every test that takes ``db`` runs once per backend. PostgreSQL gets one uniquely named
database per test session, migrated once and emptied before each test, and dropped at the
end of the session whatever happened (a session killed outright, e.g. by a segfault, leaves
its database behind; the next session drops it). When PostgreSQL cannot be reached the
PostgreSQL runs are skipped, unless ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Connection, text

from spfed.storage import Database
from spfed.storage.schema import metadata
from tests.unit.storage.backends import PG_HOST, PG_PORT, PG_USER, admin_connection

_PREFIX = "spfed_test_"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_orphans(conn: psycopg.Connection[Any]) -> None:
    """Drop the databases of earlier sessions that died before their finalizer ran.

    Only those whose pytest process is gone and that nobody is connected to.
    """
    rows = conn.execute(
        "SELECT d.datname FROM pg_database d WHERE d.datname LIKE %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
        (f"{_PREFIX}%",),
    ).fetchall()
    for (name,) in rows:
        pid = name.removeprefix(_PREFIX).split("_")[0]
        if pid.isdigit() and not _alive(int(pid)):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session; dropped at the end, even on failure."""
    conn = admin_connection()
    _drop_orphans(conn)
    name = f"{_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.close()


def _empty_every_table(conn: Connection) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    conn.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))


async def _sqlite(path: Path) -> Database:
    db = Database.connect(f"sqlite:///{path / 'spfed.db'}")
    await db.migrate()
    return db


async def _postgresql(url: str) -> Database:
    db = Database.connect(url)
    await db.migrate()  # a no-op after the first test of the session
    await db.run(_empty_every_table)
    return db


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = await _sqlite(tmp_path)
    yield db
    await db.close()


@pytest.fixture
async def pg_db(postgres_url: str) -> AsyncIterator[Database]:
    db = await _postgresql(postgres_url)
    yield db
    await db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        database = await _sqlite(tmp_path)
    else:
        database = await _postgresql(request.getfixturevalue("postgres_url"))
    yield database
    await database.close()
