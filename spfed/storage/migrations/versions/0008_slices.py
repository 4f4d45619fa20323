"""Network slices and their holds on services.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slices")),
        sa.UniqueConstraint("owner", "request_id", name=op.f("uq_slices_owner")),
    )
    op.create_table(
        "slice_holds",
        sa.Column("slice_id", sa.String(length=64), nullable=False),
        sa.Column("subnet_id", sa.String(length=128), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("nsd", sa.String(length=255), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("slice_id", "subnet_id", name=op.f("pk_slice_holds")),
    )
    with op.batch_alter_table("slice_holds", schema=None) as batch_op:
        batch_op.create_index("ix_slice_holds_service_id", ["service_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slice_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_slice_holds_service_id")
    op.drop_table("slice_holds")
    op.drop_table("slices")
