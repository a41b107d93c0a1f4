"""Store tables of the social care operations (created by store migration 3).

Kept in their own :class:`~sqlalchemy.MetaData` so the core store does not depend on this
package; the migration imports this module only when it runs.
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
    UniqueConstraint,
)

__all__ = ["ALL_TABLES", "alerts", "cases", "deliveries", "drafts", "rule_state", "seen",
           "window_counts"]

metadata = MetaData()

#: Public reply drafts and their approval/posting state machine.
drafts = Table(
    "social_drafts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("in_reply_to", String(200), nullable=False),
    Column("conversation_id", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("origin", String(20), nullable=False),
    Column("drafted_by", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("needs_approval", Integer, nullable=False),
    Column("approval_reason", Text, nullable=False),
    Column("blocked_reasons", Text, nullable=False),
    Column("approved_by", String(200)),
    Column("approved_at", DateTime(timezone=True)),
    Column("rejected_by", String(200)),
    Column("reject_reason", Text),
    Column("posted_id", String(200)),
    Column("posted_url", Text),
    Column("posted_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("tone", Float),
    Column("target_tier", String(20)),
    Column("target_followers", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_social_drafts_status", "status", "created_at"),
    Index("ix_social_drafts_target", "source", "in_reply_to"),
)

#: Alerts fired by listening rules; ``dedupe_key`` makes firing at-most-once per rule window.
alerts = Table(
    "social_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(400), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("summary", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("fired_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("dedupe_key", name="uq_social_alerts_dedupe"),
    Index("ix_social_alerts_rule", "rule", "fired_at"),
)

#: One row per (alert, sink): delivered once, failed deliveries retried on later cycles.
deliveries = Table(
    "social_deliveries",
    metadata,
    Column("alert_id", Integer, primary_key=True),
    Column("sink", String(200), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("reference", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Matching-post counts per rule and time bucket: the sliding windows and baselines.
window_counts = Table(
    "social_window_counts",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("bucket_start", DateTime(timezone=True), primary_key=True),
    Column("count", Integer, nullable=False),
)

#: Whether a spike rule is currently firing (an episode fires once, then clears).
rule_state = Table(
    "social_rule_state",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("active", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

#: Public interactions the listening cycle has already counted.
seen = Table(
    "social_seen",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("native_id", String(200), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

#: Cases opened in a CRM for an alert or a post, so each is opened once.
cases = Table(
    "social_cases",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("sink", String(200), nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

ALL_TABLES = [drafts, alerts, deliveries, window_counts, rule_state, seen, cases]
