"""What ``empathy-bridge status`` reports per source, read from the store alone.

The daemon and the status command are separate processes, so everything here comes from the
store: the last run (``cursors``), the outbox, dead letters, the quota pause recorded with a
paused run, and the next run time from the persisted APScheduler job table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text

if TYPE_CHECKING:
    from empathy_bridge.engine import Bridge

__all__ = ["JOB_TABLE", "next_runs", "paused_until", "source_health", "sync_job_id"]

#: Table of the persisted schedule (APScheduler's SQLAlchemyJobStore) in the store database.
JOB_TABLE = "apscheduler_jobs"

# The engine records a quota pause as "paused until <ISO time>: <reason>".
_PAUSED = re.compile(r"paused until (\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:\d\d|Z)?)")


def sync_job_id(source: str) -> str:
    """Job id of a source's sync job in the persisted schedule."""
    return f"sync:{source}"


def paused_until(status: str | None, detail: str | None) -> datetime | None:
    """When a paused source may resume, from its last run's status and detail."""
    if status != "paused" or not detail:
        return None
    match = _PAUSED.search(detail)
    if match is None:
        return None
    try:
        when = datetime.fromisoformat(match.group(1))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def next_runs(bridge: Bridge) -> dict[str, datetime]:
    """Next run time per job id, from the persisted schedule (empty if never scheduled)."""
    engine = bridge.store.engine
    if not inspect(engine).has_table(JOB_TABLE):
        return {}
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE}")).all()
    return {
        str(job_id): datetime.fromtimestamp(float(when), UTC)
        for job_id, when in rows
        if when is not None
    }


def source_health(bridge: Bridge, now: datetime | None = None) -> list[dict[str, Any]]:
    """One dict per configured source: last run, lag, next run, outbox, dead letters, quota."""
    now = now or datetime.now(UTC)
    runs = {r["source"]: r for r in bridge.store.source_runs()}
    scheduled = next_runs(bridge)
    rows = []
    for name, cfg in bridge.source_configs.items():
        run = runs.get(name, {})
        last = run.get("last_run_at")
        status, detail = run.get("last_status"), run.get("last_detail")
        resume = paused_until(status, detail)
        rows.append(
            {
                "source": name,
                "enabled": cfg.enabled,
                "schedule": cfg.schedule.cron or f"every {cfg.schedule.interval_seconds}s",
                "last_run_at": last,
                "last_status": status,
                "detail": detail,
                "lag_seconds": round((now - last).total_seconds(), 1) if last else None,
                "next_run_at": scheduled.get(sync_job_id(name)),
                "cursor_updated_at": run.get("updated_at"),
                "pending_outbox": bridge.store.pending_count(name),
                "dead_letters": bridge.store.dead_letter_count(name),
                "quota": f"paused until {resume.isoformat()}" if resume and resume > now else "ok",
            }
        )
    return rows
