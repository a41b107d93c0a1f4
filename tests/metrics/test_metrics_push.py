"""Push-back: webhook over real httpx against respx, file exports, platform sinks and the hook."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import respx

from empathy_bridge.adapter import Adapter
from empathy_bridge.config import BridgeConfig
from empathy_bridge.engine import Bridge
from empathy_bridge.errors import ConfigError, FatalError, RetriableError
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.metrics.publish import publish
from empathy_bridge.metrics.push import external_id, post_webhook, write_file
from empathy_bridge.metrics.settings import FileSink, WebhookSink
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import EmpathyMetric
from empathy_bridge.secrets import Secrets

URL = "https://metrics.example.test/ingest"
START, END = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)


def _metrics(count: int = 3) -> list[EmpathyMetric]:
    return [EmpathyMetric(name=f"metric_{i}", value=i / 10, n=10 + i, period_start=START,
                          period_end=END, dimension="team", dimension_value=f"t{i}",
                          definition="share of things", ci_low=0.0, ci_high=0.5)
            for i in range(count)]


class _Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _policy() -> tuple[RetryPolicy, _Sleeps]:
    sleeps = _Sleeps()
    return RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, sleep=sleeps), sleeps


@respx.mock
def test_webhook_posts_batches_with_token_and_idempotency_key() -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(202))
    sink = WebhookSink(url=URL, token_env="HOOK_TOKEN", batch_size=2)
    secrets = Secrets({"HOOK_TOKEN": "s3cret"})
    assert post_webhook(_metrics(5), sink, secrets) == 5
    assert route.call_count == 3
    first = route.calls[0].request
    assert first.headers["Authorization"] == "Bearer s3cret"
    body = json.loads(first.content)
    assert [m["name"] for m in body["metrics"]] == ["metric_0", "metric_1"]
    assert body["metrics"][0]["external_id"] == external_id(_metrics(1)[0])
    key = first.headers["Idempotency-Key"]
    post_webhook(_metrics(5), sink, secrets)
    assert route.calls[3].request.headers["Idempotency-Key"] == key  # same batch, same key


@respx.mock
def test_webhook_retries_5xx_and_429_honouring_retry_after() -> None:
    route = respx.post(URL).mock(side_effect=[
        httpx.Response(503), httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(200)])
    policy, sleeps = _policy()
    assert post_webhook(_metrics(1), WebhookSink(url=URL), Secrets({}),
                        retry_policy=policy) == 1
    assert route.call_count == 3
    assert len(sleeps.calls) == 2 and sleeps.calls[1] >= 2.0


@respx.mock
def test_webhook_client_error_is_fatal_without_retry() -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(401))
    policy, sleeps = _policy()
    with pytest.raises(FatalError, match="HTTP 401") as info:
        post_webhook(_metrics(1), WebhookSink(url=URL, token_env="T"),
                     Secrets({"T": "Zq9-secret-value"}), retry_policy=policy)
    assert "Zq9-secret-value" not in str(info.value)
    assert route.call_count == 1 and sleeps.calls == []


@respx.mock
def test_webhook_unreachable_gives_up_after_the_policy() -> None:
    respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    policy, sleeps = _policy()
    with pytest.raises(RetriableError, match="unreachable"):
        post_webhook(_metrics(1), WebhookSink(url=URL), Secrets({}), retry_policy=policy)
    assert len(sleeps.calls) == 2


def test_webhook_missing_token_names_the_variable() -> None:
    with pytest.raises(Exception, match="HOOK_TOKEN"):
        post_webhook(_metrics(1), WebhookSink(url=URL, token_env="HOOK_TOKEN"), Secrets({}))


def test_csv_and_jsonl_files(tmp_path: Path) -> None:
    now = datetime(2026, 7, 2, tzinfo=UTC)
    path = write_file(_metrics(), FileSink(path="out/metrics-{date}.csv"), tmp_path, now)
    assert path == tmp_path / "out" / "metrics-2026-07-02.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["name"] for r in rows] == ["metric_0", "metric_1", "metric_2"]
    assert rows[1]["value"] == "0.1" and rows[1]["n"] == "11" and rows[1]["dimension"] == "team"
    lines = write_file(_metrics(), FileSink(path="m.jsonl"), tmp_path).read_text().splitlines()
    assert json.loads(lines[2])["dimension_value"] == "t2"
    assert not list(tmp_path.glob("**/*.tmp"))


def test_parquet_file(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = write_file(_metrics(), FileSink(path="m.parquet"), tmp_path)
    table = pq.read_table(path)
    assert table.num_rows == 3
    assert table.column("n").to_pylist() == [10, 11, 12]


def test_unknown_file_format_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="format"):
        write_file(_metrics(), FileSink(path="m.xlsx"), tmp_path)


class _Recorder:
    """A third-party publishing plugin."""

    def __init__(self) -> None:
        self.received: list[EmpathyMetric] = []

    @hookimpl
    def empathy_bridge_publish_metrics(self, metrics: Sequence[EmpathyMetric],
                                       config: BridgeConfig) -> None:
        self.received.extend(metrics)


class _Broken:
    @hookimpl
    def empathy_bridge_publish_metrics(self, metrics: Sequence[EmpathyMetric]) -> None:
        raise RuntimeError("sink down")


class _UpsertingAdapter(Adapter):
    """A platform whose records are keyed by external id (like a Salesforce upsert)."""

    name = "upserting"
    records: ClassVar[dict[str, dict[str, Any]]] = {}

    def fetch(self, cursor: str | None) -> Any:
        return iter(())

    def plan_writeback(self, *args: Any) -> list[Any]:
        return []

    def apply(self, updates: Any) -> list[Any]:
        return []

    def push_metrics(self, metrics: Sequence[EmpathyMetric],
                     options: Any = None) -> int:
        for metric in metrics:
            self.records[external_id(metric)] = {"object": (options or {}).get("object"),
                                                 "value": metric.value}
        return len(metrics)


class _AdapterPlugin:
    @hookimpl
    def empathy_bridge_register_adapters(self, register: Any) -> None:
        register(_UpsertingAdapter)


def _bridge(tmp_path: Path, sinks: list[dict[str, Any]], plugins: Sequence[object] = ()
            ) -> Bridge:
    config = {"store": {"url": f"sqlite:///{tmp_path / 's.db'}"},
              "sources": {"crm": {"adapter": "upserting"},
                          "desk": {"adapter": "example", "desk": "push-test", "tickets": 0}},
              "metrics": {"sinks": sinks}}
    return Bridge.from_config(config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"},
                              plugins=[_AdapterPlugin(), *plugins])


def test_publish_to_every_sink_and_plugin_in_isolation(tmp_path: Path) -> None:
    recorder = _Recorder()
    _UpsertingAdapter.records.clear()
    sinks = [{"kind": "file", "path": str(tmp_path / "m.csv")},
             {"kind": "platform", "source": "crm", "options": {"object": "Empathy_Metric__c"}},
             {"kind": "platform", "source": "desk"}]
    with _bridge(tmp_path, sinks, [recorder, _Broken()]) as bridge:
        report = publish(bridge, _metrics())
        again = publish(bridge, _metrics())
    assert report.written[f"file:{tmp_path / 'm.csv'}"] == 3
    assert report.written["platform:crm"] == 3
    assert "cannot push metrics" in report.errors["platform:desk"]
    assert any("sink down" in error for error in report.errors.values())
    assert again.written == report.written
    # A rerun updates the platform's records instead of adding new ones.
    assert len(_UpsertingAdapter.records) == 3
    assert {r["object"] for r in _UpsertingAdapter.records.values()} == {"Empathy_Metric__c"}


@respx.mock
def test_builtin_hook_raises_one_line_naming_failed_sinks(tmp_path: Path) -> None:
    respx.post(URL).mock(return_value=httpx.Response(400))
    sinks = [{"kind": "webhook", "url": URL}, {"kind": "file", "path": str(tmp_path / "ok.jsonl")}]
    with (_bridge(tmp_path, sinks) as bridge,
          pytest.raises(FatalError, match=r"1 metrics sink\(s\) failed: webhook:")):
        bridge.pm.hook.empathy_bridge_publish_metrics(metrics=_metrics(), config=bridge.config)
    assert (tmp_path / "ok.jsonl").exists()  # the other sink still ran


def test_sink_config_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"metrics\.sinks"):
        _bridge(tmp_path, [{"kind": "ftp", "path": "x"}])


def test_external_id_is_stable_and_distinct() -> None:
    a, b = _metrics(2)
    assert external_id(a) == external_id(a.model_copy())
    assert external_id(a) != external_id(b)
    assert len(external_id(a)) == 32


def test_daemon_schedules_the_push_and_the_job_pushes(tmp_path: Path) -> None:
    from empathy_bridge.daemon.scheduler import Daemon
    from empathy_bridge.metrics.publish import scheduled_push

    export = tmp_path / "scheduled.jsonl"
    config = {"store": {"url": f"sqlite:///{tmp_path / 's.db'}"},
              "metrics": {"schedule": {"cron": "0 6 * * *", "since_days": 30,
                                       "breakdowns": ["team"]},
                          "sinks": [{"kind": "file", "path": str(export)}]}}
    with Bridge.from_config(config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        specs = {spec.id: spec for spec in Daemon(bridge).job_specs()}
        assert "job:metrics-push" in specs
        assert "hour='6'" in str(specs["job:metrics-push"].trigger)
        report = scheduled_push(bridge)
    assert report.errors == {}
    assert export.exists()


def test_no_schedule_no_job(tmp_path: Path) -> None:
    from empathy_bridge.daemon.scheduler import Daemon

    config = {"store": {"url": f"sqlite:///{tmp_path / 's.db'}"}}
    with Bridge.from_config(config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        assert "job:metrics-push" not in {spec.id for spec in Daemon(bridge).job_specs()}


def test_schedule_breakdowns_are_validated(tmp_path: Path) -> None:
    config = {"store": {"url": f"sqlite:///{tmp_path / 's.db'}"},
              "metrics": {"schedule": {"interval_seconds": 600, "breakdowns": ["planet"]}}}
    with pytest.raises(ConfigError, match="unknown dimension 'planet'"):
        Bridge.from_config(config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"})
