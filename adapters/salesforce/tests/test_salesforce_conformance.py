"""The core adapter conformance suite, against the Salesforce adapter and its sandbox."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from empathy_bridge.testing import AdapterConformance
from empathy_bridge_salesforce.sandbox import DEFAULT_SESSION_ID, SalesforceSandbox


class TestSalesforceConformance(AdapterConformance):
    """Fresh 60-case sandbox per test; chunks of 25 cases so fetch yields several batches."""

    @pytest.fixture
    def conformance_sandbox(self) -> Iterator[SalesforceSandbox]:
        with SalesforceSandbox(records=60, seed=9) as sandbox:
            assert isinstance(sandbox, SalesforceSandbox)
            yield sandbox

    @pytest.fixture
    def conformance_source(self, conformance_sandbox: SalesforceSandbox) -> Mapping[str, Any]:
        return {**conformance_sandbox.demo_source_config(), "max_ids_per_query": 25,
                "retry_attempts": 3, "retry_initial_wait": 0.0}

    @pytest.fixture
    def conformance_environ(self) -> Mapping[str, str]:
        return {"SALESFORCE_SESSION_ID": DEFAULT_SESSION_ID}
