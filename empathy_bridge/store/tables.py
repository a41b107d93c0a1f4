"""Table definitions of the state store (SQLAlchemy Core).

JSON payloads are stored as text produced by pydantic (``model_dump_json``) so that reading them
back is one ``model_validate_json`` call, with no intermediate dict round trip.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

cursors = Table(
    "cursors",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("cursor", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_run_at", DateTime(timezone=True)),
    Column("last_status", String(50)),
    Column("last_detail", Text),
)

interactions = Table(
    "interactions",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("native_id", String(200), primary_key=True),
    Column("conversation_id", String(200), nullable=False),
    Column("record_id", String(200), nullable=False),
    Column("author_role", String(20), nullable=False),
    Column("customer_id", String(200)),
    Column("channel", String(50)),
    Column("team", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_interactions_conversation", "source", "conversation_id", "created_at"),
    Index("ix_interactions_customer", "customer_id"),
    Index("ix_interactions_created", "created_at"),
)

analyses = Table(
    "analyses",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("native_id", String(200), primary_key=True),
    Column("conversation_id", String(200), nullable=False),
    Column("author_role", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("sentiment", Float, nullable=False),
    Column("intensity", Float, nullable=False),
    Column("analyzer", String(200), nullable=False),
    Column("analyzer_version", String(50), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("context", Text, nullable=False),
    Index("ix_analyses_conversation", "source", "conversation_id"),
    Index("ix_analyses_created", "created_at"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("conversation_id", String(200), primary_key=True),
    Column("native_id", String(200), nullable=False),
    Column("priority", String(20)),
    Column("tier", String(20)),
    Column("due_at", DateTime(timezone=True)),
    Column("handoff", Integer),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("record_id", String(200), nullable=False),
    Column("field", String(200), nullable=False),
    Column("op", String(20), nullable=False),
    Column("value", Text, nullable=False),
    Column("priority_rank", Integer, nullable=False, default=0),
    Column("reason", Text),
    Column("status", String(20), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_outbox_pending", "source", "status", "priority_rank", "id"),
    # Per-record lookups of open rows (the drain's grouping, supersede, pending values):
    # covering, so grouping by record needs no temporary b-tree. Added by migration 7.
    Index("ix_outbox_record", "source", "status", "record_id", "priority_rank", "id"),
)

writeback_ledger = Table(
    "writeback_ledger",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("record_id", String(200), primary_key=True),
    Column("field", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("stage", String(50), nullable=False),
    Column("native_id", String(200)),
    Column("payload", Text),
    Column("error", Text, nullable=False),
    Column("error_code", String(100)),
    Column("plugin", String(200)),
    Column("analyzer_version", String(50)),
    Column("fingerprint", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_dead_letters_source", "source", "stage"),
    Index("ix_dead_letters_native", "source", "native_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("source", String(200)),
    Column("record_id", String(200)),
    Column("detail", Text),
)
