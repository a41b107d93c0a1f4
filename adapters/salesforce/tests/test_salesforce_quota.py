"""API allowance and sessions: pause cleanly, resume without loss or double writes, clear errors."""

from __future__ import annotations

from typing import Any

from empathy_bridge.hookspecs import hookimpl
from empathy_bridge_salesforce.sandbox import DEFAULT_SESSION_ID, SalesforceSandbox

CUSTOM = ("Sentiment__c", "Emotional_State__c", "Emotional_Intensity__c", "Empathy_Tier__c")
# Small pages so a cycle over 450 cases takes ~25 calls and a quota can run out mid-way.
SMALL_PAGES = {"query_batch_size": 200, "max_ids_per_query": 50}


def all_written(sandbox: SalesforceSandbox) -> bool:
    records = [sandbox.record("Case", cid) for cid in sandbox.case_ids()]
    return all(r is not None and all(r[f] is not None for f in CUSTOM) for r in records)


def run_until_done(bridge: Any, sandbox: SalesforceSandbox) -> list[Any]:
    reports = []
    for _ in range(6):
        report = bridge.sync("sf")
        reports.append(report)
        if report.status == "ok":
            return reports
        assert report.status == "paused", report.detail
        sandbox.reset_quota()  # the rolling 24-hour window frees requests
    raise AssertionError("never finished: " + "; ".join(r.detail for r in reports))


def test_configured_share_of_allowance_pauses_the_cycle(sf_sandboxes: Any,
                                                        make_sf_bridge: Any) -> None:
    sandbox = sf_sandboxes(records=450, daily_api_limit=20)
    bridge = make_sf_bridge(sandbox, store="quota.db", quota_share=0.8, **SMALL_PAGES)
    first = bridge.sync("sf")
    assert first.status == "paused", first.detail
    assert "quota_share" in first.detail and "16 of 20" in first.detail
    assert sandbox.api_usage == 16  # stopped between calls, at 80 %, not at the hard limit
    assert sandbox.stats()["limit_refusals"] == 0
    assert not all_written(sandbox)
    reports = run_until_done(bridge, sandbox)
    assert all_written(sandbox)
    # Nothing lost, nothing written twice.
    assert sandbox.stats()["records_written"] == 450
    assert sum(r.written for r in [first, *reports]) == 450
    assert bridge.sync("sf").written == 0


class _OtherIntegration:
    """Spends the whole allowance mid-cycle, as another integration of the org would."""

    __name__ = "other_integration"

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.sandbox = sandbox

    @hookimpl
    def empathy_bridge_plan_writeback(self, adapter: Any, conversation: Any, context: Any,
                                      decisions: Any, config: Any) -> list[Any]:
        self.sandbox.api_usage = self.sandbox.daily_api_limit
        return []


def test_request_limit_exceeded_pauses_without_retrying(sf_sandboxes: Any,
                                                        make_sf_bridge: Any) -> None:
    sandbox = sf_sandboxes(records=450)
    other = _OtherIntegration(sandbox)
    bridge = make_sf_bridge(sandbox, other, store="limit.db", retry_attempts=5, **SMALL_PAGES)
    first = bridge.sync("sf")
    assert first.status == "paused", first.detail
    assert "REQUEST_LIMIT_EXCEEDED" in first.detail and "paused until" in first.detail
    assert sandbox.stats()["limit_refusals"] == 1  # refused once, never retried
    bridge.pm.unregister(other)
    sandbox.reset_quota()
    run_until_done(bridge, sandbox)
    assert all_written(sandbox)
    assert sandbox.stats()["records_written"] == 450


def test_expired_session_mid_cycle_says_to_refresh_credentials(
        sf_sandboxes: Any, make_sf_bridge: Any) -> None:
    sandbox = sf_sandboxes(records=450, expire_after_requests=4)
    bridge = make_sf_bridge(sandbox, **SMALL_PAGES)
    report = bridge.sync("sf")
    assert report.status == "failed"
    assert "INVALID_SESSION_ID" in report.detail
    assert "SALESFORCE_SESSION_ID" in report.detail and "refresh" in report.detail
    assert DEFAULT_SESSION_ID not in report.detail
    assert report.batches >= 1  # what was fetched before the expiry is kept


def test_missing_secret_names_the_variable(sf_sandbox: SalesforceSandbox,
                                           make_sf_bridge: Any) -> None:
    bridge = make_sf_bridge(sf_sandbox, environ={"OTHER": "x"},
                            session_id_env="ACME_SF_TOKEN")
    report = bridge.sync("sf")
    assert report.status == "failed"
    assert "ACME_SF_TOKEN" in report.detail


def test_untrusted_certificate_is_a_clear_error(sf_sandbox: SalesforceSandbox,
                                                make_sf_bridge: Any) -> None:
    bridge = make_sf_bridge(sf_sandbox, ca_bundle=None)
    report = bridge.sync("sf")
    assert report.status == "failed"
    assert "ca_bundle" in report.detail
