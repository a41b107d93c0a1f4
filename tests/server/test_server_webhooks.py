"""Webhooks: verified, queued durably, processed through the engine's outbox, never twice."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from empathy_bridge import signatures as sig
from empathy_bridge.defaults.example_source import ExampleDesk
from empathy_bridge.engine import Bridge
from empathy_bridge.server.queue import EventQueue

ZS = "zendesk-signing-secret"
XS = "x-consumer-secret"
SS = "salesforce-shared-secret"


def _now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_post(client: TestClient, payload: Any, *, ts: str | None = None,
                 secret: str = ZS, body: bytes | None = None) -> Any:
    raw = body if body is not None else json.dumps(payload).encode()
    stamp = ts or _now_iso()
    headers = {"X-Zendesk-Webhook-Signature": sig.zendesk_signature(secret, stamp, raw),
               "X-Zendesk-Webhook-Signature-Timestamp": stamp,
               "Content-Type": "application/json"}
    return client.post("/webhooks/zendesk", content=raw, headers=headers)


def trigger_body(comment_id: str = "900", text: str = "This is the third time I ask, "
                 "I am furious and will cancel!!!") -> dict[str, Any]:
    return {"ticket": {"id": "1", "requester_id": "customer-1", "priority": "normal",
                       "status": "open"},
            "comment": {"id": comment_id, "body": text, "author_id": "customer-1",
                        "public": True}}


def worker_step(app: FastAPI) -> Any:
    return app.state.empathy_bridge.worker.step()


def test_zendesk_webhook_is_queued_then_processed_into_the_outbox(
        client: TestClient, app: FastAPI, bridge: Bridge) -> None:
    response = zendesk_post(client, trigger_body())
    assert response.status_code == 202, response.text
    event_id = response.json()["event_id"]
    queue = EventQueue.open(bridge)
    # Answered as soon as it is durably queued: nothing processed yet.
    assert queue.get(event_id)["status"] == "pending"  # type: ignore[index]
    assert bridge.store.count("analyses") == 0

    result = worker_step(app)
    assert result.processed == 1
    assert queue.get(event_id)["status"] == "done"  # type: ignore[index]
    stored = bridge.store.get_interaction("900", "desk_a")
    assert stored is not None and stored[1] is not None
    assert stored[0].conversation_id == "1" and stored[1].state.value == "frustration"
    # Written back through the outbox: the desk's ticket carries the fields, the outbox is empty.
    desk = bridge.adapter("desk_a").desk  # type: ignore[attr-defined]
    assert desk.tickets["1"]["fields"]["state"] == "frustration"
    assert bridge.store.pending_count("desk_a") == 0
    assert bridge.store.ledger_values("desk_a", ["1"])


def test_webhook_and_later_poll_of_the_same_change_write_once(
        client: TestClient, app: FastAPI, bridge: Bridge) -> None:
    assert bridge.sync("desk_a").status == "ok"  # baseline: every ticket analysed and written
    desk: ExampleDesk = bridge.adapter("desk_a").desk  # type: ignore[attr-defined]
    ticket = desk.tickets["1"]
    new = {"id": "1-new", "author": ticket["requester"], "role": "customer",
           "body": "Still broken. I am done waiting, cancel my account now!",
           "at": datetime(2026, 11, 2, tzinfo=UTC).isoformat()}
    desk.add_ticket("1", [*ticket["comments"], new], priority=ticket["priority"])
    event = {"interactions": [{
        "native_id": "1-new", "conversation_id": "1", "channel": "web", "kind": "comment",
        "author": {"source": "desk_a", "id": new["author"], "role": "customer"},
        "author_role": "customer", "text": new["body"], "created_at": new["at"]}]}
    assert zendesk_post(client, event).status_code == 202
    calls = dict(desk.calls)
    assert worker_step(app).processed == 1
    writes_after_webhook = desk.calls.get("PUT /tickets/update_many", 0)
    assert writes_after_webhook > calls.get("PUT /tickets/update_many", 0)

    report = bridge.sync("desk_a")  # the poller sees the same change later
    assert report.status == "ok" and report.pulled > 0
    assert report.analyzed == 0 and report.planned == 0
    assert desk.calls.get("PUT /tickets/update_many", 0) == writes_after_webhook


def test_tampered_body_is_refused(client: TestClient, bridge: Bridge) -> None:
    raw = json.dumps(trigger_body()).encode()
    stamp = _now_iso()
    headers = {"X-Zendesk-Webhook-Signature": sig.zendesk_signature(ZS, stamp, raw),
               "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    response = client.post("/webhooks/zendesk", content=raw.replace(b"furious", b"fine!!!"),
                           headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/signature")
    assert EventQueue.open(bridge).counts() == {}


def test_wrong_secret_and_missing_headers_are_refused(client: TestClient) -> None:
    assert zendesk_post(client, trigger_body(), secret="not-the-secret").status_code == 401
    response = client.post("/webhooks/zendesk", json=trigger_body())
    assert response.status_code == 401
    assert "X-Zendesk-Webhook-Signature" in response.json()["detail"]


def test_stale_and_future_timestamps_are_refused(client: TestClient) -> None:
    old = zendesk_post(client, trigger_body(), ts=_now_iso(-timedelta(minutes=10)))
    assert old.status_code == 401 and old.json()["type"].endswith("/stale-timestamp")
    future = zendesk_post(client, trigger_body(), ts=_now_iso(timedelta(minutes=10)))
    assert future.status_code == 401 and future.json()["type"].endswith("/stale-timestamp")


def test_replayed_delivery_is_refused_and_queued_once(client: TestClient,
                                                      bridge: Bridge) -> None:
    raw = json.dumps(trigger_body()).encode()
    stamp = _now_iso()
    headers = {"X-Zendesk-Webhook-Signature": sig.zendesk_signature(ZS, stamp, raw),
               "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    assert client.post("/webhooks/zendesk", content=raw, headers=headers).status_code == 202
    again = client.post("/webhooks/zendesk", content=raw, headers=headers)
    assert again.status_code == 409 and again.json()["type"].endswith("/replay")
    assert EventQueue.open(bridge).counts() == {"pending": 1}


def test_bad_and_unreadable_bodies(client: TestClient) -> None:
    assert zendesk_post(client, None, body=b"not json").status_code == 400
    unreadable = zendesk_post(client, {"ticket": {"id": 1}})
    assert unreadable.status_code == 422
    assert "comment" in unreadable.json()["detail"]


def test_zendesk_event_subscription_shape(client: TestClient, app: FastAPI,
                                          bridge: Bridge) -> None:
    event = {"type": "zen:event-type:ticket.comment_added", "time": _now_iso(),
             "detail": {"id": "2", "requester_id": "77", "priority": "LOW"},
             "event": {"comment": {"id": "5001", "body": "Where is my order? I'm worried.",
                                   "is_public": True,
                                   "author": {"id": "77", "is_staff": False}}}}
    assert zendesk_post(client, event).status_code == 202
    assert worker_step(app).processed == 1
    stored = bridge.store.get_interaction("5001", "desk_a")
    assert stored is not None
    assert stored[0].author_role.value == "customer" and stored[0].native_priority == "low"


def test_x_crc_challenge_and_signed_delivery(client: TestClient, app: FastAPI,
                                             bridge: Bridge) -> None:
    crc = client.get("/webhooks/x", params={"crc_token": "challenge-token-123"})
    assert crc.status_code == 200
    assert crc.json() == {"response_token": "sha256=CmBvj7AGUxwzCxYJc7XUiLou4CfyXRizZIqjBwI+0Po="}
    delivery = {"for_user_id": "4242", "tweet_create_events": [{
        "id_str": "1850000000000000001", "text": "@acme my card was charged twice, help!!",
        "created_at": "Wed Nov 25 10:00:00 +0000 2026",
        "user": {"id_str": "31337", "screen_name": "pat", "followers_count": 12000}}]}
    raw = json.dumps(delivery).encode()
    response = client.post("/webhooks/x", content=raw,
                           headers={"x-twitter-webhooks-signature": sig.x_signature(XS, raw)})
    assert response.status_code == 202, response.text
    replay = client.post("/webhooks/x", content=raw,
                         headers={"x-twitter-webhooks-signature": sig.x_signature(XS, raw)})
    assert replay.status_code == 409
    bad = client.post("/webhooks/x", content=raw + b" ",
                      headers={"x-twitter-webhooks-signature": sig.x_signature(XS, raw)})
    assert bad.status_code == 401
    assert worker_step(app).processed == 1
    stored = bridge.store.get_interaction("1850000000000000001", "desk_a")
    assert stored is not None and stored[0].author is not None
    assert stored[0].author.followers == 12000 and stored[0].channel == "social"


def test_salesforce_callout_goes_to_its_own_source(client: TestClient, app: FastAPI,
                                                   bridge: Bridge) -> None:
    body = {"case": {"Id": "500A", "ContactId": "003X", "Priority": "Medium",
                     "Origin": "Email", "Status": "New"},
            "message": {"Id": "02sB", "TextBody": "I am very disappointed with the service.",
                        "Incoming": True, "MessageDate": _now_iso()}}
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    headers = {"X-EmpathyBridge-Signature": sig.salesforce_signature(SS, stamp, raw),
               "X-EmpathyBridge-Timestamp": stamp}
    response = client.post("/webhooks/salesforce", content=raw, headers=headers)
    assert response.status_code == 202 and response.json()["source"] == "desk_b"
    stale = str(int(time.time()) - 3600)
    headers = {"X-EmpathyBridge-Signature": sig.salesforce_signature(SS, stale, raw),
               "X-EmpathyBridge-Timestamp": stale}
    assert client.post("/webhooks/salesforce", content=raw, headers=headers).status_code == 401
    assert worker_step(app).processed == 1
    stored = bridge.store.get_interaction("02sB", "desk_b")
    assert stored is not None and stored[0].native_priority == "normal"


def test_missing_secret_is_a_clear_503(tmp_path: Any, config_factory: Any) -> None:
    from empathy_bridge.server.app import create_app

    bridge = Bridge.from_config(config_factory(tmp_path),
                                environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"})
    try:
        with TestClient(create_app(bridge, start_worker=False)) as client:
            response = zendesk_post(client, trigger_body())
        assert response.status_code == 503
        assert "ZENDESK_WEBHOOK_SECRET" in response.json()["detail"]
        assert ZS not in response.text
    finally:
        bridge.close()


def test_event_that_fails_later_becomes_a_dead_letter(client: TestClient, app: FastAPI,
                                                      bridge: Bridge) -> None:
    # Queued while readable, then its source disappears from the config before processing.
    assert zendesk_post(client, trigger_body()).status_code == 202
    bridge.source_configs.pop("desk_a")
    result = worker_step(app)
    assert result.failed == 1
    letters = bridge.store.dead_letters("desk_a")
    assert letters and letters[0].stage == "webhook"
    assert "no longer configured" in letters[0].error


def test_prune_drops_expired_replay_entries_and_old_processed_events(bridge: Bridge) -> None:
    from empathy_bridge.server.queue import ReplayError

    queue = EventQueue.open(bridge)
    past = datetime.now(UTC) - timedelta(seconds=1)
    kept = queue.enqueue(platform="x", source="desk_a", tenant="acme", payload="{}",
                         replay_key="fresh", replay_until=datetime.now(UTC) + timedelta(hours=1))
    done = queue.enqueue(platform="x", source="desk_a", tenant="acme", payload="{}",
                         replay_key="expired", replay_until=past)
    queue.settle_many([done], "done")
    assert queue.prune(keep_done=timedelta(0)) == 2  # one replay entry, one processed event
    assert queue.get(kept) is not None and queue.get(done) is None
    with pytest.raises(ReplayError):
        queue.enqueue(platform="x", source="desk_a", tenant="acme", payload="{}",
                      replay_key="fresh", replay_until=past)
    # The expired entry is gone: the same key is accepted again (its timestamp check is
    # what refuses an old delivery by then).
    queue.enqueue(platform="x", source="desk_a", tenant="acme", payload="{}",
                  replay_key="expired", replay_until=past)


def test_event_retried_then_given_up_when_processing_keeps_failing(
        tmp_path: Any, config_factory: Any, environ: dict[str, str]) -> None:
    from empathy_bridge.server.app import create_app
    from empathy_bridge.server.worker import MAX_ATTEMPTS

    class Broken:
        """An analyzer that fails every batch (the engine raises PluginError for None)."""

        from empathy_bridge.hookspecs import hookimpl

        @hookimpl(tryfirst=True)
        def empathy_bridge_analyze(self, interactions: Any) -> Any:
            return []  # wrong length: a PluginError for the whole batch

    bridge = Bridge.from_config(config_factory(tmp_path), environ=environ, plugins=[Broken()])
    try:
        app = create_app(bridge, start_worker=False)
        with TestClient(app) as client:
            assert zendesk_post(client, trigger_body()).status_code == 202
        worker = app.state.empathy_bridge.worker
        for _ in range(MAX_ATTEMPTS - 1):
            assert worker.step().retried == 1
        assert worker.step().failed == 1
        assert EventQueue.open(bridge).counts() == {"failed": 1}
        [letter] = bridge.store.dead_letters("desk_a")
        assert letter.stage == "webhook" and "gave up after" in letter.error
    finally:
        bridge.close()
