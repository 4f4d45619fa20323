"""The node's tables. Changes go through an Alembic migration (``migrations/``).

Structured values (descriptor trees, records of parts, errors, events) are
stored as JSON text written by ``spfed.storage._codecs``; what is queried on
(ids, states, owners, sequences) has its own column.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "accounts",
    "address_allocations",
    "catalogue_versions",
    "emulated_resources",
    "engine_runs",
    "engine_tasks",
    "metadata",
    "operations",
    "resource_handles",
    "service_events",
    "service_parts",
    "services",
    "used_assertions",
    "withdrawn_offers",
    "workflow_runs",
    "workflow_tasks",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(64)

services = Table(
    "services",
    metadata,
    Column("id", ID, primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("descriptor", Text, nullable=False),
    Column("request", Text, nullable=False),
    Column("address_space", String(64), nullable=False, default=""),
    Column("constraints", Text, nullable=False, default="[]"),
    Column("assignments", Text, nullable=False, default="[]"),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("owner", "request_id"),
)
Index("ix_services_owner_created", services.c.owner, services.c.created_at)

service_parts = Table(
    "service_parts",
    metadata,
    Column("service_id", ID, ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Column("part_id", String(128), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("record", Text, nullable=False),
)

operations = Table(
    "operations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("service_id", ID, ForeignKey("services.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_operations_service", operations.c.service_id)
Index("ix_operations_state", operations.c.state)

workflow_runs = Table(
    "workflow_runs",
    metadata,
    Column("id", ID, ForeignKey("operations.id", ondelete="CASCADE"), primary_key=True),
    Column("workflow", String(32), nullable=False),
    Column("schedule", Text, nullable=False),
    Column("context", Text, nullable=False),
)

workflow_tasks = Table(
    "workflow_tasks",
    metadata,
    Column("run_id", ID, ForeignKey("workflow_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
)

service_events = Table(
    "service_events",
    metadata,
    Column("service_id", ID, ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("event", Text, nullable=False),
)

resource_handles = Table(
    "resource_handles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", ID, nullable=False),
    Column("part_id", String(128), nullable=False),
    Column("vim", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("resource_id", String(128), nullable=False),
    Column("handle", Text, nullable=False),
    UniqueConstraint("vim", "kind", "resource_id"),
)
Index("ix_resource_handles_service", resource_handles.c.service_id, resource_handles.c.part_id)

address_allocations = Table(
    "address_allocations",
    metadata,
    Column("pool", String(64), primary_key=True),
    Column("prefix", String(64), primary_key=True),
    Column("owner", ID, nullable=False),
    Column("purpose", String(128), nullable=False),
)
Index("ix_address_allocations_owner", address_allocations.c.owner)

catalogue_versions = Table(
    "catalogue_versions",
    metadata,
    Column("publisher", String(64), primary_key=True),
    Column("own", Boolean, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("catalogue", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("payload", LargeBinary),
    Column("signature", LargeBinary),
    Column("key_id", String(64)),
)

withdrawn_offers = Table(
    "withdrawn_offers",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("vendor", String(128), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("withdrawn_at", DateTime(timezone=True), nullable=False),
)

emulated_resources = Table(
    "emulated_resources",
    metadata,
    Column("pop", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("data", Text, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

used_assertions = Table(
    "used_assertions",
    metadata,
    Column("jti", String(128), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_used_assertions_expires_at", used_assertions.c.expires_at)

# The task engine's generic run store (``spfed.storage.runs``; migration 0009): one row per
# run, one per task reported. Schedules, contexts and errors are JSON text.
engine_runs = Table(
    "engine_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("workflow", String(32), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("schedule", Text, nullable=False),
    Column("context", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_engine_runs_workflow_state", engine_runs.c.workflow, engine_runs.c.state)
Index("ix_engine_runs_subject", engine_runs.c.subject)

engine_tasks = Table(
    "engine_tasks",
    metadata,
    Column("run_id", ID, ForeignKey("engine_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
)
