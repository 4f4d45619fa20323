"""The Alembic migrations build exactly ``spfed.storage.schema.metadata``.

A model change without a migration makes ``compare_metadata`` find a difference, and
this test fail; the second test shows that it would. Migrating reports (and logs, in
one line) the revisions it applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, String, Table, inspect

import spfed.storage.database
from spfed.storage import Database, MigrationReport
from spfed.storage.schema import metadata


def _differences(target: MetaData) -> Any:
    def run(conn: Connection) -> Any:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, target)

    return run


async def test_the_migrated_database_matches_the_models(db: Database) -> None:
    assert await db.run(_differences(metadata)) == []


async def test_a_model_change_without_a_migration_is_caught(db: Database) -> None:
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    Table("services", changed, Column("colour", String(8)), extend_existing=True)
    diff = await db.run(_differences(changed))
    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "services", "colour")]


async def test_migrating_again_is_a_no_op(db: Database) -> None:
    await db.migrate()
    tables = await db.run(lambda conn: set(inspect(conn).get_table_names()))
    assert tables == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    assert await db.run(_differences(metadata)) == []


def _revisions() -> tuple[str, ...]:
    """The revision ids, read from the migration files' names (0001_initial_schema.py, ...)."""
    versions = Path(spfed.storage.database.MIGRATIONS) / "versions"
    return tuple(sorted(p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py")))


def _upgrade_to(revision: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(spfed.storage.database.MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    return run


def _migration_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "event=schema_migrated" in r.getMessage()]


async def test_migrating_logs_the_revisions_it_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    revisions = _revisions()
    head = revisions[-1]
    db = Database.connect(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        with caplog.at_level(logging.INFO, logger="spfed.storage.database"):
            first = await db.migrate()
            again = await db.migrate()
    finally:
        await db.close()
    assert first == MigrationReport(revisions, head)
    assert again == MigrationReport((), head)
    assert _migration_lines(caplog) == [
        f"event=schema_migrated applied={','.join(revisions)} schema={head}",
        f"event=schema_migrated applied=none schema={head}",
    ]


async def test_migrating_an_older_schema_applies_only_the_newer_revisions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    revisions = _revisions()
    older, newer = revisions[:-2], revisions[-2:]
    db = Database.connect(f"sqlite:///{tmp_path / 'older.db'}")
    try:
        await db.run(_upgrade_to(older[-1]))
        with caplog.at_level(logging.INFO, logger="spfed.storage.database"):
            report = await db.migrate()
    finally:
        await db.close()
    assert report == MigrationReport(newer, newer[-1])
    assert _migration_lines(caplog) == [
        f"event=schema_migrated applied={','.join(newer)} schema={newer[-1]}"
    ]
