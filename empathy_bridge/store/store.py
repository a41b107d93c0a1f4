"""The state store: one SQLAlchemy engine and the operations the pipeline needs.

SQLite (one file, created owner-only) by default; any SQLAlchemy URL works. Writes that belong
together take a :class:`sqlalchemy.Connection` from :meth:`Store.transaction` so that a batch's
interactions, analyses, outbox rows and cursor commit atomically (transactional outbox).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.sql.dml import Delete, Insert, Update

from empathy_bridge.errors import StoreError
from empathy_bridge.fingerprint import fingerprint, value_json
from empathy_bridge.gc_pause import paused_gc
from empathy_bridge.schemas import EmotionalContext, FieldUpdate, Interaction
from empathy_bridge.store import tables as t
from empathy_bridge.store.migrations import migrate

__all__ = ["DeadLetter", "DecisionRow", "OutboxRow", "Store", "fingerprint", "value_json"]

# Outbox rows not settled yet: queued, or handed to the platform without a recorded outcome.
_OPEN = ("pending", "in_flight")

# SQLite caps bound parameters per statement; chunk IN-lists below it.
_CHUNK = 500


@dataclass(frozen=True)
class DeadLetter:
    """A record that failed permanently, with what is needed to understand and replay it."""

    id: int
    source: str
    stage: str
    native_id: str | None
    payload: str | None
    error: str
    error_code: str | None
    plugin: str | None
    analyzer_version: str | None
    created_at: datetime
    fingerprint: str | None = None


@dataclass(frozen=True)
class DecisionRow:
    """The decisions of one conversation, as stored (payload is their JSON)."""

    conversation_id: str
    native_id: str
    payload: str
    priority: str | None
    tier: str | None
    due_at: datetime | None
    handoff: bool | None


@dataclass(frozen=True)
class OutboxRow:
    """A pending write in the outbox."""

    id: int
    update: FieldUpdate
    attempts: int
    #: The value's canonical JSON as stored (``value_json(update.value)``), when read from the
    #: outbox: the ledger records it without encoding the value again.
    stored_value: str | None = None


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes even for timezone=True columns; values are stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Store:
    """State store over SQLAlchemy Core.

    :param url: SQLAlchemy URL; relative SQLite paths resolve against ``base_dir``.
    """

    def __init__(self, url: str, base_dir: Path | None = None) -> None:
        self.url = self._resolve(url, base_dir)
        try:
            self.engine: Engine = create_engine(self.url, future=True)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open store {self._safe_url()}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self.version = migrate(self.engine)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot migrate store {self._safe_url()}: {exc.__class__.__name__}: "
                f"{exc.orig if hasattr(exc, 'orig') else exc}"
            ) from None

    @staticmethod
    def _resolve(url: str, base_dir: Path | None) -> str:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"store url {url!r} is not a SQLAlchemy URL: {exc}") from None
        if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
            return url
        path = Path(parsed.database)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Owner-only from the first byte: the store holds customer messages.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        return str(parsed.set(database=str(path)))

    def _safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success and rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    # -- cursors ----------------------------------------------------------------------------

    def get_cursor(self, source: str) -> str | None:
        """The last committed cursor of ``source``."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.cursors.c.cursor).where(t.cursors.c.source == source)
            ).scalar_one_or_none()

    def set_cursor(self, conn: Connection, source: str, cursor: str | None) -> None:
        """Store the cursor inside the caller's transaction."""
        now = _now()
        changed = conn.execute(
            update(t.cursors)
            .where(t.cursors.c.source == source)
            .values(cursor=cursor, updated_at=now)
        ).rowcount
        if not changed:
            conn.execute(t.cursors.insert().values(source=source, cursor=cursor, updated_at=now))

    def record_run(self, source: str, status: str, detail: str = "") -> None:
        """Remember the outcome of the last cycle of ``source`` (for the status command)."""
        with self.transaction() as conn:
            now = _now()
            values = {"last_run_at": now, "last_status": status, "last_detail": detail}
            changed = conn.execute(
                update(t.cursors).where(t.cursors.c.source == source).values(**values)
            ).rowcount
            if not changed:
                conn.execute(
                    t.cursors.insert().values(source=source, cursor=None, updated_at=now, **values)
                )

    def source_runs(self) -> list[dict[str, Any]]:
        """Cursor and last-run information per source."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.cursors)).mappings().all()
        return [
            {
                **dict(row),
                "updated_at": _aware(row["updated_at"]),
                "last_run_at": _aware(row["last_run_at"]),
            }
            for row in rows
        ]

    # -- interactions and analyses ----------------------------------------------------------

    def fingerprints(self, source: str, native_ids: Sequence[str]) -> dict[str, str]:
        """Stored fingerprints of the given interactions (missing ids are new)."""
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(native_ids)):
                rows = conn.execute(
                    select(t.interactions.c.native_id, t.interactions.c.fingerprint).where(
                        t.interactions.c.source == source, t.interactions.c.native_id.in_(chunk)
                    )
                )
                found.update({row.native_id: row.fingerprint for row in rows})
                # A dead-lettered version of a message is known too: it is not retried on
                # every re-fetch, only on replay or when its content changes.
                rows = conn.execute(
                    select(t.dead_letters.c.native_id, t.dead_letters.c.fingerprint).where(
                        t.dead_letters.c.source == source,
                        t.dead_letters.c.native_id.in_(chunk),
                        t.dead_letters.c.fingerprint.is_not(None),
                    )
                )
                for row in rows:
                    found.setdefault(row.native_id, row.fingerprint)
        return found

    def save_analyses(
        self,
        conn: Connection,
        items: Sequence[tuple[Interaction, str, EmotionalContext]],
    ) -> None:
        """Upsert interactions, fingerprints and contexts within the caller's transaction."""
        if not items:
            return
        # The row dicts are acyclic and die with the statement: no cyclic-GC passes over them.
        with paused_gc():
            self._save_analyses(conn, items)

    @staticmethod
    def _save_analyses(
        conn: Connection, items: Sequence[tuple[Interaction, str, EmotionalContext]]
    ) -> None:
        _upsert(
            conn,
            t.interactions,
            [
                {
                    "source": i.source,
                    "native_id": i.native_id,
                    "conversation_id": i.conversation_id,
                    "record_id": i.target_record,
                    "author_role": i.author_role.value,
                    "customer_id": i.customer.id if i.customer else None,
                    "channel": i.channel,
                    "team": i.team,
                    "created_at": i.created_at,
                    "fingerprint": fp,
                    "payload": i.model_dump_json(),
                }
                for i, fp, _ in items
            ],
        )
        _upsert(
            conn,
            t.analyses,
            [
                {
                    "source": i.source,
                    "native_id": i.native_id,
                    "conversation_id": i.conversation_id,
                    "author_role": i.author_role.value,
                    "state": c.state.value,
                    "tier": c.tier.value,
                    "sentiment": c.sentiment,
                    "intensity": c.intensity,
                    "analyzer": c.analyzer,
                    "analyzer_version": c.analyzer_version,
                    "created_at": i.created_at,
                    "context": c.model_dump_json(),
                }
                for i, _, c in items
            ],
        )

    def conversation_history(
        self, source: str, conversation_ids: Sequence[str]
    ) -> dict[str, list[tuple[Interaction, EmotionalContext | None]]]:
        """Stored interactions (oldest first) with their contexts, per conversation."""
        history: dict[str, list[tuple[Interaction, EmotionalContext | None]]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(conversation_ids)):
                query = (
                    select(
                        t.interactions.c.conversation_id,
                        t.interactions.c.payload,
                        t.analyses.c.context,
                    )
                    .select_from(
                        t.interactions.outerjoin(
                            t.analyses,
                            and_(
                                t.analyses.c.source == t.interactions.c.source,
                                t.analyses.c.native_id == t.interactions.c.native_id,
                            ),
                        )
                    )
                    .where(
                        t.interactions.c.source == source,
                        t.interactions.c.conversation_id.in_(chunk),
                    )
                    .order_by(t.interactions.c.created_at)
                )
                for row in conn.execute(query):
                    context = (
                        EmotionalContext.model_validate_json(row.context) if row.context else None
                    )
                    history.setdefault(row.conversation_id, []).append(
                        (Interaction.model_validate_json(row.payload), context)
                    )
        return history

    def iter_interactions(
        self, source: str | None = None, batch_size: int = 1000
    ) -> Iterator[tuple[Interaction, EmotionalContext | None]]:
        """Every stored interaction with its context, streamed in key order."""
        last: tuple[str, str] | None = None
        join = t.interactions.outerjoin(
            t.analyses,
            and_(
                t.analyses.c.source == t.interactions.c.source,
                t.analyses.c.native_id == t.interactions.c.native_id,
            ),
        )
        while True:
            query = (
                select(
                    t.interactions.c.source,
                    t.interactions.c.native_id,
                    t.interactions.c.payload,
                    t.analyses.c.context,
                )
                .select_from(join)
                .order_by(t.interactions.c.source, t.interactions.c.native_id)
                .limit(batch_size)
            )
            if source is not None:
                query = query.where(t.interactions.c.source == source)
            if last is not None:
                query = query.where(
                    tuple_(t.interactions.c.source, t.interactions.c.native_id) > last
                )
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                context = EmotionalContext.model_validate_json(row.context) if row.context else None
                yield Interaction.model_validate_json(row.payload), context
            last = (rows[-1].source, rows[-1].native_id)

    def get_interaction(
        self, native_id: str, source: str | None = None
    ) -> tuple[Interaction, EmotionalContext | None] | None:
        """One stored interaction (by native id, optionally within a source) and its context."""
        query = (
            select(t.interactions.c.payload, t.analyses.c.context)
            .select_from(
                t.interactions.outerjoin(
                    t.analyses,
                    and_(
                        t.analyses.c.source == t.interactions.c.source,
                        t.analyses.c.native_id == t.interactions.c.native_id,
                    ),
                )
            )
            .where(t.interactions.c.native_id == native_id)
        )
        if source is not None:
            query = query.where(t.interactions.c.source == source)
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
        if row is None:
            return None
        context = EmotionalContext.model_validate_json(row.context) if row.context else None
        return Interaction.model_validate_json(row.payload), context

    def save_decisions(self, conn: Connection, source: str, rows: Sequence[DecisionRow]) -> None:
        """Store the latest decisions of conversations, replacing their previous ones."""
        if not rows:
            return
        latest = {row.conversation_id: row for row in rows}
        now = _now()
        _upsert(
            conn,
            t.decisions,
            [
                {
                    "source": source,
                    "conversation_id": row.conversation_id,
                    "native_id": row.native_id,
                    "priority": row.priority,
                    "tier": row.tier,
                    "due_at": row.due_at,
                    "handoff": None if row.handoff is None else int(row.handoff),
                    "decided_at": now,
                    "payload": row.payload,
                }
                for row in latest.values()
            ],
        )

    def delete_conversations(
        self, conn: Connection, source: str, conversation_ids: Sequence[str]
    ) -> int:
        """Remove every derived row of the given conversations (deleted at the source)."""
        removed = 0
        for chunk in _chunks(list(conversation_ids)):
            record_ids = (
                conn.execute(
                    select(t.interactions.c.record_id)
                    .distinct()
                    .where(
                        t.interactions.c.source == source,
                        t.interactions.c.conversation_id.in_(chunk),
                    )
                )
                .scalars()
                .all()
            )
            removed += conn.execute(
                delete(t.interactions).where(
                    t.interactions.c.source == source, t.interactions.c.conversation_id.in_(chunk)
                )
            ).rowcount
            conn.execute(
                delete(t.analyses).where(
                    t.analyses.c.source == source, t.analyses.c.conversation_id.in_(chunk)
                )
            )
            conn.execute(
                delete(t.decisions).where(
                    t.decisions.c.source == source, t.decisions.c.conversation_id.in_(chunk)
                )
            )
            if record_ids:
                conn.execute(
                    delete(t.outbox).where(
                        t.outbox.c.source == source,
                        t.outbox.c.record_id.in_(record_ids),
                        t.outbox.c.status.in_(_OPEN),
                    )
                )
                conn.execute(
                    delete(t.writeback_ledger).where(
                        t.writeback_ledger.c.source == source,
                        t.writeback_ledger.c.record_id.in_(record_ids),
                    )
                )
        return removed

    # -- write-back ledger and outbox -------------------------------------------------------

    def ledger_values(self, source: str, record_ids: Iterable[str]) -> dict[tuple[str, str], str]:
        """(record_id, field) -> JSON of the value we last wrote, for the given records."""
        ids = sorted(set(record_ids))
        found: dict[tuple[str, str], str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                rows = conn.execute(
                    select(
                        t.writeback_ledger.c.record_id,
                        t.writeback_ledger.c.field,
                        t.writeback_ledger.c.value,
                    ).where(
                        t.writeback_ledger.c.source == source,
                        t.writeback_ledger.c.record_id.in_(chunk),
                    )
                )
                found.update({(r.record_id, r.field): r.value for r in rows})
        return found

    def pending_values(self, source: str, record_ids: Iterable[str]) -> dict[tuple[str, str], str]:
        """(record_id, field) -> JSON of the newest value queued but not yet written."""
        ids = sorted(set(record_ids))
        found: dict[tuple[str, str], str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                rows = conn.execute(
                    select(t.outbox.c.record_id, t.outbox.c.field, t.outbox.c.value)
                    .where(
                        t.outbox.c.source == source,
                        t.outbox.c.status.in_(_OPEN),
                        t.outbox.c.record_id.in_(chunk),
                    )
                    .order_by(t.outbox.c.id)
                )
                found.update({(r.record_id, r.field): r.value for r in rows})
        return found

    def enqueue(self, conn: Connection, updates: Sequence[FieldUpdate]) -> None:
        """Add planned updates to the outbox in the caller's transaction.

        An older pending update of the same record and field is superseded (deleted), so the
        outbox never writes a stale value after a fresh one.
        """
        if not updates:
            return
        # Supersede older pending rows of the same (record, field): find them by record (an
        # index seek; usually there are none), match the field here, delete by id.
        by_source: dict[str, set[tuple[str, str]]] = {}
        for update_ in updates:
            by_source.setdefault(update_.source, set()).add((update_.record_id, update_.field))
        stale: list[int] = []
        for source, keys in by_source.items():
            for chunk in _chunks(sorted({record for record, _ in keys})):
                rows = conn.execute(
                    select(t.outbox.c.id, t.outbox.c.record_id, t.outbox.c.field).where(
                        t.outbox.c.source == source,
                        t.outbox.c.status == "pending",
                        t.outbox.c.record_id.in_(chunk),
                    )
                )
                stale += [row.id for row in rows if (row.record_id, row.field) in keys]
        for ids in _chunks(stale):
            conn.execute(delete(t.outbox).where(t.outbox.c.id.in_(ids)))
        now = _now()
        with paused_gc():
            self._insert_outbox(conn, updates, now)

    @staticmethod
    def _insert_outbox(conn: Connection, updates: Sequence[FieldUpdate], now: datetime) -> None:
        _executemany(
            conn,
            t.outbox.insert(),
            [
                {
                    "source": u.source,
                    "record_id": u.record_id,
                    "field": u.field,
                    "op": u.op,
                    "value": value_json(u.value),
                    "priority_rank": u.priority_rank,
                    "reason": u.reason,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for u in updates
            ],
        )

    def pending_count(self, source: str | None = None) -> int:
        """How many outbox rows wait to be written."""
        query = select(func.count()).select_from(t.outbox).where(t.outbox.c.status.in_(_OPEN))
        if source is not None:
            query = query.where(t.outbox.c.source == source)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def pending_records(
        self, source: str, max_records: int, status: str = "pending", min_records: int = 1
    ) -> list[OutboxRow]:
        """Pending rows of up to ``max_records`` records, most urgent records first.

        ``status="in_flight"`` lists rows handed to the platform without a recorded outcome.
        Fewer than ``min_records`` records give an empty list (their rows are not read).
        """
        with self.engine.connect() as conn:
            urgency = func.max(t.outbox.c.priority_rank).label("urgency")
            first = func.min(t.outbox.c.id).label("first")
            records = (
                conn.execute(
                    select(t.outbox.c.record_id, urgency, first)
                    .where(t.outbox.c.source == source, t.outbox.c.status == status)
                    .group_by(t.outbox.c.record_id)
                    .order_by(urgency.desc(), first)
                    .limit(max_records)
                )
                .scalars()
                .all()
            )
            rows: list[OutboxRow] = []
            if len(records) < min_records:
                return rows
            for chunk in _chunks(list(records)):
                # Only what an OutboxRow holds: parsing the unused timestamp cost more than
                # the rest of the row.
                o = t.outbox.c
                stmt = (
                    select(o.id, o.record_id, o.field, o.op, o.value, o.priority_rank)
                    .add_columns(o.reason, o.attempts)
                    .where(
                        t.outbox.c.source == source,
                        t.outbox.c.status == status,
                        t.outbox.c.record_id.in_(chunk),
                    )
                    .order_by(t.outbox.c.id)
                )
                with paused_gc():
                    rows.extend(_outbox_rows(source, conn.execute(stmt)))
        return rows

    def mark_written(self, conn: Connection, rows: Sequence[OutboxRow]) -> None:
        """Mark outbox rows done and record their values in the ledger (caller's transaction)."""
        if not rows:
            return
        now = _now()
        _by_ids(conn, delete(t.outbox), [r.id for r in rows])
        ledger_rows = {}
        for row in rows:
            u = row.update
            stored = row.stored_value
            ledger_rows[(u.source, u.record_id, u.field)] = (
                value_json(u.value) if stored is None else stored
            )
        _upsert(
            conn,
            t.writeback_ledger,
            [
                {"source": s, "record_id": r, "field": f, "value": v, "written_at": now}
                for (s, r, f), v in ledger_rows.items()
            ],
        )

    def set_status(self, conn: Connection | None, rows: Sequence[OutboxRow], status: str) -> None:
        """Move outbox rows to ``status`` (``"in_flight"`` before a write, ``"pending"`` back).

        Without ``conn`` the change commits at once: an in-flight mark must be durable *before*
        the platform call it guards.
        """
        if conn is None:
            with self.transaction() as own:
                self.set_status(own, rows, status)
            return
        _by_ids(conn, update(t.outbox).values(status=status), [r.id for r in rows])

    def mark_failed(self, conn: Connection, rows: Sequence[OutboxRow]) -> None:
        """Take rows out of the outbox after a permanent failure (they are dead-lettered)."""
        _by_ids(conn, delete(t.outbox), [r.id for r in rows])

    def bump_attempts(self, rows: Sequence[OutboxRow]) -> None:
        """Count a failed attempt on rows that stay pending."""
        with self.transaction() as conn:
            for chunk in _chunks([r.id for r in rows]):
                conn.execute(
                    update(t.outbox)
                    .where(t.outbox.c.id.in_(chunk))
                    .values(attempts=t.outbox.c.attempts + 1)
                )

    # -- dead letters and audit -------------------------------------------------------------

    def add_dead_letter(
        self,
        conn: Connection | None,
        *,
        source: str,
        stage: str,
        error: str,
        native_id: str | None = None,
        payload: str | None = None,
        error_code: str | None = None,
        plugin: str | None = None,
        analyzer_version: str | None = None,
        fingerprint: str | None = None,
    ) -> DeadLetter:
        """Store a dead letter (in the caller's transaction, or its own)."""
        values = {
            "source": source,
            "stage": stage,
            "native_id": native_id,
            "payload": payload,
            "error": error[:4000],
            "error_code": error_code,
            "plugin": plugin,
            "analyzer_version": analyzer_version,
            "fingerprint": fingerprint,
            "created_at": _now(),
        }
        if conn is None:
            with self.transaction() as own:
                new_id = own.execute(t.dead_letters.insert().values(**values)).inserted_primary_key
        else:
            new_id = conn.execute(t.dead_letters.insert().values(**values)).inserted_primary_key
        assert new_id is not None
        return DeadLetter(id=int(new_id[0]), **values)  # type: ignore[arg-type]

    def dead_letters(self, source: str | None = None, limit: int = 1000) -> list[DeadLetter]:
        """Stored dead letters, oldest first."""
        query = select(t.dead_letters).order_by(t.dead_letters.c.id).limit(limit)
        if source is not None:
            query = query.where(t.dead_letters.c.source == source)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [DeadLetter(**{**dict(r), "created_at": _aware(r["created_at"])}) for r in rows]

    def get_dead_letter(self, letter_id: int) -> DeadLetter | None:
        """One dead letter by id."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(t.dead_letters).where(t.dead_letters.c.id == letter_id))
                .mappings()
                .first()
            )
        return DeadLetter(**{**dict(row), "created_at": _aware(row["created_at"])}) if row else None

    def delete_dead_letters(self, ids: Sequence[int]) -> int:
        """Remove dead letters (after a successful replay or a purge)."""
        with self.transaction() as conn:
            return int(
                conn.execute(
                    delete(t.dead_letters).where(t.dead_letters.c.id.in_(list(ids)))
                ).rowcount
            )

    def dead_letter_count(self, source: str | None = None) -> int:
        """How many dead letters are stored."""
        query = select(func.count()).select_from(t.dead_letters)
        if source is not None:
            query = query.where(t.dead_letters.c.source == source)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def audit(
        self,
        action: str,
        *,
        actor: str = "empathy-bridge",
        source: str | None = None,
        record_id: str | None = None,
        detail: dict[str, Any] | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Append to the audit log."""
        values = {
            "at": _now(),
            "actor": actor,
            "action": action,
            "source": source,
            "record_id": record_id,
            "detail": value_json(detail or {}),
        }
        if conn is None:
            with self.transaction() as own:
                own.execute(t.audit_log.insert().values(**values))
        else:
            conn.execute(t.audit_log.insert().values(**values))

    def audit_entries(self, action: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Audit log rows, newest first."""
        query = select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)
        if action is not None:
            query = query.where(t.audit_log.c.action == action)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def count(self, table: str) -> int:
        """Row count of a store table (for summaries and tests)."""
        tbl = t.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(tbl)).scalar_one())


def _by_ids(conn: Connection, stmt: Update | Delete, ids: Sequence[int]) -> None:
    """Run an UPDATE or DELETE of the outbox (without a WHERE) on the rows with these ids.

    On SQLite the statement is compiled once for one id and run through the driver's
    ``executemany`` (a primary-key seek per id): cheaper than SQLAlchemy rendering and naming a
    500-item ``IN`` list per chunk. The statement's other parameters must need no type
    processing (plain strings and integers). Elsewhere: ``IN`` lists by chunk.
    """
    if not ids:
        return
    dialect = conn.dialect
    if dialect.name == "sqlite" and dialect.paramstyle == "qmark":
        compiled = stmt.where(t.outbox.c.id == bindparam("_row_id")).compile(dialect=dialect)
        values = compiled.construct_params({"_row_id": 0})
        order = compiled.positiontup or []
        conn.exec_driver_sql(
            compiled.string,
            [tuple(row_id if n == "_row_id" else values[n] for n in order) for row_id in ids],
        )
        return
    for chunk in _chunks(ids):
        conn.execute(stmt.where(t.outbox.c.id.in_(chunk)))


def _outbox_rows(source: str, result: Iterable[Any]) -> Iterator[OutboxRow]:
    for row_id, record_id, field, op, value, rank, reason, attempts in result:
        yield OutboxRow(
            id=row_id,
            attempts=attempts,
            update=FieldUpdate(
                source=source,
                record_id=record_id,
                field=field,
                op=op,
                value=json.loads(value),
                priority_rank=rank,
                reason=reason or "",
            ),
            stored_value=value,
        )


def _executemany(conn: Connection, stmt: Insert, rows: Sequence[dict[str, Any]]) -> None:
    """Run an INSERT (or upsert) over many rows of the same keys.

    On SQLite the statement is compiled once, the values are bound by the dialect's own type
    processors (so they are stored exactly as :meth:`Connection.execute` stores them) and the
    rows go to the driver's ``executemany`` as tuples: SQLAlchemy's generic per-row parameter
    handling costs more than SQLite's insert itself at sync volumes. Anything else (another
    dialect, a column default to fill in) takes the ordinary path.
    """
    if not rows:
        return
    # The parameter tuples are acyclic and die with the statement: no cyclic-GC passes.
    with paused_gc():
        _executemany_unpaused(conn, stmt, rows)


def _executemany_unpaused(conn: Connection, stmt: Insert, rows: Sequence[dict[str, Any]]) -> None:
    dialect = conn.dialect
    keys = list(rows[0])
    if dialect.name == "sqlite" and dialect.paramstyle == "qmark":
        compiled = stmt.compile(dialect=dialect, column_keys=keys, for_executemany=True)
        order = compiled.positiontup or []
        columns = stmt.table.c
        if order and set(order) <= set(keys) and all(name in columns for name in order):
            # Plain tuples in the statement's order, then only the columns with a type
            # processor converted in place (most columns have none).
            getter = itemgetter(*order)
            params: list[Any] = [getter(row) for row in rows]
            if len(order) == 1:
                params = [(value,) for value in params]
            procs: list[tuple[int, Callable[[Any], Any]]] = []
            for position, name in enumerate(order):
                bind = columns[name].type.dialect_impl(dialect).bind_processor(dialect)
                if bind is not None:
                    procs.append((position, bind))
            if procs:
                params = [list(values) for values in params]
                for position, convert in procs:
                    for values in params:
                        values[position] = convert(values[position])
                params = [tuple(values) for values in params]
            conn.exec_driver_sql(compiled.string, params)
            return
    conn.execute(stmt, list(rows))


def _upsert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, replacing those with the same primary key, in one statement per batch.

    Uses the dialect's native upsert (SQLite and PostgreSQL ``ON CONFLICT``), which is far
    cheaper than delete-then-insert with row-value IN lists; other dialects fall back to that.
    """
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        # Only the dialect in use: importing PostgreSQL's also loads its async drivers' modules.
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
        stmt = dialect_insert(table)
        others = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        _executemany(conn, stmt.on_conflict_do_update(index_elements=keys, set_=others), rows)
        return
    for chunk in _chunks(rows, 300):
        conn.execute(
            delete(table).where(
                tuple_(*(table.c[k] for k in keys)).in_([tuple(r[k] for k in keys) for r in chunk])
            )
        )
    conn.execute(table.insert(), rows)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the status command read while a sync writes; NORMAL is durable at each commit
    # in WAL mode except for power loss, which the outbox tolerates (replayed writes are diffed).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
