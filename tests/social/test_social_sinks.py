"""Alert sinks (log, webhook via httpx + respx, CRM case) and escalation of distressed posts."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import httpx
import pytest
import respx

from empathy_bridge.adapter import Adapter, Decisions, FetchBatch
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    FieldUpdate,
    Interaction,
    Tier,
    WriteResult,
)
from empathy_bridge.secrets import Secrets
from empathy_bridge.social.ops import SocialOps
from empathy_bridge.social.settings import SocialSettings
from empathy_bridge.store import Store

HOOK = "https://hooks.example.com/social"
BIG = {"name": "big", "kind": "post", "match": {"min_followers": 10000},
       "sinks": ["log", "ops-hook", "crm"]}
SINKS = [{"kind": "webhook", "name": "ops-hook", "url": HOOK, "secret_env": "HOOK_KEY"},
         {"kind": "case", "name": "crm", "source": "helpdesk"}]


class CaseRecorder(Adapter):
    """A minimal CRM adapter that only opens cases (idempotent by external id)."""

    name = "case-recorder"

    def __init__(self) -> None:
        self.cases: dict[str, dict[str, Any]] = {}
        self.source_name = "helpdesk"

    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        return iter(())

    def plan_writeback(self, conversation: Conversation, context: EmotionalContext,
                       decisions: Decisions) -> list[FieldUpdate]:
        return []

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        return []

    def create_case(self, interaction: Interaction, context: EmotionalContext, subject: str,
                    external_id: str) -> str:
        if external_id not in self.cases:
            self.cases[external_id] = {"id": f"case-{len(self.cases) + 1}", "subject": subject,
                                       "body": interaction.text, "tier": context.tier}
        return str(self.cases[external_id]["id"])


@pytest.fixture
def crm() -> CaseRecorder:
    return CaseRecorder()


def make_ops(store: Store, crm: CaseRecorder, **social: Any) -> SocialOps:
    settings = SocialSettings.model_validate({"sinks": SINKS, **social})
    return SocialOps(store, settings, adapter_for=lambda source: crm,
                     secrets=Secrets(environ={"HOOK_KEY": "k3y"}),
                     policy=RetryPolicy(attempts=3, sleep=lambda s: None), http=httpx.Client())


@respx.mock
def test_alert_goes_to_every_sink_once_with_retries(
        social_store: Store, crm: CaseRecorder, add_posts: Callable[..., Any],
        post_factory: Callable[..., Any], now: datetime,
        caplog: pytest.LogCaptureFixture) -> None:
    route = respx.post(HOOK).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    ops = make_ops(social_store, crm, rules=[BIG])
    [post] = add_posts(post_factory("Third time broken. Unacceptable.", followers=250_000,
                                    tier=Tier.DISTRESSED))
    with caplog.at_level(logging.WARNING, logger="empathy_bridge.social"):
        report = ops.run(now)
    assert len(report.alerts) == 1 and report.delivered == 3 and report.delivery_failures == 0
    assert route.call_count == 2, "one 503, retried once"
    request = route.calls.last.request
    body = request.content
    assert json.loads(body)["rule"] == "big"
    expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert request.headers["X-Empathy-Signature"] == expected
    assert "social alert [warning] big" in caplog.text
    [case] = crm.cases.values()
    assert f"Public thread: {post.native_fields['url']}" in case["body"]
    assert "Emotional context: frustration" in case["body"]
    assert ops.run(now).delivered == 0, "delivered once"
    assert route.call_count == 2 and len(crm.cases) == 1


@respx.mock
def test_refused_webhook_fails_and_unreachable_one_is_retried_next_cycle(
        social_store: Store, crm: CaseRecorder, add_posts: Callable[..., Any],
        post_factory: Callable[..., Any], now: datetime) -> None:
    route = respx.post(HOOK).mock(side_effect=httpx.ConnectError("refused"))
    rule = {**BIG, "sinks": ["ops-hook"]}
    ops = make_ops(social_store, crm, rules=[rule])
    add_posts(post_factory(followers=250_000))
    report = ops.run(now)
    assert report.delivery_failures == 1 and "unreachable" in report.errors[0]
    assert route.call_count == 3
    route.side_effect = None
    route.return_value = httpx.Response(200)
    assert ops.run(now).delivered == 1
    [alert] = ops.alerts()
    assert alert["deliveries"]["ops-hook"]["status"] == "delivered"
    assert alert["deliveries"]["ops-hook"]["attempts"] == 2
    add_posts(post_factory(followers=250_000))
    route.return_value = httpx.Response(410)
    report = ops.run(now)
    assert report.delivery_failures == 1 and "refused the alert (410)" in report.errors[0]
    assert ops.alerts()[0]["deliveries"]["ops-hook"]["status"] == "failed"
    assert ops.run(now).delivered == 0 and route.call_count == 5, "a refused alert is not resent"


def test_distressed_posts_are_escalated_once(
        social_store: Store, crm: CaseRecorder, add_posts: Callable[..., Any],
        post_factory: Callable[..., Any], now: datetime) -> None:
    ops = make_ops(social_store, crm, escalation={"enabled": True, "sink": "crm",
                                                  "high_reach_followers": 100_000})
    add_posts(post_factory("I am desperate, nothing works", tier=Tier.DISTRESSED),
              post_factory("this is annoying", tier=Tier.UPSET, followers=300_000),
              post_factory("this is annoying", tier=Tier.UPSET, followers=30),
              post_factory("all good", tier=Tier.CALM, sentiment=0.5))
    report = ops.run(now)
    assert len(report.cases) == 2 and len(crm.cases) == 2
    subjects = sorted(c["subject"] for c in crm.cases.values())
    assert all(s.startswith("[social] frustration public post from @user") for s in subjects)
    assert ops.run(now).cases == []


def test_escalation_to_a_source_that_cannot_open_cases_is_reported(
        social_store: Store, add_posts: Callable[..., Any], post_factory: Callable[..., Any],
        now: datetime) -> None:
    class NoCases(CaseRecorder):
        def create_case(self, *args: Any, **kwargs: Any) -> str:
            raise NotImplementedError("adapter 'case-recorder' cannot create cases")

    ops = make_ops(social_store, NoCases(), escalation={"enabled": True, "sink": "crm"})
    add_posts(post_factory(tier=Tier.CRITICAL))
    report = ops.run(now)
    assert report.cases == []
    assert "cannot open cases" in report.errors[0]
