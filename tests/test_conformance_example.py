"""The conformance suite run against the built-in example adapter."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from empathy_bridge.testing import AdapterConformance

_names = itertools.count()


class TestExampleAdapterConformance(AdapterConformance):
    @pytest.fixture
    def conformance_source(self) -> Mapping[str, Any]:
        return {"adapter": "example", "desk": f"conformance-{next(_names)}", "tickets": 60}

    @pytest.fixture
    def conformance_environ(self) -> Mapping[str, str]:
        # The example adapter is built in: load no third-party plugins.
        return {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}
