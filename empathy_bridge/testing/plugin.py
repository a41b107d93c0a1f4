"""pytest plugin (``pytest11`` entry point): fixtures for testing with empathy-bridge.

Fixtures:

- ``make_bridge(config=None, *plugins, environ=None)``: a :class:`~empathy_bridge.Bridge` on a
  temporary SQLite store; entry-point plugins are not auto-loaded unless ``environ`` says so.
- ``bridge``: a Bridge with the built-in in-memory ``example`` source, ready to ``sync``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.engine import Bridge

MakeBridge = Callable[..., Bridge]
_desks = itertools.count()


@pytest.fixture
def make_bridge(tmp_path: Path) -> Iterator[MakeBridge]:
    """Factory of Bridges on a temporary store; closed at teardown."""
    made: list[Bridge] = []

    def make(
        config: Mapping[str, Any] | None = None,
        *plugins: object,
        environ: Mapping[str, str] | None = None,
    ) -> Bridge:
        data = dict(config or {})
        data.setdefault("store", {"url": f"sqlite:///{tmp_path / f'store-{len(made)}.db'}"})
        env = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1", **(environ or {})}
        bridge = Bridge.from_config(data, environ=env, plugins=plugins)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.close()


@pytest.fixture
def bridge(make_bridge: MakeBridge) -> Bridge:
    """A Bridge with a fresh in-memory ``example`` source (24 seeded tickets)."""
    return make_bridge({"sources": {"example": {"desk": f"fixture-{next(_desks)}"}}})
