"""The intent journal: effects announced before they are made.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "effect_intents",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("part", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_effect_intents")),
    )
    with op.batch_alter_table("effect_intents", schema=None) as batch_op:
        batch_op.create_index("ix_effect_intents_service_id", ["service_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("effect_intents", schema=None) as batch_op:
        batch_op.drop_index("ix_effect_intents_service_id")
    op.drop_table("effect_intents")
