"""Pulling cases: normalisation, cursors, resume, overlap de-duplication, deletions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from empathy_bridge.errors import ConfigError, FatalError
from empathy_bridge.schemas import AuthorRole, Visibility
from empathy_bridge_salesforce.adapter import SalesforceAdapter
from empathy_bridge_salesforce.client import SalesforceApiError
from empathy_bridge_salesforce.sandbox import SalesforceSandbox


def all_interactions(adapter: SalesforceAdapter, cursor: str | None = None) -> list[Any]:
    return [i for batch in adapter.fetch(cursor) for i in batch.interactions]


def test_fetch_normalises_cases_emails_and_comments(sf_sandboxes: Any,
                                                    make_adapter: Any) -> None:
    sandbox = sf_sandboxes(records=300)
    adapter = make_adapter(sandbox)
    interactions = all_interactions(adapter)
    org = sandbox.org
    by_id = {i.native_id: i for i in interactions}
    assert {i.conversation_id for i in interactions} == set(org.tables["Case"])
    for email in org.tables["EmailMessage"].values():
        found = by_id[email["Id"]]
        assert found.author_role is (AuthorRole.CUSTOMER if email["Incoming"] else AuthorRole.AGENT)
        if email["TextBody"] is None:  # HTML-only: visible text, no markup or CSS
            assert "<" not in found.text and "color" not in found.text
            assert "Sent from my phone" in found.text
        elif len(email["TextBody"]) == 32 * 1024:
            assert len(found.text) > 30_000
    portal_users = {u["Id"] for u in org.tables["User"].values() if u["ContactId"]}
    for comment in org.tables["CaseComment"].values():
        found = by_id[comment["Id"]]
        by_customer = comment["CreatedById"] in portal_users
        assert found.author_role is (AuthorRole.CUSTOMER if by_customer else AuthorRole.AGENT)
        assert found.visibility is (Visibility.PUBLIC if comment["IsPublished"]
                                    else Visibility.PRIVATE)
    for case in org.tables["Case"].values():
        if case["Description"] is None:
            assert case["Id"] not in by_id  # no empty "case" message for a null description
        else:
            assert by_id[case["Id"]].text == case["Description"]
            assert by_id[case["Id"]].author_role is AuthorRole.CUSTOMER
    assert all(i.created_at.tzinfo is not None for i in interactions)


def test_cursor_is_aware_iso8601_and_fetch_resumes(sf_sandbox: SalesforceSandbox,
                                                    make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandbox, max_ids_per_query=20)
    batches = list(adapter.fetch(None))
    assert len(batches) == 3
    cursors = [datetime.fromisoformat(b.cursor) for b in batches]
    assert all(c.tzinfo is not None for c in cursors)
    assert cursors == sorted(cursors)
    everything = {i.native_id for b in batches for i in b.interactions}
    # A fresh adapter (a restarted process) resuming from the first batch's cursor gets the rest.
    resumed = make_adapter(sf_sandbox, max_ids_per_query=20)
    later = {i.native_id for i in all_interactions(resumed, batches[0].cursor)}
    assert everything - {i.native_id for i in batches[0].interactions} <= later


def test_overlap_is_deduplicated_and_late_commits_are_caught(
        sf_sandbox: SalesforceSandbox, make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandbox, overlap_seconds=120)
    batches = list(adapter.fetch(None))
    final = batches[-1].cursor
    assert final is not None
    # Nothing changed: the overlap window re-reads cases, but the adapter does not hand them on.
    assert all_interactions(adapter, final) == []
    # A case committed late, with a SystemModstamp before the cursor but inside the overlap.
    case_id = sf_sandbox.case_ids()[0]
    sf_sandbox.add_email(case_id, "Any update? I am still waiting and getting worried.")
    sf_sandbox.set_modstamp(case_id, datetime.fromisoformat(final) - timedelta(seconds=30))
    again = all_interactions(adapter, final)
    assert {i.conversation_id for i in again} == {case_id}
    assert "getting worried" in again[-1].text


def test_naive_or_garbage_cursor_is_refused(sf_sandbox: SalesforceSandbox,
                                            make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandbox)
    with pytest.raises(ConfigError, match="timezone"):
        list(adapter.fetch("2026-11-27T10:00:00"))
    with pytest.raises(ConfigError, match="ISO-8601"):
        list(adapter.fetch("yesterday"))


def test_children_are_fetched_in_bulk_per_chunk(sf_sandbox: SalesforceSandbox,
                                                make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandbox, max_ids_per_query=25)
    list(adapter.fetch(None))
    calls = sf_sandbox.stats()["requests"]
    # 60 cases: one case query, then 3 chunks x (EmailMessage + CaseComment) queries, plus
    # one describe per adapter to learn which write-back fields the org has.
    assert calls == {"GET /query": 7, "GET /sobjects/<sobject>/describe": 1}
    assert adapter.api_calls.snapshot() == {"GET /query": 7,
                                            "GET /sobjects/Case/describe": 1}


def test_deleted_cases_are_removed_from_the_store(sf_sandbox: SalesforceSandbox,
                                                  make_sf_bridge: Any) -> None:
    bridge = make_sf_bridge(sf_sandbox)
    assert bridge.sync("sf").status == "ok"
    victim = sf_sandbox.case_ids()[5]
    assert bridge.store.conversation_history("sf", [victim])[victim]
    # Deleted a minute and a half ago: getDeleted reports whole minutes only.
    sf_sandbox.delete_case(victim, datetime.now(UTC) - timedelta(seconds=90))
    report = bridge.sync("sf")
    assert report.status == "ok", report.detail
    assert report.deleted >= 1
    assert not bridge.store.conversation_history("sf", [victim]).get(victim)
    assert report.api_calls.get("GET /sobjects/Case/deleted") == 1


def test_transient_errors_are_retried(sf_sandboxes: Any, make_adapter: Any) -> None:
    sandbox = sf_sandboxes(error_rate=0.25, drop_rate=0.15, seed=11)
    adapter = make_adapter(sandbox, retry_attempts=15, max_ids_per_query=10)
    interactions = all_interactions(adapter)
    assert {i.conversation_id for i in interactions} == set(sandbox.org.tables["Case"])
    faults = sandbox.stats()["faults"]
    assert faults.get("5xx", 0) > 0 and faults.get("dropped", 0) > 0


def test_rejected_query_is_a_fatal_error_with_the_code(sf_sandbox: SalesforceSandbox,
                                                       make_adapter: Any) -> None:
    adapter = make_adapter(sf_sandbox)
    client = adapter.client
    with pytest.raises(SalesforceApiError) as info:
        client.call("querying", lambda: client.sf.query("SELECT Id FROM Case WHERE "
                                                        "Status = 'New' OR Status = 'Closed'"))
    assert isinstance(info.value, FatalError)
    assert info.value.code == "MALFORMED_QUERY"
    assert "MALFORMED_QUERY" in str(info.value)


def test_start_must_be_timezone_aware(sf_sandbox: SalesforceSandbox, make_adapter: Any) -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_adapter(sf_sandbox, start="2026-11-01T00:00:00")
    adapter = make_adapter(sf_sandbox, start="2000-01-01T00:00:00+00:00")
    assert {i.conversation_id for i in all_interactions(adapter)} == set(
        sf_sandbox.org.tables["Case"])


def test_forward_cycles_read_only_changed_children(sf_sandboxes: Any,
                                                   make_sf_bridge: Any) -> None:
    sandbox = sf_sandboxes(records=120)
    bridge = make_sf_bridge(sandbox)
    assert bridge.sync("sf").status == "ok"
    first_rows = sandbox.stats()["rows_served"]
    case_id = sandbox.case_ids()[7]
    sandbox.add_email(case_id, "Still broken. I am losing money every hour this goes on!")
    sandbox.reset_stats()
    report = bridge.sync("sf")
    assert report.status == "ok", report.detail
    # Every case is re-read (our write-back bumped them) but only the new email comes back ...
    rows = sandbox.stats()["rows_served"]
    assert rows["Case"] == 120
    assert rows.get("EmailMessage", 0) == 1 and rows.get("CaseComment", 0) == 0
    assert first_rows["EmailMessage"] > 1
    # ... and it is analysed and written back like any other new customer message.
    assert report.analyzed == 1
    assert report.written == 1
    history = bridge.store.conversation_history("sf", [case_id])[case_id]
    texts = [interaction.text for interaction, _ in history]
    assert len(texts) > 1 and any("losing money" in text for text in texts)
