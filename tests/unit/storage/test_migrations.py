"""The Alembic migrations build exactly ``spfed.storage.schema.metadata``.

A model change without a migration makes ``compare_metadata`` find a difference, and
this test fail; the second test shows that it would.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, String, Table, inspect

from spfed.storage import Database
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
