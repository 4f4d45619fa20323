"""Alembic environment: migrations run on the connection spfed hands in."""

from __future__ import annotations

from alembic import context

from spfed.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "spfed runs its migrations itself (Database.migrate); use `spfed db upgrade`"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
