"""Through the engine: no sync loop, new human input is picked up, write failures dead-letter.

Also runs the core's adapter conformance suite against this adapter and its sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import requests

from empathy_bridge.adapter import Adapter, Decisions
from empathy_bridge.engine import Bridge
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import Conversation, EmotionalContext, FieldUpdate
from empathy_bridge.testing import AdapterConformance
from empathy_bridge_zendesk.sandbox import ZendeskSandbox

UPDATE_MANY = "PUT /api/v2/tickets/update_many.json"
JOB_POLL = "GET /api/v2/job_statuses/<job_id>.json"


def _writes(sandbox: ZendeskSandbox) -> int:
    """update_many calls and job polls, as the sandbox's ``/_sandbox/stats`` reports them."""
    calls = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()["requests"]
    return int(calls.get(UPDATE_MANY, 0) + calls.get(JOB_POLL, 0))


def test_second_cycle_makes_zero_write_calls(
        sandbox: ZendeskSandbox, bridge_for: Callable[..., Bridge]) -> None:
    bridge = bridge_for(sandbox)
    first = bridge.sync("zendesk")
    assert first.status == "ok", first.detail
    assert first.written > 0 and _writes(sandbox) > 0
    before = sandbox.updates_applied
    sandbox.reset_stats()
    second = bridge.sync("zendesk")
    assert second.status == "ok", second.detail
    # Our own writes bumped every written ticket back into the export ...
    assert sandbox.stats()["requests"]["GET /api/v2/incremental/tickets/cursor.json"] >= 1
    # ... and produced no new work and no write call.
    assert _writes(sandbox) == 0
    assert second.analyzed == 0 and second.planned == 0 and second.write_calls == 0
    assert sandbox.updates_applied == before


def test_new_customer_comment_is_analysed_and_written_alone(
        sandbox: ZendeskSandbox, bridge_for: Callable[..., Bridge]) -> None:
    bridge = bridge_for(sandbox)
    assert bridge.sync("zendesk").status == "ok"
    sandbox.add_comment(21, "This is the third time I ask. I want a refund NOW or I cancel.")
    sandbox.reset_stats()
    report = bridge.sync("zendesk")
    assert report.status == "ok", report.detail
    assert report.analyzed == 1
    assert sandbox.stats()["requests"].get(UPDATE_MANY, 0) <= 1
    third = bridge.sync("zendesk")
    assert third.analyzed == 0 and third.write_calls == 0


class _WriteToMissingTicket:
    """Plans one extra write to a ticket id Zendesk does not have."""

    __name__ = "zendesk_test_missing_ticket"

    @hookimpl
    def empathy_bridge_plan_writeback(self, adapter: Adapter, conversation: Conversation,
                                      context: EmotionalContext, decisions: Decisions
                                      ) -> list[FieldUpdate]:
        if conversation.conversation_id != "1":
            return []
        return [FieldUpdate(source=adapter.source_name, record_id="987654",
                            field="tags.add", value=["eb_probe"], op="add_tags")]


def test_unknown_ticket_becomes_a_dead_letter_and_the_rest_is_written(
        sandbox: ZendeskSandbox, bridge_for: Callable[..., Bridge]) -> None:
    bridge = bridge_for(sandbox, _WriteToMissingTicket())
    report = bridge.sync("zendesk")
    assert report.status == "ok", report.detail
    letters = [d for d in bridge.store.dead_letters("zendesk") if d.stage == "write"]
    assert [(d.native_id, d.error_code) for d in letters] == [("987654", "RecordNotFound")]
    assert report.written > 1


class TestZendeskConformance(AdapterConformance):
    """The core's adapter contract, run against a fresh sandbox per test."""

    @pytest.fixture
    def zendesk_sandbox(self) -> Iterator[ZendeskSandbox]:
        sandbox = ZendeskSandbox(records=100, seed=4, rate_limits=False)
        sandbox.start()
        yield sandbox
        sandbox.stop()

    @pytest.fixture
    def conformance_source(self, zendesk_sandbox: ZendeskSandbox) -> Mapping[str, Any]:
        # Small pages, so resume-from-cursor is exercised across several batches.
        return {**zendesk_sandbox.demo_source_config(), "per_page": 40}

    @pytest.fixture
    def conformance_environ(self, zendesk_sandbox: ZendeskSandbox) -> Mapping[str, str]:
        return {"EMPATHY_BRIDGE_PLUGINS": "zendesk", **zendesk_sandbox.demo_environment()}
