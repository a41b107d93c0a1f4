"""Fixtures: a running Zendesk sandbox per test, and adapters / bridges pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.engine import Bridge
from empathy_bridge.secrets import Secrets
from empathy_bridge_zendesk.adapter import ZendeskAdapter
from empathy_bridge_zendesk.config import ZendeskConfig
from empathy_bridge_zendesk.sandbox import ZendeskSandbox

#: Only this distribution's plugin loads, so other adapters' state cannot break these tests.
PLUGIN_ENV = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "0", "EMPATHY_BRIDGE_PLUGINS": "zendesk"}


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., ZendeskSandbox]]:
    """``start_sandbox(**options)``: a started sandbox, stopped after the test."""
    started: list[ZendeskSandbox] = []

    def start(**options: Any) -> ZendeskSandbox:
        options.setdefault("records", 120)
        options.setdefault("seed", 11)
        options.setdefault("rate_limits", False)
        sandbox = ZendeskSandbox(**options)
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(start_sandbox: Callable[..., ZendeskSandbox]) -> ZendeskSandbox:
    """A 120-ticket sandbox without rate limits or faults."""
    return start_sandbox()


def _make_adapter(sandbox: ZendeskSandbox, **overrides: Any) -> ZendeskAdapter:
    table = {**sandbox.demo_source_config(), **overrides}
    config = ZendeskConfig.model_validate(table)
    return ZendeskAdapter("zendesk", config, Secrets(environ=sandbox.demo_environment()))


@pytest.fixture
def make_adapter() -> Callable[..., ZendeskAdapter]:
    """``make_adapter(sandbox, **config_overrides)``: an adapter pointed at the sandbox."""
    return _make_adapter


@pytest.fixture
def bridge_for(tmp_path: Path) -> Iterator[Callable[..., Bridge]]:
    """``bridge_for(sandbox, **source_overrides)``: a Bridge with one source ``zendesk``."""
    bridges: list[Bridge] = []

    def build(sandbox: ZendeskSandbox, *plugins: object, **overrides: Any) -> Bridge:
        source = {**sandbox.demo_source_config(), **overrides}
        bridge = Bridge.from_config(
            {"store": {"url": f"sqlite:///{tmp_path / f'store{len(bridges)}.db'}"},
             "sources": {"zendesk": source}},
            environ={**PLUGIN_ENV, **sandbox.demo_environment()}, plugins=plugins)
        bridges.append(bridge)
        return bridge

    yield build
    for bridge in bridges:
        bridge.close()
