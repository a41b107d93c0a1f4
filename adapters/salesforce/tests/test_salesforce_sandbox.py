"""The sandbox speaks Salesforce: SOQL subset, paging, errors, quota header, collections."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from empathy_bridge_salesforce.sandbox import DEFAULT_SESSION_ID, SalesforceSandbox
from empathy_bridge_salesforce.soql import SoqlError, parse_soql


def client(sandbox: SalesforceSandbox, session_id: str = DEFAULT_SESSION_ID) -> Salesforce:
    session = requests.Session()
    session.trust_env = False  # the test environment's REQUESTS_CA_BUNDLE must not win
    session.verify = str(sandbox.ca_path)
    return Salesforce(instance_url=sandbox.url, session_id=session_id, session=session)


def error_code(exc: Any) -> str:
    return str(exc.content[0]["errorCode"])


def test_parser_accepts_the_subset() -> None:
    query = parse_soql("SELECT Id, CreatedBy.ContactId FROM CaseComment WHERE ParentId IN "
                       "('500A', '500B') AND CreatedDate >= 2026-11-27T10:00:00.000+0000 "
                       "ORDER BY CreatedDate DESC NULLS LAST, Id LIMIT 5")
    assert query.sobject == "CaseComment"
    assert query.fields == ["Id", "CreatedBy.ContactId"]
    assert [c.op for c in query.where] == ["IN", ">="]
    assert query.where[0].value == ("500A", "500B")
    assert query.order_by[0].descending and query.order_by[0].nulls_last
    assert query.limit == 5


@pytest.mark.parametrize("text", [
    "SELECT Id FROM Case WHERE Status = 'New' OR Status = 'Closed'",
    "SELECT COUNT() FROM Case",
    "SELECT Id, (SELECT Id FROM EmailMessages) FROM Case",
    "SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:7",
    "SELECT Id FROM Case GROUP BY Status",
    "SELECT Id FROM Case WHERE Subject LIKE 'x%'",
    "SELECT Id FROM Case LIMIT",
    "DELETE FROM Case",
])
def test_parser_rejects_what_it_does_not_support(text: str) -> None:
    with pytest.raises(SoqlError) as info:
        parse_soql(text)
    assert info.value.code == "MALFORMED_QUERY"


def test_unsupported_query_is_malformed_query_over_https(sf_sandbox: SalesforceSandbox) -> None:
    sf = client(sf_sandbox)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Case WHERE Status = 'New' OR Status = 'Working'")
    assert error_code(info.value) == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Nope__c FROM Case")
    assert error_code(info.value) == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Case WHERE SystemModstamp > '2026-01-01'")
    assert "should not be enclosed in quotes" in info.value.content[0]["message"]


def test_paging_follows_next_records_url_with_batch_size(sf_sandboxes: Any) -> None:
    sandbox = sf_sandboxes(records=450)
    sf = client(sandbox)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    page = sf.query("SELECT Id, SystemModstamp FROM Case ORDER BY SystemModstamp, Id",
                    headers=headers)
    ids = [r["Id"] for r in page["records"]]
    pages = 1
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=headers)
        ids += [r["Id"] for r in page["records"]]
        pages += 1
    assert pages == 3
    assert ids == sandbox.case_ids()
    assert page["totalSize"] == 450
    assert all(r["attributes"]["type"] == "Case" for r in page["records"])


def test_where_order_and_limit_are_applied(sf_sandbox: SalesforceSandbox) -> None:
    sf = client(sf_sandbox)
    everything = sf.query("SELECT Id, Priority, CreatedDate FROM Case")["records"]
    high = sf.query("SELECT Id FROM Case WHERE Priority = 'High' ORDER BY CreatedDate DESC "
                    "LIMIT 3")["records"]
    expected = sorted((r for r in everything if r["Priority"] == "High"),
                      key=lambda r: r["CreatedDate"], reverse=True)[:3]
    assert [r["Id"] for r in high] == [r["Id"] for r in expected]


def test_every_answer_carries_limit_info_and_allowance_runs_out(sf_sandboxes: Any) -> None:
    sandbox = sf_sandboxes(daily_api_limit=3)
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_path)
    url = f"{sandbox.url}/services/data/v59.0/limits"
    auth = {"Authorization": f"Bearer {DEFAULT_SESSION_ID}"}
    usages = [session.get(url, headers=auth).headers["Sforce-Limit-Info"] for _ in range(3)]
    assert usages == ["api-usage=1/3", "api-usage=2/3", "api-usage=3/3"]
    with pytest.raises(SalesforceRefusedRequest) as info:
        client(sandbox).query("SELECT Id FROM Case")
    assert error_code(info.value) == "REQUEST_LIMIT_EXCEEDED"
    sandbox.reset_quota()
    assert client(sandbox).query("SELECT Id FROM Case LIMIT 1")["records"]


def test_bad_session_is_401_invalid_session_id(sf_sandbox: SalesforceSandbox) -> None:
    with pytest.raises(SalesforceExpiredSession) as info:
        client(sf_sandbox, session_id="not-the-session").query("SELECT Id FROM Case")
    assert error_code(info.value) == "INVALID_SESSION_ID"
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sf_sandbox.ca_path)
    for path in ("/services/data/v59.0/limits", "/services/data/v59.0/nowhere"):
        answer = session.get(f"{sf_sandbox.url}{path}")
        assert answer.status_code in (401, 404)
        assert answer.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_collections_patch_saves_per_record(sf_sandbox: SalesforceSandbox) -> None:
    sf = client(sf_sandbox)
    first, second, third = sf_sandbox.case_ids()[:3]
    before = sf_sandbox.record("Case", first)
    assert before is not None
    sf_sandbox.delete_case(third)
    answer = sf.restful("composite/sobjects", method="PATCH", json={
        "allOrNone": False, "records": [
            {"attributes": {"type": "Case"}, "id": first, "Sentiment__c": -0.4,
             "Emotional_State__c": "anxiety"},
            {"attributes": {"type": "Case"}, "id": second, "Bogus__c": 1},
            {"attributes": {"type": "Case"}, "id": third, "Priority": "High"},
            {"attributes": {"type": "Case"}, "id": "nonsense", "Priority": "High"},
        ]})
    assert [r["success"] for r in answer] == [True, False, False, False]
    assert [r["errors"][0]["statusCode"] for r in answer[1:]] == [
        "INVALID_FIELD", "ENTITY_IS_DELETED", "MALFORMED_ID"]
    after = sf_sandbox.record("Case", first)
    assert after is not None and after["Emotional_State__c"] == "anxiety"
    assert after["SystemModstamp"] > before["SystemModstamp"]


def test_collections_all_or_none_rolls_back(sf_sandbox: SalesforceSandbox) -> None:
    sf = client(sf_sandbox)
    first, second = sf_sandbox.case_ids()[:2]
    answer = sf.restful("composite/sobjects", method="PATCH", json={
        "allOrNone": True, "records": [
            {"attributes": {"type": "Case"}, "id": first, "Empathy_Tier__c": "upset"},
            {"attributes": {"type": "Case"}, "id": second, "Empathy_Tier__c": "furious"}]})
    codes = [r["errors"][0]["statusCode"] for r in answer]
    assert codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK",
                     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    record = sf_sandbox.record("Case", first)
    assert record is not None and record["Empathy_Tier__c"] is None


def test_collections_limits_and_malformed_bodies(sf_sandbox: SalesforceSandbox) -> None:
    sf = client(sf_sandbox)
    case_id = sf_sandbox.case_ids()[0]
    too_many = [{"attributes": {"type": "Case"}, "id": case_id, "Priority": "Low"}] * 201
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite/sobjects", method="PATCH",
                   json={"allOrNone": False, "records": too_many})
    assert error_code(info.value) == "EXCEEDED_ID_LIMIT"
    for body in ({"allOrNone": False}, {"records": "x"}, {"records": [], "allOrNone": False}):
        with pytest.raises(SalesforceMalformedRequest):
            sf.restful("composite/sobjects", method="PATCH", json=body)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite/sobjects", method="PATCH", data="{not json")
    assert error_code(info.value) == "JSON_PARSER_ERROR"


def test_inspection_endpoints(sf_sandbox: SalesforceSandbox) -> None:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sf_sandbox.ca_path)
    client(sf_sandbox).query("SELECT Id FROM Case LIMIT 1")
    stats = session.get(f"{sf_sandbox.url}/_sandbox/stats").json()
    assert stats["requests"] == {"GET /query": 1}
    assert stats["api_usage"] == 1
    case_id = sf_sandbox.case_ids()[0]
    record = session.get(f"{sf_sandbox.url}/_sandbox/records/Case/{case_id}").json()
    assert record["Id"] == case_id and record["attributes"]["type"] == "Case"
    missing = session.get(f"{sf_sandbox.url}/_sandbox/records/Case/500000000000000AAA")
    assert missing.status_code == 404


def test_seed_has_the_awkward_records(sf_sandboxes: Any) -> None:
    sandbox = sf_sandboxes(records=300)
    org = sandbox.org
    cases = org.tables["Case"].values()
    emails = list(org.tables["EmailMessage"].values())
    assert any(c["Description"] is None for c in cases)
    assert any(e["TextBody"] is None and e["HtmlBody"] for e in emails)
    assert any(len(e["TextBody"] or "") == 32 * 1024 for e in emails)
    assert org.recycle_bin, "some seeded cases are deleted"
    portal_users = {u["Id"] for u in org.tables["User"].values() if u["ContactId"]}
    assert any(c["CreatedById"] in portal_users for c in org.tables["CaseComment"].values())
    assert json.dumps(sandbox.stats())  # stats are JSON-serialisable


def test_updated_and_deleted_replication_endpoints(sf_sandbox: SalesforceSandbox) -> None:
    sf = client(sf_sandbox)
    now = datetime.now(UTC)
    case_id = sf_sandbox.case_ids()[0]
    sf_sandbox.update_case(case_id, Subject="Changed by an agent")
    # Replication covers whole minutes up to the current one: date the change back.
    sf_sandbox.set_modstamp(case_id, now - timedelta(minutes=3))
    victim = sf_sandbox.case_ids()[1]
    sf_sandbox.delete_case(victim, now - timedelta(minutes=3))
    case_type: Any = sf.Case
    updated = case_type.updated(now - timedelta(minutes=10), now + timedelta(minutes=2))
    assert case_id in updated["ids"]
    deleted = case_type.deleted(now - timedelta(minutes=10), now + timedelta(minutes=2))
    ours = [r for r in deleted["deletedRecords"] if r["id"] == victim]
    assert len(ours) == 1 and ours[0]["deletedDate"].endswith("+0000")
    with pytest.raises(SalesforceMalformedRequest) as info:
        case_type.deleted(now, now - timedelta(hours=1))
    assert error_code(info.value) == "INVALID_REPLICATION_DATE"


def test_ca_certificate_is_served_for_outside_clients(sf_sandbox: SalesforceSandbox) -> None:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sf_sandbox.ca_path)
    pem = session.get(f"{sf_sandbox.url}/_sandbox/ca.pem").text
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert sf_sandbox.ca_path is not None and pem == sf_sandbox.ca_path.read_text()


def test_collections_post_creates_records(sf_sandbox: SalesforceSandbox) -> None:
    sf = client(sf_sandbox)
    existing = sf_sandbox.case_ids()[0]
    answer = sf.restful("composite/sobjects", method="POST", json={
        "allOrNone": False, "records": [
            {"attributes": {"type": "Case"}, "Subject": "Opened through the API",
             "Origin": "Web", "Empathy_Tier__c": "upset"},
            {"attributes": {"type": "Case"}, "id": existing, "Subject": "not allowed"},
            {"attributes": {"type": "Account"}, "Name": "Acme"}]})
    assert [r["success"] for r in answer] == [True, False, False]
    assert answer[1]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert answer[2]["errors"][0]["statusCode"] == "INVALID_TYPE"
    created = sf_sandbox.record("Case", answer[0]["id"])
    assert created is not None and created["Status"] == "New"
    assert created["SystemModstamp"] == created["CreatedDate"]
    assert answer[0]["id"] in sf_sandbox.case_ids()  # indexed: incremental queries see it
