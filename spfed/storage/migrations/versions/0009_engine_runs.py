"""The task engine's run store: runs and their tasks' progress.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workflow", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_runs")),
    )
    with op.batch_alter_table("engine_runs", schema=None) as batch_op:
        batch_op.create_index("ix_engine_runs_subject", ["subject"], unique=False)
        batch_op.create_index("ix_engine_runs_workflow_state", ["workflow", "state"], unique=False)
    op.create_table(
        "engine_tasks",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["engine_runs.id"],
            name=op.f("fk_engine_tasks_run_id_engine_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "task_id", name=op.f("pk_engine_tasks")),
    )


def downgrade() -> None:
    op.drop_table("engine_tasks")
    with op.batch_alter_table("engine_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_engine_runs_workflow_state")
        batch_op.drop_index("ix_engine_runs_subject")
    op.drop_table("engine_runs")
