"""Tenant isolation: a key reads only its tenant's sources; keys managed by the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from empathy_bridge.engine import Bridge


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def synced(bridge: Bridge) -> Bridge:
    # Both desks share seed and customer ids: the same customer id exists in both tenants.
    assert bridge.sync("desk_a").status == "ok"
    assert bridge.sync("desk_b").status == "ok"
    return bridge


def _shared_customer(bridge: Bridge) -> str:
    a = {i.customer.id for i, _ in bridge.store.iter_interactions("desk_a") if i.customer}
    b = {i.customer.id for i, _ in bridge.store.iter_interactions("desk_b") if i.customer}
    shared = sorted(a & b)
    assert shared, "fixture must give both tenants a customer with the same id"
    return shared[0]


def test_history_is_scoped_to_the_keys_tenant(client: TestClient, synced: Bridge,
                                              acme_key: str, globex_key: str) -> None:
    customer = _shared_customer(synced)
    acme = client.get(f"/v1/customers/{customer}/history", headers=auth(acme_key)).json()
    globex = client.get(f"/v1/customers/{customer}/history", headers=auth(globex_key)).json()
    assert acme["count"] > 0 and globex["count"] > 0
    assert {t["source"] for t in acme["touchpoints"]} == {"desk_a"}
    assert {t["source"] for t in globex["touchpoints"]} == {"desk_b"}
    assert all(t["author_role"] == "customer" and t["tier"] for t in acme["touchpoints"])
    stamps = [t["created_at"] for t in acme["touchpoints"]]
    assert stamps == sorted(stamps)


def test_a_tenant_without_sources_reads_nothing(client: TestClient, synced: Bridge) -> None:
    from empathy_bridge.server.keys import ApiKeys

    token = ApiKeys(synced.store).create("initech").token
    customer = _shared_customer(synced)
    body = client.get(f"/v1/customers/{customer}/history", headers=auth(token)).json()
    assert body == {"customer_id": customer, "count": 0, "touchpoints": []}


def test_metrics_are_scoped_to_the_keys_tenant(client: TestClient, synced: Bridge,
                                               acme_key: str) -> None:
    try:
        from empathy_bridge.metrics import refresh
    except ImportError:
        response = client.get("/v1/metrics", headers=auth(acme_key))
        assert response.status_code == 501
        assert response.headers["content-type"] == "application/problem+json"
        return
    refresh(synced.store)
    response = client.get("/v1/metrics", headers=auth(acme_key))
    assert response.status_code == 200, response.text
    metrics = response.json()["metrics"]
    assert metrics, "the synced desk yields metrics"
    assert {m["dimension_value"] for m in metrics} == {"desk_a"}


def _write_config(tmp_path: Path, config: dict[str, Any]) -> Path:
    lines = [f'[store]\nurl = "{config["store"]["url"]}"\n']
    for name, table in config["sources"].items():
        lines.append(f"[sources.{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    path = tmp_path / "eb.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_keys_cli_create_list_revoke(tmp_path: Path, config_factory: Any,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from empathy_bridge.cli import _register_commands, cli
    from empathy_bridge.server.keys import ApiKeys

    monkeypatch.setenv("EMPATHY_BRIDGE_NO_AUTOLOAD", "1")
    _register_commands()
    path = _write_config(tmp_path, config_factory(tmp_path))
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "--config", str(path), "--tenant", "acme",
                                  "--name", "crm", "--json"])
    assert created.exit_code == 0, created.output
    made = json.loads(created.output)
    assert made["key"].startswith("eb_") and made["tenant"] == "acme"

    listed = runner.invoke(cli, ["keys", "list", "--config", str(path), "--tenant", "acme",
                                 "--json"])
    rows = json.loads(listed.output)
    assert [r["key_id"] for r in rows] == [made["key_id"]] and rows[0]["active"]
    assert made["key"] not in listed.output  # the secret is shown once, at creation

    wrong = runner.invoke(cli, ["keys", "revoke", "--config", str(path), "--tenant", "globex",
                                made["key_id"]])
    assert wrong.exit_code == 1 and "no active key" in wrong.output
    revoked = runner.invoke(cli, ["keys", "revoke", "--config", str(path), "--tenant", "acme",
                                  made["key_id"]])
    assert revoked.exit_code == 0, revoked.output
    with Bridge.from_config(path, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        assert ApiKeys(bridge.store).verify(made["key"]) is None


def test_serve_cli_prints_the_openapi_document_and_needs_a_config(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from empathy_bridge.cli import _register_commands, cli
    from empathy_bridge.server.app import render_openapi

    monkeypatch.setenv("EMPATHY_BRIDGE_NO_AUTOLOAD", "1")
    _register_commands()
    runner = CliRunner()
    printed = runner.invoke(cli, ["serve", "--print-openapi"])
    assert printed.exit_code == 0 and printed.output == render_openapi()
    missing = runner.invoke(cli, ["serve"])
    assert missing.exit_code == 1 and "serve needs --config" in missing.output
