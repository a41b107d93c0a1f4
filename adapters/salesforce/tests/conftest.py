"""Fixtures: a fresh Salesforce sandbox over HTTPS per test, and Bridges/adapters pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.engine import Bridge
from empathy_bridge.secrets import Secrets
from empathy_bridge_salesforce import plugin
from empathy_bridge_salesforce.adapter import SalesforceAdapter
from empathy_bridge_salesforce.config import SalesforceConfig
from empathy_bridge_salesforce.sandbox import DEFAULT_SESSION_ID, SalesforceSandbox

SandboxFactory = Callable[..., SalesforceSandbox]


@pytest.fixture
def sf_sandboxes() -> Iterator[SandboxFactory]:
    """Start sandboxes with given options; all are stopped at teardown."""
    started: list[SalesforceSandbox] = []

    def start(**options: Any) -> SalesforceSandbox:
        options.setdefault("records", 60)
        options.setdefault("seed", 5)
        sandbox = SalesforceSandbox(**options)
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sf_sandbox(sf_sandboxes: SandboxFactory) -> SalesforceSandbox:
    """A sandbox with 60 seeded cases."""
    return sf_sandboxes()


def source_table(sandbox: SalesforceSandbox, **overrides: Any) -> dict[str, Any]:
    """The ``[sources.X]`` table for ``sandbox``, with quick retries for tests."""
    table = {**sandbox.demo_source_config(), "retry_attempts": 3, "retry_initial_wait": 0.0}
    table.update(overrides)
    return table


ENVIRON = {"SALESFORCE_SESSION_ID": DEFAULT_SESSION_ID}


@pytest.fixture
def make_adapter() -> Iterator[Callable[..., SalesforceAdapter]]:
    """Build adapters directly (no engine) for a sandbox."""
    made: list[SalesforceAdapter] = []

    def make(sandbox: SalesforceSandbox, source: str = "sf", **overrides: Any
             ) -> SalesforceAdapter:
        config = SalesforceConfig.model_validate(source_table(sandbox, **overrides))
        adapter = SalesforceAdapter(source, config, Secrets(environ=ENVIRON))
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


@pytest.fixture
def make_sf_bridge(tmp_path: Path) -> Iterator[Callable[..., Bridge]]:
    """Bridges with one ``sf`` source on the sandbox; each call gets its own store file
    unless ``store`` names one (to run later cycles on the same state)."""
    made: list[Bridge] = []

    def make(sandbox: SalesforceSandbox, *plugins: object, store: str | None = None,
             environ: dict[str, str] | None = None, **overrides: Any) -> Bridge:
        db = tmp_path / (store or f"store-{len(made)}.db")
        bridge = Bridge.from_config(
            {"store": {"url": f"sqlite:///{db}"},
             "sources": {"sf": source_table(sandbox, **overrides)}},
            environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1", **(environ or ENVIRON)},
            plugins=(plugin, *plugins))
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.close()
