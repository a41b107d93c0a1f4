"""The OpenAPI document: committed without drift, and no generated input makes the API fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from empathy_bridge.engine import Bridge
from empathy_bridge.server.app import create_app, render_openapi
from empathy_bridge.server.keys import ApiKeys

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"


def test_committed_openapi_document_has_not_drifted() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_openapi(), (
        "schemas/openapi.json is stale: regenerate it with "
        "`empathy-bridge serve --print-openapi > schemas/openapi.json`")


def test_document_covers_every_endpoint_and_problem_shape() -> None:
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert set(doc["paths"]) >= {
        "/v1/analyze", "/v1/decide", "/v1/suggest", "/v1/customers/{customer_id}/history",
        "/v1/metrics", "/webhooks/zendesk", "/webhooks/x", "/webhooks/salesforce",
        "/healthz", "/readyz", "/metrics"}
    assert "Problem" in doc["components"]["schemas"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(doc["components"]["securitySchemes"])


@pytest.fixture
def fuzz_target(tmp_path: Path, config_factory: Any, environ: dict[str, str]
                ) -> Iterator[tuple[Any, str]]:
    bridge = Bridge.from_config(config_factory(tmp_path), environ=environ)
    token = ApiKeys(bridge.store).create("acme").token
    assert bridge.sync("desk_a").status == "ok"  # some history to read
    yield create_app(bridge, start_worker=False), token
    bridge.close()


def test_no_generated_input_causes_a_server_error(fuzz_target: tuple[Any, str]) -> None:
    # Every operation of the served document, driven with schemathesis' generated cases
    # (valid and invalid bodies, headers, paths, queries); few examples keep it quick.
    app, token = fuzz_target
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 12
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            headers = dict(case.headers or {})
            if case.path.startswith("/v1/"):
                headers["Authorization"] = f"Bearer {token}"
            response = case.call(headers=headers)
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path,
                                                response.status_code, response.text[:500])
            if response.status_code >= 400:
                assert response.headers["content-type"][0] == "application/problem+json"

        check()
    # Both accepted and refused inputs were exercised, not only one kind.
    assert len(statuses) >= 5 * len(operations)
    assert any(s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
