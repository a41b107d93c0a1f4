"""Fixtures of the X adapter tests: a fresh sandbox per test and an adapter pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from empathy_bridge.secrets import Secrets
from empathy_bridge_x.adapter import XAdapter, XSourceConfig
from empathy_bridge_x.sandbox import SANDBOX_CREDENTIALS, XSandbox


@pytest.fixture
def x_sandbox() -> Iterator[XSandbox]:
    with XSandbox(seed=7) as sandbox:
        yield sandbox


def make_adapter(sandbox: XSandbox, **overrides: Any) -> XAdapter:
    environ = overrides.pop("environ", SANDBOX_CREDENTIALS)
    sleep = overrides.pop("sleep", None)
    config = XSourceConfig.model_validate({**sandbox.demo_source_config(), **overrides})
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    return XAdapter("x", config, Secrets(environ=dict(environ)), **kwargs)


@pytest.fixture
def make_x_adapter() -> Any:
    """``make(sandbox, **config_overrides)``: an adapter on a sandbox (``environ``, ``sleep``)."""
    return make_adapter


@pytest.fixture
def x_adapter(x_sandbox: XSandbox) -> Iterator[XAdapter]:
    adapter = make_adapter(x_sandbox)
    yield adapter
    adapter.close()
