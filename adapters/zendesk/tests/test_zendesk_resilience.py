"""Rate limits and injected faults: retries go through the shared RetryPolicy, nothing is lost
and nothing is written twice."""

from __future__ import annotations

import time
from collections.abc import Callable

from empathy_bridge.engine import Bridge
from empathy_bridge.retry import RetryPolicy
from empathy_bridge_zendesk.adapter import ZendeskAdapter
from empathy_bridge_zendesk.sandbox import SANDBOX_FIELD_IDS, ZendeskSandbox


def test_429_retry_after_is_honoured_by_the_retry_policy(
        start_sandbox: Callable[..., ZendeskSandbox],
        make_adapter: Callable[..., ZendeskAdapter]) -> None:
    # Two export calls per one-second window; the fetch needs several more.
    sandbox = start_sandbox(records=60, rate_limits=True, rate_window_seconds=1.0,
                            export_limit=2)
    adapter = make_adapter(sandbox, per_page=15, satisfaction_ratings=False)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    adapter.retry_policy = RetryPolicy(attempts=8, sleep=sleep)
    got = {i.native_id for b in adapter.fetch(None) for i in b.interactions}
    live = {str(c["id"]) for tid, cs in sandbox.data.comments.items()
            if sandbox.data.tickets[tid]["status"] != "deleted" for c in cs}
    assert got == live
    throttled = sandbox.stats()["throttled"]
    assert throttled > 0
    # Every 429 was waited out by our policy, at least the Retry-After the sandbox sent (>= 1 s),
    # and zenpy did not sleep on its own (each 429 maps to exactly one policy wait).
    assert len(waits) == throttled
    assert all(w >= 1.0 for w in waits)


def test_rate_limit_headers_reach_the_client(
        start_sandbox: Callable[..., ZendeskSandbox]) -> None:
    import requests

    sandbox = start_sandbox(rate_limits=True, plan="team")
    answer = requests.get(f"{sandbox.url}/api/v2/users/900.json",
                          auth=("a@b.c/token", "sandbox-token"), timeout=5)
    assert answer.headers["x-rate-limit"] == "200" and answer.headers["ratelimit-limit"] == "200"
    assert int(answer.headers["x-rate-limit-remaining"]) == 199
    assert int(answer.headers["ratelimit-reset"]) >= 1


def _run(sandbox: ZendeskSandbox, bridge_for: Callable[..., Bridge]) -> Bridge:
    # Small pages: enough requests that the seeded faults land on reads, writes and polls.
    bridge = bridge_for(sandbox, satisfaction_ratings=False, per_page=10)
    adapter = bridge.adapter("zendesk")
    assert isinstance(adapter, ZendeskAdapter)
    adapter.retry_policy = RetryPolicy(attempts=10, initial_wait=0.01, max_wait=0.05)
    report = bridge.sync("zendesk")
    assert report.status == "ok", report.detail
    return bridge


def test_5xx_latency_and_drops_end_with_every_ticket_enriched_exactly_once(
        start_sandbox: Callable[..., ZendeskSandbox], bridge_for: Callable[..., Bridge]) -> None:
    clean = start_sandbox(records=150, seed=21)
    faulty = start_sandbox(records=150, seed=21, error_rate=0.05, latency_ms=3,
                           drop_rate=0.02)
    _run(clean, bridge_for)
    bridge = _run(faulty, bridge_for)
    assert faulty.stats()["faults"], "no fault was injected; raise the rates"
    assert not bridge.store.dead_letters("zendesk")
    written = {t for t in clean.data.tickets if clean.update_counts[t]}
    assert written and written == {t for t in faulty.data.tickets if faulty.update_counts[t]}
    assert {faulty.update_counts[t] for t in written} == {1}
    state_field = str(SANDBOX_FIELD_IDS["state"])
    for ticket in written:
        a, b = clean.ticket_state(ticket), faulty.ticket_state(ticket)
        assert a is not None and b is not None
        assert a["custom_field_values"][state_field] == b["custom_field_values"][state_field]
        assert a["tags"] == b["tags"] and a["priority"] == b["priority"]


def test_faulty_write_path_still_updates_each_ticket_once(
        start_sandbox: Callable[..., ZendeskSandbox],
        make_adapter: Callable[..., ZendeskAdapter]) -> None:
    from empathy_bridge.schemas import FieldUpdate

    sandbox = start_sandbox(records=120, seed=3, error_rate=0.3, drop_rate=0.1)
    adapter = make_adapter(sandbox)
    adapter.retry_policy = RetryPolicy(attempts=15, initial_wait=0.01, max_wait=0.02)
    live = [t for t in range(1, 121) if sandbox.data.tickets[t]["status"] != "deleted"][:100]
    field = f"custom_fields.{SANDBOX_FIELD_IDS['tier']}"
    updates = [FieldUpdate(source="zendesk", record_id=str(t), field=field, value="upset")
               for t in live]
    # Ten small batches: twenty requests, so the seeded faults hit PUTs and polls alike.
    results = [r for n in range(0, 100, 10) for r in adapter.apply(updates[n:n + 10])]
    assert all(r.success for r in results) and len(results) == 100
    faults = sandbox.stats()["faults"]
    assert sum(faults.values()) > 0
    assert {sandbox.update_counts[t] for t in live} == {1}
