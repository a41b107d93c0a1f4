"""Store tables of the metrics layer: per-reply assessments, per-conversation facts, ratings.

Created by store migration 4 (``empathy_bridge/store/migrations.py``). They are *rollups*: derived
from the core tables (interactions, analyses, decisions, write-back ledger) by
:func:`empathy_bridge.metrics.rollup.refresh`, incrementally, so that every metric is a SQL
aggregate over one row per reply or per conversation instead of a pass over message payloads.

Timestamps are kept twice: as timezone-aware datetimes (for people and period filters) and as
epoch seconds (``*_ts``), because "N days later" arithmetic on floats is portable across SQLite
and PostgreSQL while date arithmetic is not.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    inspect,
)

from empathy_bridge.store import tables as t

__all__ = [
    "ALL_TABLES",
    "add_missing_columns",
    "conversation_facts",
    "empathy_ratings",
    "reply_assessments",
]

reply_assessments = Table(
    "reply_assessments",
    t.metadata,
    Column("source", String(200), primary_key=True),
    Column("native_id", String(200), primary_key=True),
    Column("conversation_id", String(200), nullable=False),
    Column("answered_id", String(200)),
    Column("author_role", String(20), nullable=False),
    Column("agent_id", String(200)),
    Column("team", String(200)),
    Column("channel", String(50)),
    Column("segment", String(200)),
    Column("customer_id", String(200)),
    Column("organization_id", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("response_seconds", Float),
    Column("answered_intensity", Float),
    Column("personalised", Integer, nullable=False),
    Column("personalisation", Float, nullable=False),
    Column("listening", Integer, nullable=False),
    Column("validation", Integer, nullable=False),
    Column("acknowledgment", Integer, nullable=False),
    Column("paraphrase", Integer, nullable=False),
    Column("tone", Float),
    Column("clarity", Float, nullable=False),
    Column("next_step", Integer, nullable=False),
    Column("empathy", Float, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("rubric_version", String(20), nullable=False),
    Column("evidence", Text, nullable=False),
    Index("ix_reply_assessments_conversation", "source", "conversation_id"),
    Index("ix_reply_assessments_created", "created_at"),
    Index("ix_reply_assessments_agent", "agent_id", "created_ts"),
)

conversation_facts = Table(
    "conversation_facts",
    t.metadata,
    Column("source", String(200), primary_key=True),
    Column("conversation_id", String(200), primary_key=True),
    Column("customer_id", String(200)),
    Column("organization_id", String(200)),
    Column("segment", String(200)),
    Column("team", String(200)),
    Column("channel", String(50)),
    Column("agent_id", String(200)),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("first_ts", Float, nullable=False),
    Column("last_ts", Float, nullable=False),
    Column("n_interactions", Integer, nullable=False),
    Column("n_customer", Integer, nullable=False),
    Column("n_positive", Integer, nullable=False),
    Column("n_high_intensity", Integer, nullable=False),
    Column("n_replies", Integer, nullable=False),
    Column("n_agent_replies", Integer, nullable=False),
    Column("opening_sentiment", Float),
    Column("closing_sentiment", Float),
    Column("recovery", Float),
    Column("peak_intensity", Float),
    Column("mean_empathy", Float),
    Column("personalised_share", Float),
    Column("listening_share", Float),
    Column("agent_tone", Float),
    Column("decided_at", DateTime(timezone=True)),
    Column("tier", String(20)),
    Column("due_at", DateTime(timezone=True)),
    Column("sla_met", Integer),
    Column("first_reply_seconds", Float),
    Column("priority_raised", Integer, nullable=False),
    Column("transferred", Integer, nullable=False),
    Column("handoff", Integer, nullable=False),
    Column("resolved", Integer, nullable=False),
    Column("csat_good", Integer, nullable=False),
    Column("csat_n", Integer, nullable=False),
    Column("next_gap_days", Float),
    Column("refreshed_at", DateTime(timezone=True), nullable=False),
    Index("ix_conversation_facts_customer", "source", "customer_id", "first_ts"),
    Index("ix_conversation_facts_first", "first_at"),
)

empathy_ratings = Table(
    "empathy_ratings",
    t.metadata,
    Column("source", String(200), primary_key=True),
    Column("conversation_id", String(200), primary_key=True),
    Column("rater", String(20), primary_key=True),
    Column("agent_id", String(200)),
    Column("score", Float, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

#: Tables created by migration 4, in creation order.
ALL_TABLES = [reply_assessments, conversation_facts, empathy_ratings]


def add_missing_columns(conn: Connection) -> None:
    """Add columns introduced after a rollup table was created (store migration 6).

    Only nullable columns are ever added this way, so existing rows stay valid; the next
    ``metrics --full-refresh`` fills them.
    """
    inspector = inspect(conn)
    for table in (reply_assessments, conversation_facts):
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')
