"""The daemon: scheduled jobs, persisted schedule, plugin jobs, quota pauses, graceful SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from empathy_bridge import hookimpl
from empathy_bridge.cli import _register_commands, cli
from empathy_bridge.daemon import Daemon, paused_until, source_health
from empathy_bridge.daemon.health import next_runs
from empathy_bridge.engine import Bridge
from empathy_bridge.errors import ConfigError

BIN = str(Path(sys.executable).parent / "empathy-bridge")
ENV = {**os.environ, "EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}

pinged = threading.Event()


def ping(bridge: Bridge) -> None:
    """A plugin job (module level: the schedule stores it by reference)."""
    assert isinstance(bridge, Bridge)
    pinged.set()


class JobsPlugin:
    @hookimpl
    def empathy_bridge_register_jobs(self, register: Callable[..., None]) -> None:
        register("ping", ping, interval_seconds=3600)


def _config(
    tmp_path: Path,
    *,
    tickets: int = 30,
    interval: int = 1,
    page_size: int = 10,
    cron: str | None = None,
) -> Path:
    schedule = f'cron = "{cron}"' if cron else f"interval_seconds = {interval}"
    path = tmp_path / "daemon.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n\n'
        f'[sources.example]\nadapter = "example"\ndesk = "d-{tmp_path.name}"\n'
        f"tickets = {tickets}\npage_size = {page_size}\nschedule = {{ {schedule} }}\n",
        encoding="utf-8",
    )
    return path


def _wait(predicate: Callable[[], Any], what: str, limit: float = 120.0) -> Any:
    """Poll until ``predicate`` is truthy (a guard against hanging, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _status(config: Path) -> list[dict[str, Any]]:
    """What ``status --json`` reports, read in-process (a CLI start-up costs seconds)."""
    with Bridge.from_config(config, environ=ENV) as bridge:
        return source_health(bridge)


def _batches_committed(db: Path) -> int:
    try:
        conn = sqlite3.connect(db, timeout=30)
        try:
            query = "SELECT count(*) FROM cursors WHERE cursor IS NOT NULL"
            return int(conn.execute(query).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_run_syncs_on_schedule_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    config = _config(tmp_path)
    proc = subprocess.Popen(
        [BIN, "--log-json", "run", "--config", str(config)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        rows = _wait(
            lambda: [r for r in _status(config) if r["last_status"] == "ok" and r["next_run_at"]],
            "a scheduled sync",
        )
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    row = rows[0]
    assert row["pending_outbox"] == 0 and row["quota"] == "ok"
    assert row["lag_seconds"] is not None
    logs = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    messages = [entry["message"] for entry in logs]
    assert any(m.startswith("daemon started: sync:example") for m in messages)
    assert any("received SIGTERM" in m for m in messages)
    assert messages[-1] == "daemon stopped"


def test_sigterm_mid_backfill_stops_between_batches_and_commits(tmp_path: Path) -> None:
    config = _config(tmp_path, tickets=20_000, page_size=5, interval=3600)
    db = tmp_path / "store.db"
    proc = subprocess.Popen(
        [BIN, "run", "--config", str(config)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait(lambda: _batches_committed(db) > 0, "the backfill to start")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    row = _status(config)[0]
    assert row["last_status"] == "interrupted"
    conn = sqlite3.connect(db)
    in_flight = conn.execute("SELECT count(*) FROM outbox WHERE status = 'in_flight'").fetchone()
    cursor = conn.execute("SELECT cursor FROM cursors").fetchone()
    conn.close()
    assert in_flight == (0,)
    assert cursor[0] is not None  # the batches done before the signal are committed


def test_plugin_jobs_run_and_the_schedule_persists_across_restarts(tmp_path: Path) -> None:
    config = _config(tmp_path, interval=3600)
    pinged.clear()
    with Bridge.from_config(config, environ=ENV, plugins=[JobsPlugin()]) as bridge:
        daemon = Daemon(bridge)
        assert [s.id for s in daemon.job_specs()] == ["sync:example", "job:ping"]
        daemon.start()
        try:
            assert pinged.wait(60)
            _wait(lambda: daemon.reports, "the first sync")
            before = next_runs(bridge)
        finally:
            daemon.shutdown()
    assert set(before) == {"sync:example", "job:ping"}
    assert all(when > datetime.now(UTC) for when in before.values())
    with Bridge.from_config(config, environ=ENV, plugins=[JobsPlugin()]) as bridge:
        daemon = Daemon(bridge)
        daemon.start()
        try:
            after = next_runs(bridge)
        finally:
            daemon.shutdown()
    assert after == before  # unchanged jobs keep their persisted next run
    _config(tmp_path, interval=600)
    with Bridge.from_config(config, environ=ENV) as bridge:  # schedule changed, plugin gone
        daemon = Daemon(bridge)
        daemon.start()
        daemon.shutdown()
        assert set(next_runs(bridge)) == {"sync:example"}


def test_cron_schedules_and_bad_cron(tmp_path: Path) -> None:
    with Bridge.from_config(_config(tmp_path, cron="*/5 * * * *"), environ=ENV) as bridge:
        (spec,) = Daemon(bridge).job_specs()
        assert "cron" in str(spec.trigger)
    with (
        Bridge.from_config(_config(tmp_path, cron="every tuesday"), environ=ENV) as bridge,
        pytest.raises(ConfigError, match=r"schedule\.cron"),
    ):
        Daemon(bridge).job_specs()


def test_a_quota_pause_is_stored_shown_and_respected(tmp_path: Path) -> None:
    config = _config(tmp_path)
    resume = datetime.now(UTC) + timedelta(hours=2)
    with Bridge.from_config(config, environ=ENV) as bridge:
        bridge.store.record_run(
            "example", "paused", f"paused until {resume.isoformat()}: daily allowance spent"
        )
        assert paused_until("paused", bridge.store.source_runs()[0]["last_detail"]) == resume
        (row,) = source_health(bridge)
        assert row["quota"] == f"paused until {resume.isoformat()}"
        daemon = Daemon(bridge)
        daemon.run_sync("example")
        assert daemon.reports == []  # skipped: no API call before the reset
        bridge.store.record_run(
            "example", "paused", f"paused until {(resume - timedelta(hours=3)).isoformat()}: x"
        )
        daemon.run_sync("example")
        assert daemon.reports and daemon.reports[0].status == "ok"


def test_status_table_and_json_list_every_column(tmp_path: Path) -> None:
    _register_commands()
    config = _config(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["sync", "--config", str(config)], env=ENV).exit_code == 0
    as_json = runner.invoke(cli, ["status", "--config", str(config), "--json"], env=ENV)
    (row,) = json.loads(as_json.output)
    assert {
        "last_run_at",
        "lag_seconds",
        "next_run_at",
        "pending_outbox",
        "dead_letters",
        "quota",
    } <= set(row)
    table = runner.invoke(cli, ["status", "--config", str(config)], env=ENV)
    assert table.exit_code == 0
    assert "example" in table.output and "quota" in table.output
