"""Push-back into platform sandboxes through ``metrics push``'s platform sinks: a rerun updates
the platform's records, never duplicates them. Skipped when the adapter is not installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.engine import Bridge
from empathy_bridge.metrics import MetricQuery, compute_metrics, refresh
from empathy_bridge.metrics.publish import publish
from empathy_bridge.metrics.push import external_id
from empathy_bridge.store import Store


@pytest.fixture
def salesforce() -> Iterator[Any]:
    sandbox_module = pytest.importorskip("empathy_bridge_salesforce.sandbox")
    sandbox = sandbox_module.SalesforceSandbox(seed=3, records=5, rate_limits=False)
    sandbox.start()
    yield sandbox
    sandbox.stop()


def test_salesforce_custom_object_upsert_by_external_id(salesforce: Any, busy_store: Store,
                                                        tmp_path: Path) -> None:
    plugin = pytest.importorskip("empathy_bridge_salesforce.plugin")
    refresh(busy_store)
    metrics = compute_metrics(busy_store, query=MetricQuery(by="team"),
                              families=["replies", "escalation"])
    config = {
        "store": {"url": busy_store.url},
        "sources": {"salesforce": salesforce.demo_source_config()},
        "metrics": {"sinks": [{"kind": "platform", "source": "salesforce",
                               "options": {"object": "Empathy_Metric__c",
                                           "external_id_field": "External_Id__c"}}]},
    }
    environ = {**salesforce.demo_environment(), "EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}
    with Bridge.from_config(config, environ=environ, plugins=[plugin]) as bridge:
        first = publish(bridge, metrics)
        assert first.errors == {}
        assert first.written["platform:salesforce"] == len(metrics)
        table = salesforce.org.tables["Empathy_Metric__c"]
        assert len(table) == len(metrics)
        # Values change (a later period's recomputation) and the push runs again.
        changed = [m.model_copy(update={"value": 0.123}) for m in metrics]
        second = publish(bridge, changed)
    assert second.errors == {}
    rows = list(salesforce.org.tables["Empathy_Metric__c"].values())
    assert len(rows) == len(metrics)  # updated in place, not duplicated
    assert {row["External_Id__c"] for row in rows} == {external_id(m) for m in metrics}
    assert {row["Value__c"] for row in rows} == {0.123}
