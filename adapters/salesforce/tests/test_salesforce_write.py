"""Write-back: batching, per-record errors, no sync loop, priority, create_case, field checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from empathy_bridge.adapter import Decisions
from empathy_bridge.errors import ConfigError
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    EmotionalState,
    EmpathyMetric,
    FieldUpdate,
    Interaction,
    Party,
    Priority,
    PriorityDecision,
    Tier,
)
from empathy_bridge_salesforce.adapter import SalesforceAdapter, save_results
from empathy_bridge_salesforce.sandbox import SalesforceSandbox

CUSTOM = ("Sentiment__c", "Emotional_State__c", "Emotional_Intensity__c", "Empathy_Tier__c")


def context(tier: Tier = Tier.UPSET) -> EmotionalContext:
    return EmotionalContext(sentiment=-0.6, state=EmotionalState.FRUSTRATION, intensity=0.7,
                            tier=tier, analyzer="test")


def conversation(case_id: str, native_priority: str | None) -> Conversation:
    message = Interaction(source="sf", native_id=f"{case_id}-m", conversation_id=case_id,
                          text="This is the third time I'm asking!!!",
                          created_at=datetime(2026, 11, 27, tzinfo=UTC),
                          native_priority=native_priority)
    return Conversation(source="sf", conversation_id=case_id, interactions=(message,))


def test_450_cases_take_three_patch_calls_and_a_second_cycle_writes_nothing(
        sf_sandboxes: Any, make_sf_bridge: Any) -> None:
    sandbox = sf_sandboxes(records=450)
    bridge = make_sf_bridge(sandbox)
    first = bridge.sync("sf")
    assert first.status == "ok", first.detail
    assert first.written == 450
    assert first.write_calls == 3
    assert first.api_calls["PATCH /composite/sobjects"] == 3
    for case_id in sandbox.case_ids():
        record = sandbox.record("Case", case_id)
        assert record is not None and all(record[name] is not None for name in CUSTOM)
    second = bridge.sync("sf")
    assert second.status == "ok", second.detail
    assert (second.written, second.write_calls, second.analyzed, second.planned) == (0, 0, 0, 0)
    assert "PATCH /composite/sobjects" not in second.api_calls
    assert sandbox.stats()["records_written"] == 450


class _BadField:
    """Adds a write to a field the org does not have, for one case."""

    __name__ = "bad_field_plugin"

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id

    @hookimpl
    def empathy_bridge_plan_writeback(self, adapter: Any, conversation: Conversation,
                                      context: EmotionalContext, decisions: Decisions,
                                      config: Any) -> list[FieldUpdate]:
        if conversation.conversation_id != self.case_id:
            return []
        return [FieldUpdate(source=adapter.source_name, record_id=self.case_id,
                            field="No_Such_Field__c", value="x")]


def test_per_record_errors_become_dead_letters_with_the_salesforce_code(
        sf_sandbox: SalesforceSandbox, make_sf_bridge: Any) -> None:
    victim = sf_sandbox.case_ids()[3]
    bridge = make_sf_bridge(sf_sandbox, _BadField(victim))
    report = bridge.sync("sf")
    assert report.status == "ok", report.detail
    letters = [d for d in bridge.store.dead_letters("sf") if d.stage == "write"]
    assert [(d.native_id, d.error_code) for d in letters] == [(victim, "INVALID_FIELD")]
    assert "No_Such_Field__c" in (letters[0].error or "")
    assert report.written == 59  # every other case went through in the same call


def test_apply_maps_each_save_result(sf_sandbox: SalesforceSandbox, make_adapter: Any) -> None:
    adapter: SalesforceAdapter = make_adapter(sf_sandbox)
    good, deleted, bad_value = sf_sandbox.case_ids()[:3]
    sf_sandbox.delete_case(deleted)
    updates = [
        FieldUpdate(source="sf", record_id=good, field="Empathy_Tier__c", value="upset"),
        FieldUpdate(source="sf", record_id=good, field="Sentiment__c", value=-0.5),
        FieldUpdate(source="sf", record_id=deleted, field="Empathy_Tier__c", value="calm"),
        FieldUpdate(source="sf", record_id=bad_value, field="Empathy_Tier__c", value="livid"),
        FieldUpdate(source="sf", record_id="500000000000000", field="Priority", value="High"),
        FieldUpdate(source="sf", record_id=good, field="Tags", value=["x"], op="add_tags"),
    ]
    results = {r.record_id: r for r in adapter.apply(updates)}
    assert len(results) == 4
    assert results[good].success is False and results[good].error_code == "UNSUPPORTED_OPERATION"
    assert results[deleted].error_code == "ENTITY_IS_DELETED"
    assert results[bad_value].error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert results["500000000000000"].error_code == "INVALID_CROSS_REFERENCE_KEY"
    ok = adapter.apply(updates[:2])
    assert [(r.record_id, r.success) for r in ok] == [(good, True)]
    assert adapter.read_fields([good], ["Empathy_Tier__c", "Sentiment__c"]) == {
        (good, "Empathy_Tier__c"): "upset", (good, "Sentiment__c"): -0.5}


def test_malformed_save_results_fail_clearly() -> None:
    records = [{"id": "500A"}, {"id": "500B"}]
    for answer in (None, {"oops": 1}, [{"success": True}]):
        results = save_results(records, answer)
        assert [r.error_code for r in results] == ["MALFORMED_SAVE_RESULT"] * 2
        assert "malformed SaveResult" in (results[0].error or "")
    mixed = save_results(records, [{"id": "500A", "success": True, "errors": []},
                                   {"success": "yes"}])
    assert [(r.success, r.error_code) for r in mixed] == [(True, None),
                                                          (False, "MALFORMED_SAVE_RESULT")]
    coded = save_results(records[:1], [{"success": False, "errors": [
        {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access",
         "fields": []}]}])
    assert coded[0].error_code == "UNABLE_TO_LOCK_ROW" and coded[0].retriable


@pytest.mark.parametrize(("native", "decided", "expected"), [
    ("Low", Priority.HIGH, "High"),
    ("Medium", Priority.URGENT, "High"),
    ("High", Priority.NORMAL, None),     # never lowered
    ("High", Priority.URGENT, None),     # urgent maps onto High: nothing to raise
    ("Critical", Priority.HIGH, None),   # an org value we cannot rank is left alone
    (None, Priority.NORMAL, "Medium"),
])
def test_priority_is_raised_never_lowered(sf_sandbox: SalesforceSandbox, make_adapter: Any,
                                          native: str | None, decided: Priority,
                                          expected: str | None) -> None:
    adapter = make_adapter(sf_sandbox)
    case_id = sf_sandbox.case_ids()[0]
    decision = PriorityDecision(priority=decided, tier=Tier.UPSET, reason="test")
    updates = adapter.plan_writeback(conversation(case_id, native), context(),
                                     Decisions(priority=decision))
    planned = {u.field: u.value for u in updates}
    assert planned.get("Priority") == expected
    assert set(CUSTOM) <= set(planned)


def test_priority_map_is_configurable(sf_sandbox: SalesforceSandbox, make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandbox, priority_order=["Low", "Medium", "High", "Critical"],
                           priority_map={"low": "Low", "normal": "Medium", "high": "High",
                                         "urgent": "Critical"})
    decision = PriorityDecision(priority=Priority.URGENT, tier=Tier.CRITICAL, reason="test")
    updates = adapter.plan_writeback(conversation(sf_sandbox.case_ids()[0], "High"),
                                     context(Tier.CRITICAL), Decisions(priority=decision))
    assert {u.field: u.value for u in updates}["Priority"] == "Critical"
    with pytest.raises(ValueError, match="priority_order"):
        make_adapter(sf_sandbox, priority_map={"urgent": "Critical"})


def test_create_case_is_idempotent(sf_sandbox: SalesforceSandbox, make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandbox)
    post = Interaction(source="x", native_id="1850000000000000001", conversation_id="185",
                       text="@acme your app lost all my photos. I'm devastated.",
                       created_at=datetime(2026, 11, 27, tzinfo=UTC),
                       author=Party(source="x", id="42", name="Dana"))
    first = adapter.create_case(post, context(Tier.DISTRESSED), "Distressed post on X",
                                "x:1850000000000000001")
    again = adapter.create_case(post, context(Tier.DISTRESSED), "Distressed post on X",
                                "x:1850000000000000001")
    assert first == again
    assert sf_sandbox.stats()["records_created"] == 1
    record = sf_sandbox.record("Case", first)
    assert record is not None
    assert record["Empathy_External_Id__c"] == "x:1850000000000000001"
    assert record["Emotional_State__c"] == "frustration" and record["Priority"] == "High"
    assert record["SuppliedName"] == "Dana"


def test_create_case_without_the_external_id_field(sf_sandboxes: Any,
                                                   make_adapter: Any) -> None:
    sandbox = sf_sandboxes(fields_missing=True)
    adapter = make_adapter(sandbox)
    post = Interaction(source="x", native_id="9", conversation_id="9", text="help",
                       created_at=datetime(2026, 11, 27, tzinfo=UTC))
    with pytest.raises(ConfigError, match="Empathy_External_Id__c"):
        adapter.create_case(post, context(), "subject", "x:9")


def test_fields_check_explains_what_is_missing(sf_sandboxes: Any, make_adapter: Any) -> None:
    complete = make_adapter(sf_sandboxes()).check_fields()
    assert all(c.exists and c.compatible for c in complete), complete
    assert {c.native_id for c in complete} == {*CUSTOM, "Empathy_External_Id__c", "Priority"}
    bare = make_adapter(sf_sandboxes(fields_missing=True)).check_fields()
    missing = {c.native_id: c for c in bare if not c.exists}
    assert set(missing) == {*CUSTOM, "Empathy_External_Id__c"}
    assert "does not exist on Case" in missing["Sentiment__c"].detail
    assert "Object Manager" in missing["Sentiment__c"].detail


def test_org_without_custom_fields_still_gets_priority(sf_sandboxes: Any,
                                                       make_sf_bridge: Any) -> None:
    sandbox = sf_sandboxes(fields_missing=["Sentiment__c", "Emotional_Intensity__c"])
    bridge = make_sf_bridge(sandbox)
    report = bridge.sync("sf")
    assert report.status == "ok", report.detail
    assert report.dead_letters == 0
    assert report.written > 0
    written = [sandbox.record("Case", cid) for cid in sandbox.case_ids()]
    assert all(r is not None and r["Empathy_Tier__c"] for r in written)


def _metric(name: str, value: float, team: str | None = None) -> EmpathyMetric:
    return EmpathyMetric(name=name, value=value, n=12,
                         period_start=datetime(2026, 11, 1, tzinfo=UTC),
                         period_end=datetime(2026, 11, 8, tzinfo=UTC),
                         dimension="team" if team else None, dimension_value=team,
                         definition="share of customer messages answered with empathy")


def test_push_metrics_upserts_by_external_id(sf_sandbox: SalesforceSandbox,
                                            make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandbox)
    metrics = [_metric("empathy_rate", 0.5), _metric("empathy_rate", 0.7, "billing")]
    assert adapter.push_metrics(metrics, {"object": "Empathy_Metric__c",
                                          "external_id_field": "External_Id__c"}) == 2
    assert adapter.push_metrics([_metric("empathy_rate", 0.55)]) == 1  # a rerun updates
    rows = list(sf_sandbox.org.tables["Empathy_Metric__c"].values())
    assert len(rows) == 2
    overall = next(r for r in rows if r["Dimension__c"] is None)
    assert overall["Value__c"] == 0.55 and overall["Period_End__c"] == datetime(
        2026, 11, 8, tzinfo=UTC)
    with pytest.raises(ConfigError, match="unknown key"):
        adapter.push_metrics(metrics, {"objekt": "X__c"})


def test_push_metrics_without_the_custom_object(sf_sandboxes: Any, make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandboxes(metric_object=False))
    with pytest.raises(ConfigError, match="Empathy_Metric__c"):
        adapter.push_metrics([_metric("empathy_rate", 0.5)])
