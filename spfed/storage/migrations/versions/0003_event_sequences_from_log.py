"""Event sequences come from the log itself.

A service's next event sequence is one past the highest in its log (the
node keeps it in memory), so the per-service counter is gone: bumping it
was one more statement per event.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-20 10:12:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("last_event_seq")


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_event_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE services SET last_event_seq = COALESCE("
        "(SELECT MAX(sequence) FROM service_events"
        " WHERE service_events.service_id = services.id), 0)"
    )
