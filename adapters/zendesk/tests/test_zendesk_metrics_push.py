"""Metrics push-back into Zendesk organisation and user fields (against the sandbox)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.errors import ConfigError, SkippableError
from empathy_bridge.schemas import EmpathyMetric
from empathy_bridge_zendesk.sandbox import ZendeskSandbox

OPTIONS = {"organization_fields": {"reply_empathy_score": "empathy_score"},
           "user_fields": {"sentiment_recovery": "sentiment_recovery"}}
START, END = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


def _metric(name: str, value: float | None, dimension: str, key: str) -> EmpathyMetric:
    return EmpathyMetric(name=name, value=value, n=12, period_start=START, period_end=END,
                         dimension=dimension, dimension_value=key, definition="test")


def _ids(sandbox: ZendeskSandbox) -> tuple[int, int]:
    user = next(u for u in sandbox.data.users.values()
                if u.get("organization_id") and u.get("role") == "end-user")
    return int(user["id"]), int(user["organization_id"])


def test_push_metrics_sets_fields_and_a_rerun_updates(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., Any]) -> None:
    adapter = make_adapter(sandbox)
    user_id, org_id = _ids(sandbox)
    users_before = len(sandbox.data.users)
    metrics = [
        _metric("reply_empathy_score", 0.71234, "organization", str(org_id)),
        _metric("sentiment_recovery", 0.25, "customer", str(user_id)),
        _metric("personalisation_rate", 0.5, "customer", str(user_id)),  # not mapped
        _metric("reply_empathy_score", 0.6, "team", "billing"),  # not Zendesk's to hold
        _metric("sentiment_recovery", 0.1, "customer", "003XX0000001"),  # another platform
    ]
    assert adapter.push_metrics(metrics, OPTIONS) == 2
    rerun = [m.model_copy(update={"value": 0.8}) for m in metrics]
    assert adapter.push_metrics(rerun, OPTIONS) == 2
    user = adapter.http.get(adapter.http.url(f"/users/{user_id}.json"), "reading a user")["user"]
    org = adapter.http.get(adapter.http.url(f"/organizations/{org_id}.json"),
                           "reading an organisation")["organization"]
    assert user["user_fields"] == {"sentiment_recovery": 0.8}
    assert org["organization_fields"] == {"empathy_score": 0.8}
    assert len(sandbox.data.users) == users_before  # updated in place, nothing created
    calls = adapter.api_calls.snapshot()
    assert sum(v for k, v in calls.items() if "update_many" in k) == 4


def test_push_metrics_through_the_platform_sink(sandbox: ZendeskSandbox,
                                                 tmp_path: Path) -> None:
    from empathy_bridge.engine import Bridge
    from empathy_bridge.metrics.publish import publish

    user_id, _ = _ids(sandbox)
    config = {"store": {"url": f"sqlite:///{tmp_path / 's.db'}"},
              "sources": {"zendesk": sandbox.demo_source_config()},
              "metrics": {"sinks": [{"kind": "platform", "source": "zendesk",
                                     "options": OPTIONS}]}}
    environ = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "0", "EMPATHY_BRIDGE_PLUGINS": "zendesk",
               **sandbox.demo_environment()}
    with Bridge.from_config(config, environ=environ) as bridge:
        report = publish(bridge, [_metric("sentiment_recovery", -0.2, "customer",
                                          str(user_id))])
    assert report.errors == {}
    assert report.written["platform:zendesk"] == 1


def test_unknown_records_are_reported_after_the_rest(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., Any]) -> None:
    adapter = make_adapter(sandbox)
    user_id, _ = _ids(sandbox)
    metrics = [_metric("sentiment_recovery", 0.3, "customer", str(user_id)),
               _metric("sentiment_recovery", 0.3, "customer", "999999999")]
    with pytest.raises(SkippableError, match="user 999999999"):
        adapter.push_metrics(metrics, OPTIONS)
    user = adapter.http.get(adapter.http.url(f"/users/{user_id}.json"), "reading a user")["user"]
    assert user["user_fields"] == {"sentiment_recovery": 0.3}


@pytest.mark.parametrize(("options", "message"), [
    ({}, "map at least one metric"),
    ({"org_fields": {}}, "unknown key 'org_fields'"),
    ({"user_fields": {"sentiment_recovery": "Bad Key"}}, "not a Zendesk field key"),
])
def test_bad_options_are_one_line_errors(sandbox: ZendeskSandbox,
                                         make_adapter: Callable[..., Any],
                                         options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_adapter(sandbox).push_metrics([], options)
