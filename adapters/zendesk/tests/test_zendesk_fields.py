"""``fields check`` / ``fields create`` against the sandbox's ``/ticket_fields``."""

from __future__ import annotations

from collections.abc import Callable

from empathy_bridge_zendesk.adapter import ZendeskAdapter
from empathy_bridge_zendesk.sandbox import SANDBOX_FIELD_IDS, ZendeskSandbox


def test_configured_fields_exist_and_are_compatible(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]) -> None:
    checks = make_adapter(sandbox).check_fields()
    assert [(c.name, c.exists, c.compatible) for c in checks] == [
        ("sentiment", True, True), ("state", True, True), ("intensity", True, True),
        ("tier", True, True)]
    assert {c.native_id for c in checks} == {str(v) for v in SANDBOX_FIELD_IDS.values()}


def test_account_without_fields_then_create(
        start_sandbox: Callable[..., ZendeskSandbox],
        make_adapter: Callable[..., ZendeskAdapter]) -> None:
    sandbox = start_sandbox(with_fields=False)
    adapter = make_adapter(sandbox, fields={"sentiment": 777777, "state": None})
    before = {c.name: c for c in adapter.check_fields()}
    assert not before["sentiment"].exists
    assert "777777 does not exist" in before["sentiment"].detail
    assert "fields create" in before["sentiment"].detail
    assert not before["state"].exists and "not configured" in before["state"].detail
    after = {c.name: c for c in adapter.create_fields()}
    assert all(c.exists and c.compatible for c in after.values())
    assert "set fields.sentiment = " in after["sentiment"].detail
    created = {f["title"]: f["type"] for f in sandbox._fields}
    assert created["Empathy sentiment"] == "decimal" and created["Empathy tier"] == "text"
    # The adapter writes to the new ids at once.
    assert adapter._field_ids["sentiment"] == int(after["sentiment"].native_id)
    # A second create provisions nothing more.
    count = len(sandbox._fields)
    adapter.create_fields()
    assert len(sandbox._fields) == count


def test_incompatible_field_type_is_reported(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]) -> None:
    # 10003 is the system "status" field: it exists but cannot hold a sentiment.
    adapter = make_adapter(sandbox, fields={**SANDBOX_FIELD_IDS, "sentiment": 10003})
    check = next(c for c in adapter.check_fields() if c.name == "sentiment")
    assert check.exists and not check.compatible
    assert "cannot hold sentiment" in check.detail
