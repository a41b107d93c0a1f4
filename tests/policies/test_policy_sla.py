"""SLA and priority: the matrix, tier raises, human-set priorities, business hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from empathy_bridge.errors import ConfigError
from empathy_bridge.policies.business_hours import add_business_minutes
from empathy_bridge.policies.settings import BusinessHours, SlaSettings
from empathy_bridge.policies.sla import decide_priority, native_priority
from empathy_bridge.schemas import Priority, Tier

CASES: list[dict[str, Any]] = [
    # A calm email on Wednesday 10:00: 8 business hours → Thursday 10:00.
    dict(id="calm-email", text="Could you tell me when my invoice is due?", ctx=dict(),
         msg=dict(channel="email"), priority="low", tier="calm", due_minutes=24 * 60,
         reason="calm → low, reply within 8 h (business hours)"),
    # The documented example: distressed, public, repeated contact.
    dict(id="distressed-public-repeat",
         text="Third time asking!! @acme my card was charged twice and nobody answers",
         ctx=dict(state="frustration", intensity=0.8, tier="distressed",
                  cues=["repeated_contact"]),
         msg=dict(channel="social"), priority="urgent", tier="critical", due_minutes=15,
         reason="distressed + public + repeated contact → urgent, reply within 15 min"),
    # Same tier in a private DM on the same network: slower than in public.
    dict(id="distressed-private-dm", text="my card was charged twice",
         ctx=dict(state="frustration", intensity=0.8, tier="distressed"),
         msg=dict(channel="social", visibility="private"), priority="high", tier="distressed",
         due_minutes=60, reason="distressed → high, reply within 1 h"),
    # Escalating conversation plus a churn threat: two tiers up, around the clock.
    dict(id="upset-escalating-churn", text="Fix this today or I'm switching to a competitor.",
         ctx=dict(state="frustration", intensity=0.6, tier="upset", cues=["churn_threat"]),
         msg=dict(channel="email"), trend="escalating", priority="urgent", tier="critical",
         due_minutes=30, reason="upset + escalating + churn threat → urgent, reply within 30 min"),
    # Enterprise customers get the enterprise rows.
    dict(id="enterprise-concerned", text="Our sync looks delayed, can you check?",
         ctx=dict(state="anxiety", intensity=0.3, tier="concerned"), msg=dict(channel="email"),
         segment="enterprise", priority="normal", tier="concerned", due_minutes=120,
         reason="concerned + enterprise → normal, reply within 2 h (business hours)"),
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matrix_decisions(build: Any, case: dict[str, Any]) -> None:
    customer = build.customer(segment=case.get("segment"))
    message = build.message("m1", case["text"], customer=customer, **case["msg"])
    context = build.context(**case["ctx"])
    conversation = build.conversation([(message, context)], trend=case.get("trend"))
    decision = decide_priority(message, context, conversation, SlaSettings())
    assert decision.priority is Priority(case["priority"])
    assert decision.tier is Tier(case["tier"])
    assert decision.due_at == build.T0 + timedelta(minutes=case["due_minutes"])
    assert decision.reason.startswith(case["reason"])


def test_raises_are_capped(build: Any) -> None:
    message = build.message("m1", "again! cancelling!", channel="email")
    context = build.context("frustration", 0.5, "concerned", cues=["repeated_contact",
                                                                   "churn_threat"])
    conversation = build.conversation([(message, context)], trend="escalating")
    decision = decide_priority(message, context, conversation, SlaSettings(max_raise=1))
    assert decision.tier is Tier.UPSET
    assert "capped at +1" in decision.reason


def test_reach_raises_the_tier_by_config(build: Any) -> None:
    influencer = build.customer(followers=250_000)
    message = build.message("m1", "@acme still waiting on my refund", channel="social",
                            customer=influencer)
    context = build.context("frustration", 0.4, "concerned")
    conversation = build.conversation([(message, context)])
    plain = decide_priority(message, context, conversation, SlaSettings())
    settings = SlaSettings.model_validate(
        {"reach": [{"min_followers": 10_000, "raise_tiers": 1},
                   {"min_followers": 100_000, "raise_tiers": 2}]})
    raised = decide_priority(message, context, conversation, settings)
    assert plain.tier is Tier.CONCERNED
    assert raised.tier is Tier.DISTRESSED
    assert "250,000 followers" in raised.reason


@pytest.mark.parametrize(("native", "tier", "expected", "raised_from", "kept"), [
    ("urgent", "calm", "urgent", None, True),     # never lowered
    ("High", "calm", "high", None, True),         # Salesforce spelling
    ("low", "upset", "high", "low", False),       # raised above what a human set
    ("high", "upset", "high", None, False),       # equal: nothing to say
])
def test_human_priority_is_never_lowered(build: Any, native: str, tier: str, expected: str,
                                         raised_from: str | None, kept: bool) -> None:
    message = build.message("m1", "hello", native_priority=native)
    context = build.context("frustration" if tier != "calm" else "neutral", 0.5, tier)
    decision = decide_priority(message, context, build.conversation([(message, context)]),
                               SlaSettings())
    assert decision.priority is Priority(expected)
    assert decision.raised_from == (Priority(raised_from) if raised_from else None)
    assert ("kept the human-set priority" in decision.reason) is kept


def test_next_reply_target_after_an_agent_answered(build: Any) -> None:
    first = build.message("m1", "My order is late", minutes=0)
    agent = build.message("a1", "Sorry, checking now", role="agent", minutes=30)
    again = build.message("m2", "Any news? Still nothing.", minutes=60)
    context = build.context("frustration", 0.6, "upset")
    conversation = build.conversation([(first, build.context()), (agent, None), (again, context)])
    decision = decide_priority(again, context, conversation, SlaSettings())
    assert "next reply within 4 h" in decision.reason
    assert decision.due_at == again.created_at + timedelta(hours=4)


def test_native_priority_labels() -> None:
    assert native_priority("Medium") is Priority.NORMAL
    assert native_priority("Critical") is Priority.URGENT
    assert native_priority("P1-whatever") is None
    assert native_priority(None) is None


# --- business hours -------------------------------------------------------------------------


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("hours", "start", "minutes", "due"), [
    # Friday 16:30 + 1 h → Monday 09:30.
    (dict(), _utc(2026, 11, 27, 16, 30), 60, _utc(2026, 11, 30, 9, 30)),
    # Saturday: counting starts Monday at opening.
    (dict(), _utc(2026, 11, 28, 12, 0), 30, _utc(2026, 11, 30, 9, 30)),
    # Before opening on a weekday.
    (dict(), _utc(2026, 11, 25, 6, 0), 0, _utc(2026, 11, 25, 9, 0)),
    # Berlin, across the spring DST change: Friday 16:30 CET (15:30Z) → Monday 09:30 CEST (07:30Z).
    (dict(timezone="Europe/Berlin"), _utc(2026, 3, 27, 15, 30), 60, _utc(2026, 3, 30, 7, 30)),
    # An explicit holiday is skipped.
    (dict(holidays=["2026-11-26"]), _utc(2026, 11, 25, 16, 30), 60, _utc(2026, 11, 27, 9, 30)),
    # A country calendar: US Thanksgiving 2026 is Thursday 26 November.
    (dict(holiday_country="US", timezone="America/New_York"), _utc(2026, 11, 25, 21, 30), 60,
     _utc(2026, 11, 27, 14, 30)),
    # A long target spans several days: 20 h of 8-hour days → 2.5 days.
    (dict(), _utc(2026, 11, 23, 9, 0), 20 * 60, _utc(2026, 11, 25, 13, 0)),
])
def test_business_minutes(hours: dict[str, Any], start: datetime, minutes: int,
                          due: datetime) -> None:
    assert add_business_minutes(start, minutes, BusinessHours.model_validate(hours)) == due


def test_business_hours_from_config(build: Any) -> None:
    config = build.config({"sla": {"business_hours": {
        "timezone": "Asia/Tokyo", "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "10:00", "end": "19:00"}}})
    settings = config.section("sla", SlaSettings)
    # Wednesday 10:00Z is 19:00 in Tokyo: closed; 8 h from Thursday 10:00 JST → 18:00 JST.
    message = build.message("m1", "when is my invoice due?")
    context = build.context()
    decision = decide_priority(message, context, build.conversation([(message, context)]), settings)
    assert decision.due_at == _utc(2026, 11, 26, 9, 0)


# --- bad config -----------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "message"), [
    ({"business_hours": {"timezone": "Mars/Olympus"}},
     "sla.business_hours.timezone: unknown time zone 'Mars/Olympus'"),
    ({"business_hours": {"start": "18:00", "end": "09:00"}},
     "sla.business_hours: business hours start must be before end"),
    ({"business_hours": {"holiday_country": "XX"}},
     "sla.business_hours: holiday_country 'XX' is not known"),
    ({"matrix": [{"tier": "calm", "priority": "low", "first_response_minutes": 60,
                  "next_response_minutes": 60}]},
     "sla.matrix: matrix has no row for tier 'concerned'"),
    ({"matrix": [{"tier": t, "priority": "low", "first_response_minutes": 60,
                  "next_response_minutes": 60} for t in
                 ["calm", "calm", "concerned", "upset", "distressed", "critical"]]},
     "sla.matrix: matrix has two rows for tier 'calm'"),
    ({"matrix": [{"tier": "furious", "priority": "low", "first_response_minutes": 60,
                  "next_response_minutes": 60}]},
     "sla.matrix.0.tier: Input should be"),
    ({"raise_on_cues": {"churn_threat": 9}}, "sla.raise_on_cues: raise_on_cues.churn_threat"),
])
def test_bad_sla_config_fails_at_load_with_one_line(build: Any, section: dict[str, Any],
                                                    message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build.config({"sla": section})
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(message), text
