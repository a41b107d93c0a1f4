"""The lead's adapter conformance suite, run against the X sandbox."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from empathy_bridge.testing import AdapterConformance
from empathy_bridge_x.sandbox import SANDBOX_CREDENTIALS, XSandbox


class TestXConformance(AdapterConformance):
    """X reads mentions and searches; it writes no fields (replies go through approval)."""

    @pytest.fixture
    def x_conformance_sandbox(self) -> Iterator[XSandbox]:
        with XSandbox(seed=11, records=40) as sandbox:
            yield sandbox

    @pytest.fixture
    def conformance_source(self, x_conformance_sandbox: XSandbox) -> Mapping[str, Any]:
        return {**x_conformance_sandbox.demo_source_config(), "page_size": 10}

    @pytest.fixture
    def conformance_environ(self) -> Mapping[str, str]:
        # Only this distribution's plugin: other adapters in the checkout may be mid-install.
        return {**SANDBOX_CREDENTIALS, "EMPATHY_BRIDGE_PLUGINS": "x"}

    def test_writeback_is_batched_and_idempotent(self, conformance_bridge_factory: Any) -> None:
        """X has no writable fields: a cycle plans and writes nothing, twice over."""
        bridge = conformance_bridge_factory()
        first = bridge.sync("conformance")
        assert first.status == "ok", first.detail
        assert first.analyzed > 0
        assert first.written == 0 and first.write_calls == 0
        second = bridge.sync("conformance")
        assert second.status == "ok" and second.written == 0 and second.analyzed == 0
