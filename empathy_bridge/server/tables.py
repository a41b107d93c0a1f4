"""Store tables of the HTTP service: the webhook event queue, the replay cache and API keys.

Created by store migration 5 (:mod:`empathy_bridge.store.migrations`); kept in their own
metadata so the core store does not depend on the server at import time.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text

__all__ = ["ALL_TABLES", "api_keys", "metadata", "webhook_events", "webhook_replays"]

metadata = MetaData()

#: Verified webhook deliveries, durably queued before the HTTP answer; the worker drains them.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(50), nullable=False),
    Column("source", String(200), nullable=False),
    Column("tenant", String(200), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("processed_at", DateTime(timezone=True)),
    Index("ix_webhook_events_status", "status", "id"),
)

#: Signatures already accepted; a second delivery with the same one is a replay.
webhook_replays = Table(
    "webhook_replays",
    metadata,
    Column("platform", String(50), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_replays_expires", "expires_at"),
)

#: API keys: only a salted keyed hash of the secret part is stored.
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("tenant", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("salt", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_api_keys_tenant", "tenant"),
)

ALL_TABLES = [webhook_events, webhook_replays, api_keys]
