"""Write-back: batching through update_many, job polling, per-ticket failures, priority rule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from empathy_bridge.adapter import Decisions
from empathy_bridge.schemas import (
    EmotionalContext,
    EmotionalState,
    FieldUpdate,
    Priority,
    PriorityDecision,
    Tier,
)
from empathy_bridge_zendesk.adapter import ZendeskAdapter
from empathy_bridge_zendesk.sandbox import SANDBOX_FIELD_IDS, ZendeskSandbox
from empathy_bridge_zendesk.writeback import build_changes, plan_ticket

UPDATE_MANY = "PUT /api/v2/tickets/update_many.json"
JOB_POLL = "GET /api/v2/job_statuses/<job_id>.json"


def _context(state: EmotionalState = EmotionalState.FRUSTRATION, tier: Tier = Tier.UPSET
             ) -> EmotionalContext:
    return EmotionalContext(sentiment=-0.61234, state=state, intensity=0.7321, tier=tier,
                            analyzer="test")


def _decision(priority: Priority, tier: Tier = Tier.UPSET) -> Decisions:
    return Decisions(priority=PriorityDecision(priority=priority, tier=tier, reason="test",
                                               due_at=datetime.now(UTC)))


def _plan(ticket: str, **kwargs: object) -> list[FieldUpdate]:
    args: dict[str, object] = {
        "source": "zendesk", "ticket_id": ticket, "context": _context(),
        "decisions": _decision(Priority.HIGH), "field_ids": SANDBOX_FIELD_IDS,
        "tag_prefix": "eb_", "native_priority": None, "native_tags": (),
        "write_priority": True, **kwargs}
    return plan_ticket(**args)  # type: ignore[arg-type]


def test_plan_maps_fields_tags_and_priority() -> None:
    updates = {u.field: u for u in _plan("5", native_tags=("vip", "eb_state_neutral",
                                                           "eb_tier_calm"))}
    assert updates[f"custom_fields.{SANDBOX_FIELD_IDS['sentiment']}"].value == -0.612
    assert updates[f"custom_fields.{SANDBOX_FIELD_IDS['state']}"].value == "frustration"
    assert updates[f"custom_fields.{SANDBOX_FIELD_IDS['tier']}"].value == "upset"
    assert updates["tags.add"].value == ["eb_state_frustration", "eb_tier_upset"]
    assert updates["tags.remove"].value == ["eb_state_neutral", "eb_tier_calm"]
    assert updates["priority"].value == "high"


def test_priority_is_never_lowered_below_a_human_setting() -> None:
    for native, expected in [(None, "high"), ("low", "high"), ("normal", "high"),
                             ("high", None), ("urgent", None)]:
        fields = {u.field: u.value for u in _plan("5", native_priority=native)}
        assert fields.get("priority") == expected, native


def test_adapter_compares_with_the_tickets_current_priority(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]) -> None:
    sandbox.set_priority(14, "urgent")  # a human raised it before our pull
    adapter = make_adapter(sandbox)
    conversations = {}
    for batch in adapter.fetch(None):
        for i in batch.interactions:
            conversations.setdefault(i.conversation_id, []).append(i)
    from empathy_bridge.schemas import Conversation

    convo = Conversation(source="zendesk", conversation_id="14",
                         interactions=tuple(conversations["14"]))
    planned = adapter.plan_writeback(convo, _context(), _decision(Priority.HIGH))
    assert "priority" not in {u.field for u in planned}


def test_250_tickets_take_3_update_many_calls_and_3_polls(
        start_sandbox: Callable[..., ZendeskSandbox],
        make_adapter: Callable[..., ZendeskAdapter]) -> None:
    sandbox = start_sandbox(records=260)
    adapter = make_adapter(sandbox)
    live = [t for t in range(1, 261) if sandbox.data.tickets[t]["status"] != "deleted"][:250]
    updates = [u for t in live for u in _plan(str(t))]
    results = adapter.apply(updates)
    assert len(results) == 250 and all(r.success for r in results)
    calls = sandbox.stats()["requests"]
    assert calls[UPDATE_MANY] == 3 and calls[JOB_POLL] == 3
    state = sandbox.ticket_state(live[-1])
    assert state is not None
    assert state["custom_field_values"][str(SANDBOX_FIELD_IDS["state"])] == "frustration"
    assert {"eb_state_frustration", "eb_tier_upset"} <= set(state["tags"])
    assert state["priority"] in ("high", "urgent")


def test_job_polled_until_completed(start_sandbox: Callable[..., ZendeskSandbox],
                                    make_adapter: Callable[..., ZendeskAdapter]) -> None:
    sandbox = start_sandbox(job_polls_until_done=3)
    adapter = make_adapter(sandbox)
    waits: list[float] = []
    adapter.sleep = waits.append
    assert all(r.success for r in adapter.apply(_plan("1")))
    assert sandbox.stats()["requests"][JOB_POLL] == 4
    assert len(waits) == 3 and waits == sorted(waits)


def test_per_ticket_failures_become_failed_results(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]) -> None:
    adapter = make_adapter(sandbox)
    bad_field = FieldUpdate(source="zendesk", record_id="4", field="custom_fields.424242",
                            value="x")
    updates = [*_plan("1"), *_plan("999999"), bad_field, *_plan("7"),
               FieldUpdate(source="zendesk", record_id="abc", field="priority", value="high")]
    results = {r.record_id: r for r in adapter.apply(updates)}
    assert results["1"].success
    assert not results["999999"].success and results["999999"].error_code == "RecordNotFound"
    assert not results["7"].success and results["7"].error_code == "RecordNotFound"  # deleted
    assert not results["4"].success and results["4"].error_code == "InvalidValue"
    assert "424242" in (results["4"].error or "")
    assert not results["abc"].success and results["abc"].error_code == "InvalidRecord"
    assert sandbox.stats()["requests"][UPDATE_MANY] == 1


def test_unsupported_field_key_is_rejected_before_sending() -> None:
    changes, rejected = build_changes([FieldUpdate(source="zendesk", record_id="3",
                                                   field="status", value="solved")])
    assert not changes and rejected["3"].error_code == "UnsupportedField"


def test_create_case_is_idempotent_by_external_id(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]) -> None:
    from empathy_bridge.schemas import Interaction, Party

    post = Interaction(source="x", native_id="tw-1", conversation_id="tw-1",
                       channel="social", kind="post", created_at=datetime.now(UTC),
                       author=Party(source="x", id="42", handle="@angry_dan"),
                       text="Your app ate my files. Third time this month. Unacceptable.")
    adapter = make_adapter(sandbox)
    context = _context(tier=Tier.DISTRESSED)
    first = adapter.create_case(post, context, "[social] files lost", "eb-social-post-x-tw-1")
    again = make_adapter(sandbox).create_case(post, context, "[social] files lost",
                                              "eb-social-post-x-tw-1")
    assert first == again
    state = sandbox.ticket_state(int(first))
    assert state is not None
    assert state["external_id"] == "eb-social-post-x-tw-1" and state["priority"] == "high"
    assert {"eb_state_frustration", "eb_tier_distressed"} <= set(state["tags"])
    assert state["custom_field_values"][str(SANDBOX_FIELD_IDS["state"])] == "frustration"
    calls = sandbox.stats()["requests"]
    assert calls["POST /api/v2/tickets.json"] == 1 and calls["GET /api/v2/tickets.json"] == 2


def test_read_fields_reports_what_zendesk_holds(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]) -> None:
    adapter = make_adapter(sandbox)
    adapter.apply(_plan("1"))
    state_key = f"custom_fields.{SANDBOX_FIELD_IDS['state']}"
    held = adapter.read_fields(["1", "999999"], [state_key, "tags.add", "priority"])
    assert held is not None
    assert held[("1", state_key)] == "frustration"
    assert "eb_tier_upset" in held[("1", "tags.add")]
    assert held[("1", "priority")] in ("high", "urgent")
    assert not [k for k in held if k[0] == "999999"]
