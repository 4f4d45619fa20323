"""Wide sequences and names.

Event sequences and catalogue versions are 64-bit, like the uint64 fields of
the API; a service name is unbounded text (admission bounds it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-20 22:54:05.014784
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("catalogue_versions", schema=None) as batch_op:
        batch_op.alter_column(
            "version", existing_type=sa.INTEGER(), type_=sa.BigInteger(), existing_nullable=False
        )

    with op.batch_alter_table("service_events", schema=None) as batch_op:
        batch_op.alter_column(
            "sequence",
            existing_type=sa.INTEGER(),
            type_=sa.BigInteger(),
            existing_nullable=False,
        )

    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.alter_column(
            "name", existing_type=sa.VARCHAR(length=256), type_=sa.Text(), existing_nullable=False
        )
        batch_op.alter_column(
            "last_event_seq",
            existing_type=sa.INTEGER(),
            type_=sa.BigInteger(),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.alter_column(
            "last_event_seq",
            existing_type=sa.BigInteger(),
            type_=sa.INTEGER(),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "name", existing_type=sa.Text(), type_=sa.VARCHAR(length=256), existing_nullable=False
        )

    with op.batch_alter_table("service_events", schema=None) as batch_op:
        batch_op.alter_column(
            "sequence",
            existing_type=sa.BigInteger(),
            type_=sa.INTEGER(),
            existing_nullable=False,
        )

    with op.batch_alter_table("catalogue_versions", schema=None) as batch_op:
        batch_op.alter_column(
            "version", existing_type=sa.BigInteger(), type_=sa.INTEGER(), existing_nullable=False
        )
