"""Fixtures for the HTTP service tests: a bridge over two tenants' example desks, keys, a client."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from empathy_bridge.defaults.example_source import ExampleDesk
from empathy_bridge.engine import Bridge
from empathy_bridge.server.app import create_app
from empathy_bridge.server.keys import ApiKeys

SECRETS = {
    "ZENDESK_WEBHOOK_SECRET": "zendesk-signing-secret",
    "X_CONSUMER_SECRET": "x-consumer-secret",
    "SALESFORCE_WEBHOOK_SECRET": "salesforce-shared-secret",
}

_desks = itertools.count()


def _server_config(tmp_path: Path, **server: Any) -> dict[str, Any]:
    """Two tenants: acme owns desk_a (zendesk + x webhooks), globex owns desk_b (salesforce)."""
    n = next(_desks)
    return {
        "store": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
        "sources": {
            "desk_a": {"adapter": "example", "desk": f"server-a-{n}", "tickets": 2,
                       "tenant": "acme"},
            "desk_b": {"adapter": "example", "desk": f"server-b-{n}", "tickets": 2,
                       "tenant": "globex"},
        },
        "server": {"webhook_sources": {"zendesk": "desk_a", "x": "desk_a",
                                       "salesforce": "desk_b"}, **server},
    }


@pytest.fixture
def environ() -> dict[str, str]:
    return {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1", **SECRETS}


@pytest.fixture
def bridge(tmp_path: Path, environ: dict[str, str]) -> Iterator[Bridge]:
    b = Bridge.from_config(_server_config(tmp_path), environ=environ)
    yield b
    b.close()
    for cfg in b.source_configs.values():
        ExampleDesk.drop(str(getattr(cfg, "desk")))  # noqa: B009 - SourceConfig has no desk


@pytest.fixture
def app(bridge: Bridge) -> FastAPI:
    return create_app(bridge, start_worker=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def acme_key(bridge: Bridge) -> str:
    return ApiKeys(bridge.store).create("acme", "tests").token


@pytest.fixture
def globex_key(bridge: Bridge) -> str:
    return ApiKeys(bridge.store).create("globex", "tests").token


@pytest.fixture
def config_factory() -> Any:
    """``config_factory(tmp_path, **server_keys)`` -> a config dict like the bridge fixture's."""
    return _server_config
