"""The durable webhook event queue and the replay cache, both in the state store.

A verified delivery is inserted together with its replay-cache entry in one transaction, and
only then does the HTTP answer go out: a crash after the answer loses nothing, and a second
delivery of the same signed request is refused because its entry already exists.
Events stay ``pending`` until processed; processing is idempotent (the fingerprint ledger and
the write-back ledger drop repeated work), so an event interrupted by a crash is simply
processed again after the restart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from empathy_bridge.server import tables as t
from empathy_bridge.store import Store

__all__ = ["EventQueue", "QueuedEvent", "ReplayError"]


class ReplayError(Exception):
    """This signed delivery was accepted before."""


@dataclass(frozen=True)
class QueuedEvent:
    """A pending webhook event."""

    id: int
    platform: str
    source: str
    tenant: str
    payload: str
    attempts: int


def replay_digest(signature: str, body: bytes) -> str:
    """Replay-cache key: a hash of the signature and body (never the signature itself)."""
    return hashlib.sha256(signature.encode("utf-8", "replace") + b"\x00" + body).hexdigest()


class EventQueue:
    """Enqueue verified events, claim them for processing, settle them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def enqueue(self, *, platform: str, source: str, tenant: str, payload: str,
                replay_key: str, replay_until: datetime) -> int:
        """Durably queue an event; raises :class:`ReplayError` if ``replay_key`` was seen."""
        now = datetime.now(UTC)
        try:
            with self.store.transaction() as conn:
                conn.execute(t.webhook_replays.insert().values(
                    platform=platform, digest=replay_key, expires_at=replay_until))
                result = conn.execute(t.webhook_events.insert().values(
                    platform=platform, source=source, tenant=tenant, received_at=now,
                    payload=payload, status="pending", attempts=0))
        except IntegrityError:
            raise ReplayError(platform) from None
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def pending(self, limit: int) -> list[QueuedEvent]:
        """The oldest pending events."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(t.webhook_events).where(t.webhook_events.c.status == "pending")
                .order_by(t.webhook_events.c.id).limit(limit)).mappings().all()
        return [QueuedEvent(r["id"], r["platform"], r["source"], r["tenant"], r["payload"],
                            r["attempts"]) for r in rows]

    def settle(self, event_id: int, status: str, error: str | None = None) -> None:
        """Mark an event ``done`` or ``failed`` (with a one-line error)."""
        with self.store.transaction() as conn:
            conn.execute(update(t.webhook_events).where(t.webhook_events.c.id == event_id).values(
                status=status, error=error[:4000] if error else None,
                processed_at=datetime.now(UTC), attempts=t.webhook_events.c.attempts + 1))

    def settle_many(self, event_ids: list[int], status: str) -> None:
        """Mark many events with one status in one transaction."""
        if not event_ids:
            return
        with self.store.transaction() as conn:
            conn.execute(update(t.webhook_events).where(t.webhook_events.c.id.in_(event_ids))
                         .values(status=status, processed_at=datetime.now(UTC),
                                 attempts=t.webhook_events.c.attempts + 1))

    def retry_later(self, event_id: int, error: str) -> None:
        """Count a failed attempt; the event stays pending."""
        with self.store.transaction() as conn:
            conn.execute(update(t.webhook_events).where(t.webhook_events.c.id == event_id).values(
                error=error[:4000], attempts=t.webhook_events.c.attempts + 1))

    def counts(self) -> dict[str, int]:
        """Number of events by status."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.webhook_events.c.status, func.count())
                                .group_by(t.webhook_events.c.status)).all()
        return {str(status): int(n) for status, n in rows}

    def get(self, event_id: int) -> dict[str, object] | None:
        """One event row (tests, diagnostics)."""
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t.webhook_events).where(
                t.webhook_events.c.id == event_id)).mappings().first()
        return dict(row) if row else None

    def prune(self, *, keep_done: timedelta = timedelta(days=7)) -> int:
        """Drop expired replay entries and old processed events; returns rows removed."""
        now = datetime.now(UTC)
        with self.store.transaction() as conn:
            removed = conn.execute(delete(t.webhook_replays).where(
                t.webhook_replays.c.expires_at < now)).rowcount
            removed += conn.execute(delete(t.webhook_events).where(
                t.webhook_events.c.status == "done",
                t.webhook_events.c.processed_at < now - keep_done)).rowcount
        return int(removed)
