"""The HTML report: sections, charts, customer pages, redaction, offline; and the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from empathy_bridge.engine import Bridge
from empathy_bridge.report import write_report
from empathy_bridge.store import Store

SECTIONS = ["qbr", "trends", "sla", "agents", "replies", "load", "cohorts", "outcomes", "segments",
            "ratings", "channels", "customers", "definitions"]


def _config(tmp_path: Path, store: Store, extra: str = "") -> Path:
    path = tmp_path / "eb.toml"
    path.write_text(f'[store]\nurl = "{store.url}"\n\n[metrics]\nload_threshold = 1\n{extra}',
                    encoding="utf-8")
    return path


@pytest.fixture
def report(tmp_path: Path, busy_store: Store) -> Path:
    config = _config(tmp_path, busy_store)
    with Bridge.from_config(config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        return write_report(bridge, tmp_path / "report", customers=5)


def test_report_has_every_section_and_chart(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    assert html.count("<svg") >= 6
    trends = html[html.index('id="trends"'):html.index('id="sla"')]
    assert "<polyline" in trends  # a real line, so at least two periods had data
    sla = html[html.index('id="sla"'):html.index('id="agents"')]
    assert "distressed" in sla and "<rect" in sla
    cohorts = html[html.index('id="cohorts"'):html.index('id="outcomes"')]
    assert "high_empathy" in cohorts and "rest" in cohorts
    assert "Voice of the customer" in html
    assert "sla_attainment_distressed" in html and "how it is computed" in html


def test_report_is_self_contained(report: Path) -> None:
    for page in [report, *report.parent.glob("customers/*.html")]:
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html
        urls = re.findall(r"""(?:src|href)=["']?(https?:)?//""", html)
        assert urls == [], page
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html), page


def test_report_redacts_personal_data(report: Path) -> None:
    for page in [report, *report.parent.glob("customers/*.html")]:
        html = page.read_text(encoding="utf-8")
        assert "alice@example.com" not in html
        assert "555 0100" not in html
        assert "4111" not in html
        assert "Alice" not in html and "Farah" not in html  # first names in replies too
    index = report.read_text(encoding="utf-8")
    assert "[email]" in index or "[phone]" in index or "[name]" in index


def test_customer_pages(report: Path) -> None:
    pages = sorted(report.parent.glob("customers/*.html"))
    assert len(pages) == 5
    index = report.read_text(encoding="utf-8")
    for page in pages:
        assert f"customers/{page.name}" in index
    html = pages[0].read_text(encoding="utf-8")
    for section in ("timeline", "conversations", "touchpoints"):
        assert f"id='{section}'" in html
    assert "<circle" in html and "../index.html" in html


def _cli(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> tuple[int, str]:
    monkeypatch.setenv("EMPATHY_BRIDGE_NO_AUTOLOAD", "1")
    from empathy_bridge.cli import _register_commands, cli

    _register_commands()
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_metrics_json_by_team(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                  busy_store: Store) -> None:
    config = _config(tmp_path, busy_store)
    code, out = _cli(monkeypatch, ["metrics", "--config", str(config), "--by", "team",
                                   "--since", "2026-06-01", "--json"])
    assert code == 0, out
    data = json.loads(out)
    teams = {m["dimension_value"] for m in data if m["name"] == "personalisation_rate"}
    assert teams == {"billing", "tech", "success"}
    assert all(m["definition"] and m["n"] >= 0 for m in data)


def test_cli_metrics_table_push_and_report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           busy_store: Store) -> None:
    export = tmp_path / "exports" / "m.jsonl"
    config = _config(tmp_path, busy_store,
                     f'\n[[metrics.sinks]]\nkind = "file"\npath = "{export}"\n')
    code, out = _cli(monkeypatch, ["metrics", "--config", str(config)])
    assert code == 0 and "personalisation_rate" in out
    code, out = _cli(monkeypatch, ["metrics", "push", "--config", str(config), "--by", "team",
                                   "--by", "agent"])
    assert code == 0 and f"ok     file:{export}" in out
    pushed = [json.loads(line) for line in export.read_text().splitlines()]
    assert {m["dimension"] for m in pushed} >= {None, "team", "agent", "cohort"}
    overall = [m for m in pushed if m["name"] == "personalisation_rate"]
    assert {m["dimension"] for m in overall} == {None, "team", "agent"}
    code, out = _cli(monkeypatch, ["report", "--config", str(config), "--out",
                                   str(tmp_path / "r"), "--customers", "2"])
    assert code == 0 and (tmp_path / "r" / "index.html").exists()


