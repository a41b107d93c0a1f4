"""The durable webhook event queue and the replay cache, in a database of their own.

A verified delivery is inserted together with its replay-cache entry in one transaction, and
only then does the HTTP answer go out: a crash after the answer loses nothing, and a second
delivery of the same signed request is refused because its entry already exists.
Events stay ``pending`` until processed; processing is idempotent (the fingerprint ledger and
the write-back ledger drop repeated work), so an event interrupted by a crash is simply
processed again after the restart.

Next to a SQLite store the queue is its own SQLite file (``<store>-webhooks.db``, WAL mode):
SQLite has one writer per file, and the worker's analysis transactions in the store would
otherwise hold the lock a delivery needs (measured: the webhook p99 went from 7 ms to 80+ ms
when the two shared a file). Writes open with ``BEGIN IMMEDIATE`` so a writer waits for the
lock up front (``busy_timeout``) instead of failing on a lock upgrade. ``synchronous`` is
``NORMAL`` by default, like the store: in WAL mode a commit is in the operating system's hands
before the 202, so an acknowledged event survives ``kill -9`` of the server (and any crash of
the process); only a power cut or kernel crash may lose the last commits. ``[server]
queue_synchronous = "FULL"`` fsyncs every commit (group commit shares one fsync among the
deliveries waiting together) for power-loss durability, at a measured latency cost (see
docs/server.md).
Other databases keep the queue tables in the store (migration 5): they have row locks.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from empathy_bridge.engine import Bridge
from empathy_bridge.server import tables as t
from empathy_bridge.server.settings import ServerSettings
from empathy_bridge.store import Store

__all__ = ["EventQueue", "NewEvent", "QueuedEvent", "ReplayError", "queue_url"]


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


@dataclass(frozen=True)
class NewEvent:
    """A verified delivery to queue, with its replay-cache entry."""

    platform: str
    source: str
    tenant: str
    payload: str
    replay_key: str
    replay_until: datetime


def replay_digest(signature: str, body: bytes) -> str:
    """Replay-cache key: a hash of the signature and body (never the signature itself)."""
    return hashlib.sha256(signature.encode("utf-8", "replace") + b"\x00" + body).hexdigest()


def queue_url(store: Store, settings: ServerSettings) -> str | None:
    """Where the queue lives: ``[server] queue_url``, a file next to a SQLite store, or
    ``None`` for "in the store itself" (in-memory SQLite stores and other databases)."""
    if settings.queue_url:
        return settings.queue_url
    url = make_url(store.url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return str(url.set(database=str(path.with_name(f"{path.stem}-webhooks{path.suffix}"))))


class EventQueue:
    """Enqueue verified events, claim them for processing, settle them.

    :param engine: the queue's database (see :meth:`open`).
    """

    def __init__(self, engine: Engine, *, immediate: bool = False) -> None:
        self.engine = engine
        # immediate: the engine runs in AUTOCOMMIT and writes BEGIN IMMEDIATE themselves.
        self._immediate = immediate

    @classmethod
    def open(cls, bridge: Bridge, *, adopt: bool = True,
             auto_checkpoint: bool = True) -> EventQueue:
        """The queue of ``bridge``'s ``[server]`` settings; creates its file when missing.

        With ``adopt`` (the server, before it accepts traffic), pending events left in the
        store by a version that kept the queue there are moved over, so an upgrade loses none.
        ``auto_checkpoint=False`` (the receiving side) leaves copying the write-ahead log into
        the database, and its fsync, to the worker (:meth:`checkpoint`): SQLite otherwise runs
        it inside whichever commit crosses 1,000 log pages, and that delivery waits for it.
        """
        settings = bridge.config.section("server", ServerSettings)
        store = bridge.store
        url = queue_url(store, settings)
        if url is None:
            return cls(store.engine)
        if make_url(url).get_backend_name() == "sqlite":
            # AUTOCOMMIT: the driver never opens transactions by itself; writes BEGIN IMMEDIATE.
            engine = create_engine(_sqlite_file(url, bridge.config.base_dir),
                                   isolation_level="AUTOCOMMIT")
            event.listen(engine, "connect", _pragmas(settings.queue_synchronous,
                                                     auto_checkpoint))
            immediate = True
        else:
            engine, immediate = create_engine(url), False
        t.metadata.create_all(engine, tables=[t.webhook_events, t.webhook_replays])
        queue = cls(engine, immediate=immediate)
        if adopt:
            queue.adopt(store)
        return queue

    def close(self) -> None:
        """Release the queue's connections."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock at once (BEGIN IMMEDIATE)."""
        if not self._immediate:
            with self.engine.begin() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")

    # -- receiving ---------------------------------------------------------------------------

    def enqueue(self, *, platform: str, source: str, tenant: str, payload: str,
                replay_key: str, replay_until: datetime) -> int:
        """Durably queue an event; raises :class:`ReplayError` if ``replay_key`` was seen."""
        result = self.enqueue_many([NewEvent(platform, source, tenant, payload, replay_key,
                                             replay_until)])[0]
        if isinstance(result, ReplayError):
            raise result
        return result

    def enqueue_many(self, events: Sequence[NewEvent]) -> list[int | ReplayError]:
        """Queue many deliveries in one transaction (one commit, one fsync).

        Returns, per event, its id or a :class:`ReplayError` (seen before, or earlier in
        ``events``); replays are refused without failing the others.
        """
        try:
            with self.transaction() as conn:
                return self._insert(conn, events)
        except IntegrityError:
            # Another writer inserted one of these replay keys meanwhile: settle one by one.
            if len(events) == 1:
                return [ReplayError(events[0].platform)]
            return [r for e in events for r in self.enqueue_many([e])]

    def _insert(self, conn: Connection, events: Sequence[NewEvent]) -> list[int | ReplayError]:
        now = datetime.now(UTC)
        keys = {(e.platform, e.replay_key) for e in events}
        seen = {(p, d) for p, d in conn.execute(
            select(t.webhook_replays.c.platform, t.webhook_replays.c.digest).where(
                t.webhook_replays.c.digest.in_([k for _, k in keys])))}
        out: list[int | ReplayError] = []
        for e in events:
            key = (e.platform, e.replay_key)
            if key in seen:
                out.append(ReplayError(e.platform))
                continue
            seen.add(key)
            conn.execute(t.webhook_replays.insert().values(
                platform=e.platform, digest=e.replay_key, expires_at=e.replay_until))
            result = conn.execute(t.webhook_events.insert().values(
                platform=e.platform, source=e.source, tenant=e.tenant, received_at=now,
                payload=e.payload, status="pending", attempts=0))
            inserted = result.inserted_primary_key
            assert inserted is not None
            out.append(int(inserted[0]))
        return out

    def adopt(self, store: Store) -> int:
        """Move pending events (and live replay entries) from ``store``'s own queue tables.

        Inserted here first, deleted there after: a crash in between processes an event
        twice, which the fingerprint ledger makes harmless; none is lost.
        """
        now = datetime.now(UTC)
        with store.engine.connect() as src:
            rows = src.execute(select(t.webhook_events).where(
                t.webhook_events.c.status == "pending").order_by(t.webhook_events.c.id)
            ).mappings().all()
            replays = src.execute(select(t.webhook_replays).where(
                t.webhook_replays.c.expires_at >= now)).mappings().all() if rows else []
        if not rows:
            return 0
        with self.transaction() as conn:
            known = {(p, d) for p, d in conn.execute(
                select(t.webhook_replays.c.platform, t.webhook_replays.c.digest))}
            fresh = [dict(r) for r in replays if (r["platform"], r["digest"]) not in known]
            if fresh:
                conn.execute(t.webhook_replays.insert(), fresh)
            conn.execute(t.webhook_events.insert(),
                         [{k: v for k, v in r.items() if k != "id"} for r in rows])
        with store.transaction() as conn:
            conn.execute(delete(t.webhook_events).where(
                t.webhook_events.c.id.in_([r["id"] for r in rows])))
        return len(rows)

    # -- processing --------------------------------------------------------------------------

    def pending(self, limit: int) -> list[QueuedEvent]:
        """The oldest pending events."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.webhook_events).where(t.webhook_events.c.status == "pending")
                .order_by(t.webhook_events.c.id).limit(limit)).mappings().all()
        return [QueuedEvent(r["id"], r["platform"], r["source"], r["tenant"], r["payload"],
                            r["attempts"]) for r in rows]

    def settle(self, event_id: int, status: str, error: str | None = None) -> None:
        """Mark an event ``done`` or ``failed`` (with a one-line error)."""
        with self.transaction() as conn:
            conn.execute(update(t.webhook_events).where(t.webhook_events.c.id == event_id).values(
                status=status, error=error[:4000] if error else None,
                processed_at=datetime.now(UTC), attempts=t.webhook_events.c.attempts + 1))

    def settle_many(self, event_ids: list[int], status: str) -> None:
        """Mark many events with one status in one transaction."""
        if not event_ids:
            return
        with self.transaction() as conn:
            conn.execute(update(t.webhook_events).where(t.webhook_events.c.id.in_(event_ids))
                         .values(status=status, processed_at=datetime.now(UTC),
                                 attempts=t.webhook_events.c.attempts + 1))

    def retry_later(self, event_id: int, error: str) -> None:
        """Count a failed attempt; the event stays pending."""
        with self.transaction() as conn:
            conn.execute(update(t.webhook_events).where(t.webhook_events.c.id == event_id).values(
                error=error[:4000], attempts=t.webhook_events.c.attempts + 1))

    def counts(self) -> dict[str, int]:
        """Number of events by status."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.webhook_events.c.status, func.count())
                                .group_by(t.webhook_events.c.status)).all()
        return {str(status): int(n) for status, n in rows}

    def get(self, event_id: int) -> dict[str, object] | None:
        """One event row (tests, diagnostics)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.webhook_events).where(
                t.webhook_events.c.id == event_id)).mappings().first()
        return dict(row) if row else None

    def checkpoint(self) -> None:
        """Copy the write-ahead log into a SQLite queue file, without waiting for any lock.

        ``PASSIVE``: never blocks a delivery being committed; what it cannot copy yet is copied
        by the next call.
        """
        if self._immediate:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def prune(self, *, keep_done: timedelta = timedelta(days=7)) -> int:
        """Drop expired replay entries and old processed events; returns rows removed."""
        now = datetime.now(UTC)
        with self.transaction() as conn:
            removed = conn.execute(delete(t.webhook_replays).where(
                t.webhook_replays.c.expires_at < now)).rowcount
            removed += conn.execute(delete(t.webhook_events).where(
                t.webhook_events.c.status == "done",
                t.webhook_events.c.processed_at < now - keep_done)).rowcount
        return int(removed)


def _sqlite_file(url: str, base_dir: Path) -> str:
    """``url`` with a relative path made absolute; the file created owner-only if missing."""
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:"):
        return url
    path = Path(parsed.database)
    if not path.is_absolute():
        path = base_dir / path
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Owner-only from the first byte: queued events are customer messages.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    return str(parsed.set(database=str(path)))


def _pragmas(synchronous: str, auto_checkpoint: bool) -> Any:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        if not auto_checkpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
    return apply
