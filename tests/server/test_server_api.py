"""The /v1 API through the ASGI test client: analysis, decisions, auth, limits, problem+json."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from empathy_bridge.engine import Bridge
from empathy_bridge.server.keys import ApiKeys


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def message(native_id: str, text: str, role: str = "customer", minute: int = 0) -> dict[str, Any]:
    return {"source": "chatbot", "native_id": native_id, "conversation_id": "conv-1",
            "author_role": role, "text": text, "channel": "chat",
            "created_at": f"2026-11-27T10:{minute:02d}:00Z"}


def is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"].startswith("https://empathy-bridge.dev/")
    assert body["title"] and body["detail"]
    return body  # type: ignore[no-any-return]


def test_analyze_one_text_and_a_batch(client: TestClient, acme_key: str) -> None:
    one = client.post("/v1/analyze", json={"text": "This is ridiculous, third time I'm asking!!!"},
                      headers=auth(acme_key))
    assert one.status_code == 200
    [context] = one.json()["contexts"]
    assert context["state"] == "frustration" and context["sentiment"] < 0
    batch = client.post("/v1/analyze", headers=auth(acme_key), json={
        "texts": ["Thank you so much, it works now!", "Where is the export button?"]})
    states = [c["state"] for c in batch.json()["contexts"]]
    assert states[0] == "satisfaction" and len(states) == 2


def test_validation_errors_are_problem_json(client: TestClient, acme_key: str) -> None:
    body = is_problem(client.post("/v1/analyze", json={"txt": "hi"}, headers=auth(acme_key)), 422)
    assert body["errors"][0]["loc"] == ["body", "txt"]
    body = is_problem(client.post("/v1/analyze", json={"text": "a", "texts": ["b"]},
                                  headers=auth(acme_key)), 422)
    assert "exactly one" in body["detail"]
    is_problem(client.post("/v1/analyze", content=b"{not json", headers={
        **auth(acme_key), "Content-Type": "application/json"}), 422)
    is_problem(client.get("/v1/nothing-here", headers=auth(acme_key)), 404)
    is_problem(client.delete("/v1/analyze", headers=auth(acme_key)), 405)


def test_batch_and_body_size_limits(tmp_path: Any, config_factory: Any,
                                    environ: dict[str, str]) -> None:
    from empathy_bridge.server.app import create_app

    bridge = Bridge.from_config(config_factory(tmp_path, max_batch=2, max_body_bytes=2048),
                                environ=environ)
    token = ApiKeys(bridge.store).create("acme").token
    try:
        with TestClient(create_app(bridge, start_worker=False)) as client:
            body = is_problem(client.post("/v1/analyze", json={"texts": ["a", "b", "c"]},
                                          headers=auth(token)), 413)
            assert "max_batch" in body["detail"]
            body = is_problem(client.post("/v1/analyze", json={"text": "x" * 5000},
                                          headers=auth(token)), 413)
            assert "2048" in body["detail"]

            def chunks() -> Any:  # no Content-Length: the limit applies while streaming
                for _ in range(10):
                    yield b" " * 1000

            is_problem(client.post("/v1/analyze", content=chunks(), headers={
                **auth(token), "Content-Type": "application/json"}), 413)
    finally:
        bridge.close()


def test_keys_are_required_and_revocation_takes_effect(client: TestClient, bridge: Bridge,
                                                       acme_key: str) -> None:
    is_problem(client.post("/v1/analyze", json={"text": "hi"}), 401)
    is_problem(client.post("/v1/analyze", json={"text": "hi"}, headers=auth("eb_nope_nope")), 401)
    tampered = acme_key[:-3] + ("aaa" if not acme_key.endswith("aaa") else "bbb")
    is_problem(client.post("/v1/analyze", json={"text": "hi"}, headers=auth(tampered)), 401)
    assert client.post("/v1/analyze", json={"text": "hi"},
                       headers={"X-API-Key": acme_key}).status_code == 200
    key_id = acme_key.split("_")[1]
    assert ApiKeys(bridge.store).revoke(key_id, "acme")
    response = client.post("/v1/analyze", json={"text": "hi"}, headers=auth(acme_key))
    assert is_problem(response, 401)["detail"] == "the API key is unknown or revoked"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_keys_are_stored_hashed(bridge: Bridge, acme_key: str) -> None:
    from sqlalchemy import select

    from empathy_bridge.server.tables import api_keys

    with bridge.store.engine.connect() as conn:
        rows = conn.execute(select(api_keys)).mappings().all()
    secret = acme_key.split("_", 2)[2]
    assert rows and all(secret not in str(dict(r)) for r in rows)


def test_decide_a_conversation_with_handoff_packet(client: TestClient, acme_key: str) -> None:
    conversation = {"source": "chatbot", "conversation_id": "conv-1", "interactions": [
        message("m1", "My package never arrived.", minute=0),
        message("m2", "Sorry to hear that! Here is our shipping FAQ.", role="bot", minute=1),
        message("m3", "That doesn't help. Still nothing.", minute=2),
        message("m4", "Have you tried checking the tracking link?", role="bot", minute=3),
        message("m5", "This is useless!!! I want to talk to a human NOW or I cancel.", minute=4),
    ]}
    response = client.post("/v1/decide", json={"conversation": conversation},
                           headers=auth(acme_key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["interaction_id"] == "m5"
    assert body["priority"]["priority"] in ("high", "urgent") and body["priority"]["reason"]
    handoff = body["handoff"]
    assert handoff["handoff"] is True and handoff["reasons"]
    assert handoff["bot_attempts"], "the packet carries what the bot already said"


def test_decide_a_single_interaction_and_suggest(client: TestClient, acme_key: str) -> None:
    single = {"interaction": message("m1", "I'm worried, the charge went out twice.")}
    decided = client.post("/v1/decide", json=single, headers=auth(acme_key))
    assert decided.status_code == 200 and decided.json()["priority"] is not None
    suggested = client.post("/v1/suggest", json=single, headers=auth(acme_key))
    assert suggested.status_code == 200
    suggestions = suggested.json()["suggestions"]
    assert suggestions and all(s["text"] and s["template_id"] for s in suggestions)


def test_decide_needs_a_customer_message(client: TestClient, acme_key: str) -> None:
    only_agent = {"interaction": message("a1", "We fixed it.", role="agent")}
    body = is_problem(client.post("/v1/decide", json=only_agent, headers=auth(acme_key)), 422)
    assert body["type"].endswith("/no-customer-message")
    empty = {"conversation": {"source": "s", "conversation_id": "c", "interactions": []}}
    is_problem(client.post("/v1/decide", json=empty, headers=auth(acme_key)), 422)


def test_health_readiness_and_prometheus(client: TestClient, acme_key: str) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "detail": ""}
    assert client.get("/readyz").status_code == 200
    client.post("/v1/analyze", json={"text": "hi"}, headers=auth(acme_key))
    scrape = client.get("/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text
    assert ('empathy_bridge_http_requests_total{method="POST",route="/v1/analyze",'
            'status="200"} 1.0') in text
    assert 'empathy_bridge_http_request_seconds_bucket{le="0.05",method="POST",' in text
    assert 'empathy_bridge_outbox_pending{source="desk_a"}' in text
    assert 'empathy_bridge_dead_letters{source="desk_b"}' in text
    assert 'empathy_bridge_webhook_events{status="pending"} 0.0' in text


def test_readiness_fails_when_the_store_is_gone(client: TestClient, bridge: Bridge,
                                                tmp_path: Any) -> None:
    bridge.store.engine.dispose()
    (tmp_path / "store.db").unlink()
    (tmp_path / "store.db").mkdir()  # a directory where the database file was: unreachable
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
