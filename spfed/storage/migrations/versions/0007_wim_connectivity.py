"""The WIM's connectivity services and their segments.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wim_connectivity",
        sa.Column("service_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("bandwidth_mbps", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("endpoints", sa.Text(), nullable=False),
        sa.Column("created_items", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_wim_connectivity")),
    )
    op.create_table(
        "wim_segments",
        sa.Column("service_id", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.String(length=128), nullable=False),
        sa.Column("a", sa.String(length=128), nullable=False),
        sa.Column("b", sa.String(length=128), nullable=False),
        sa.Column("vni", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["wim_connectivity.service_id"],
            name=op.f("fk_wim_segments_service_id_wim_connectivity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service_id", "position", name=op.f("pk_wim_segments")),
        sa.UniqueConstraint("vni", name=op.f("uq_wim_segments_vni")),
    )
    with op.batch_alter_table("wim_segments", schema=None) as batch_op:
        batch_op.create_index("ix_wim_segments_link", ["link_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wim_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_wim_segments_link")
    op.drop_table("wim_segments")
    op.drop_table("wim_connectivity")