def test_cli_bad_date_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                  store: Store) -> None:
    monkeypatch.setenv("EMPATHY_BRIDGE_NO_AUTOLOAD", "1")
    from empathy_bridge.cli import main

    with pytest.raises(SystemExit) as info:
        main(["metrics", "--config", str(_config(tmp_path, store)), "--since", "yesterday"])
    assert info.value.code == 1


@pytest.mark.skipif(not os.environ.get("EMPATHY_BRIDGE_CHROMIUM")
                    or not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="set EMPATHY_BRIDGE_CHROMIUM=1 with chromium installed")
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    script = Path(__file__).resolve().parents[2] / "scripts" / "render_report.sh"
    subprocess.run(["bash", str(script), str(report), str(shot)], check=True, timeout=120)
    assert shot.stat().st_size > 20_000


def test_parse_when_forms() -> None:
    from datetime import UTC, datetime, timedelta

    from empathy_bridge.errors import ConfigError
    from empathy_bridge.metrics.commands import parse_when

    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_when("2026-11-01", now=now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_when("30d", now=now) == now - timedelta(days=30)
    assert parse_when("12h", now=now) == now - timedelta(hours=12)
    assert parse_when("2026-11-01T10:00+02:00", now=now) == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert parse_when(None) is None
    with pytest.raises(ConfigError, match="30d"):
        parse_when("last tuesday")


def test_cli_replies_with_evidence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   busy_store: Store) -> None:
    config = _config(tmp_path, busy_store)
    code, out = _cli(monkeypatch, ["metrics", "replies", "--config", str(config), "--agent",
                                   "ana", "--limit", "5"])
    assert code == 0, out
    lines = [json.loads(line) for line in out.splitlines()]
    assert 0 < len(lines) <= 5
    assert {line["agent_id"] for line in lines} == {"ana"}
    assert set(lines[0]["evidence"]) >= {"name", "specifics", "validation", "jargon"}
    assert isinstance(lines[0]["personalised"], bool)


def test_every_metric_is_documented(busy_store: Store, tmp_path: Path) -> None:
    from empathy_bridge.metrics import compute_metrics, refresh
    from empathy_bridge.metrics.ratings import import_ratings

    ratings = tmp_path / "r.csv"
    ratings.write_text("conversation_id,source,score\nconv-1,desk,0.8\nconv-2,desk,0.3\n",
                       encoding="utf-8")
    import_ratings(busy_store, ratings)
    refresh(busy_store)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text("utf-8")
    names = {m.name for m in compute_metrics(busy_store)}
    assert len(names) > 30
    missing = []
    for name in sorted(names):
        generic = re.sub(r"^sla_attainment_\w+$", "sla_attainment_<tier>", name)
        generic = re.sub(r"^corr_\w+$", "corr_{", generic)
        generic = re.sub(r"^cohort_\w+_difference$", "cohort_*_difference", generic)
        generic = re.sub(r"^cohort_(?!\*)\w+$", "cohort_{", generic)
        generic = re.sub(r"^internal_vs_\w+$", "internal_vs_{", generic)
        if f"`{generic}" not in docs:
            missing.append(name)
    assert not missing, f"metrics without a row in docs/metrics.md: {missing}"
