"""Signed catalogues, and offers an operator withdrew.

Each stored catalogue version keeps the exact bytes its publisher signed,
the signature and the key id, so a node re-checks what it stored when it
restarts. Versions stored before (unsigned) are dropped: subscribers fetch
a signed one again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM catalogue_versions")
    with op.batch_alter_table("catalogue_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("key_id", sa.String(length=64), nullable=True))
    op.create_table(
        "withdrawn_offers",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("vendor", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "kind", "vendor", "name", "version", name=op.f("pk_withdrawn_offers")
        ),
    )


def downgrade() -> None:
    op.drop_table("withdrawn_offers")
    with op.batch_alter_table("catalogue_versions", schema=None) as batch_op:
        batch_op.drop_column("key_id")
        batch_op.drop_column("signature")
        batch_op.drop_column("payload")
