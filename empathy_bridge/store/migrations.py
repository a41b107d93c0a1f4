"""Explicit, versioned schema migrations.

The store records applied versions in ``schema_version``. On open, pending migrations run in
order, each in its own transaction. A store newer than this code is refused rather than guessed
at. To change the schema, append a ``(version, description, function)`` entry; never edit an
applied one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, select

from empathy_bridge.errors import StoreError
from empathy_bridge.store import tables as t

__all__ = ["MIGRATIONS", "current_version", "migrate"]


def _v1(conn: Connection) -> None:
    t.metadata.create_all(
        conn,
        tables=[
            t.cursors,
            t.interactions,
            t.analyses,
            t.decisions,
            t.outbox,
            t.writeback_ledger,
            t.dead_letters,
            t.audit_log,
        ],
    )


def _v2(conn: Connection) -> None:
    # The tables belong to the experiments policy; imported here so the core store module does
    # not depend on it at import time.
    from empathy_bridge.policies import experiment_store as e

    t.metadata.create_all(conn, tables=[e.experiment_exposures, e.experiment_outcomes])


def _v3(conn: Connection) -> None:
    # Social care operations (reply drafts, alerts, listening windows); tables live with them.
    from empathy_bridge.social import tables as social

    social.metadata.create_all(conn, tables=social.ALL_TABLES)


def _v5(conn: Connection) -> None:
    # The HTTP service's webhook queue, replay cache and API keys; tables live with the server.
    from empathy_bridge.server import tables as server

    server.metadata.create_all(conn, tables=server.ALL_TABLES)


def _v4(conn: Connection) -> None:
    # Metrics rollups (reply assessments, conversation facts, imported ratings); tables live
    # with the metrics layer.
    from empathy_bridge.metrics import tables as metrics

    t.metadata.create_all(conn, tables=metrics.ALL_TABLES)


def _v6(conn: Connection) -> None:
    # Rollups created by the first version of migration 4 lack the customer's organisation.
    from empathy_bridge.metrics import tables as metrics

    metrics.add_missing_columns(conn)


def _v7(conn: Connection) -> None:
    # Stores created before the outbox's per-record index; a new store has it from _v1.
    index = next(i for i in t.outbox.indexes if i.name == "ix_outbox_record")
    index.create(conn, checkfirst=True)


#: Every migration in order. Append only.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "core tables: cursors, ledger, analyses, decisions, outbox, dead letters, audit", _v1),
    (2, "phrasing experiments: exposures and outcomes", _v2),
    (3, "social care: reply drafts, alerts, deliveries, listening windows, cases", _v3),
    (4, "metrics: reply assessments, conversation facts, empathy ratings", _v4),
    (5, "http service: webhook event queue, replay cache, api keys", _v5),
    (6, "metrics: customer organisation on the rollups", _v6),
    (7, "outbox: per-record index for the drain and supersede", _v7),
]


def current_version(engine: Engine) -> int:
    """The highest applied migration, 0 for an empty database."""
    if not inspect(engine).has_table("schema_version"):
        return 0
    with engine.connect() as conn:
        versions = conn.execute(select(t.schema_version.c.version)).scalars().all()
    return max(versions, default=0)


def migrate(engine: Engine) -> int:
    """Apply pending migrations; returns the resulting version."""
    t.schema_version.create(engine, checkfirst=True)
    version = current_version(engine)
    latest = MIGRATIONS[-1][0]
    if version > latest:
        raise StoreError(
            f"store schema version {version} is newer than this empathy-bridge supports "
            f"({latest}): upgrade empathy-bridge"
        )
    # Apply every migration not recorded yet (not only those above the highest): migrations
    # are numbered by feature and may land out of order, and each creates its own tables.
    with engine.connect() as conn:
        applied = set(conn.execute(select(t.schema_version.c.version)).scalars())
    for number, _description, apply in MIGRATIONS:
        if number in applied:
            continue
        with engine.begin() as conn:
            apply(conn)
            conn.execute(
                t.schema_version.insert().values(version=number, applied_at=datetime.now(UTC))
            )
        version = max(version, number)
    return version
