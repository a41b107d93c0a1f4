"""Listening rules: matching, sliding windows against baselines, alerts fired exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from empathy_bridge.schemas import AuthorRole, EmotionalState, Tier
from empathy_bridge.secrets import Secrets
from empathy_bridge.social.ops import SocialOps
from empathy_bridge.social.rules import bucket_floor, matches, spike_verdict, window_buckets
from empathy_bridge.social.settings import Match, SocialSettings, SpikeRule
from empathy_bridge.store import Store

SPIKE = {"name": "outage-spike", "kind": "spike", "window_minutes": 60, "baseline_windows": 6,
         "factor": 3.0, "min_count": 5,
         "match": {"terms": ["outage", "down"], "sentiment_below": 0.0}}
BIG = {"name": "big-and-frustrated", "kind": "post",
       "match": {"min_followers": 10000, "states": ["frustration"]}}


def no_adapter(source: str) -> Any:
    raise AssertionError(f"no adapter expected, asked for {source}")


def ops_for(store: Store, *rules: dict[str, Any], **extra: Any) -> SocialOps:
    settings = SocialSettings.model_validate({"rules": list(rules), **extra})
    return SocialOps(store, settings, adapter_for=no_adapter, secrets=Secrets(environ={}))


@pytest.mark.parametrize(("match", "post", "expected"), [
    ({"terms": ["outage"]}, {"text": "Total OUTAGE again!"}, True),
    ({"terms": ["outage"]}, {"text": "outages are fun"}, False),
    ({"terms": ["is down"]}, {"text": "the app is down"}, True),
    ({"all_terms": ["app", "down"]}, {"text": "app slow"}, False),
    ({"exclude_terms": ["giveaway"]}, {"text": "outage giveaway"}, False),
    ({"sentiment_below": 0.0}, {"sentiment": 0.2}, False),
    ({"states": ["frustration"]}, {"state": EmotionalState.CONFUSION}, False),
    ({"min_tier": "distressed"}, {"tier": Tier.UPSET}, False),
    ({"min_intensity": 0.5}, {"intensity": 0.7}, True),
    ({"min_followers": 10000}, {"followers": None}, False),
    ({"min_followers": 10000}, {"followers": 250000}, True),
    ({"languages": ["es"]}, {"text": "¡sin servicio!", "language": "es"}, True),
    ({"languages": ["es"]}, {"language": None}, False),
    ({"terms": ["outage"]}, {"text": "😡😡😡"}, False),
    ({"states": ["frustration"]}, {"text": "😡😡😡"}, True),
    ({}, {"role": AuthorRole.AGENT}, False),
    ({"customers_only": False}, {"role": AuthorRole.AGENT}, True),
    ({"sources": ["zendesk"]}, {}, False),
])
def test_match_conditions(match: dict[str, Any], post: dict[str, Any], expected: bool,
                          post_factory: Callable[..., Any]) -> None:
    interaction, context = post_factory(**post)
    assert matches(Match.model_validate(match), interaction, context) is expected


def test_emotional_conditions_never_match_an_unread_post(post_factory: Callable[..., Any]) -> None:
    interaction, _ = post_factory()
    assert not matches(Match(states=[EmotionalState.FRUSTRATION]), interaction, None)
    assert matches(Match(terms=["down"]), interaction, None)


def test_window_arithmetic_and_verdict(now: datetime) -> None:
    rule = SpikeRule.model_validate(SPIKE)
    baseline_start, start, end = window_buckets(rule, now)
    assert end - start == timedelta(minutes=60)
    assert start - baseline_start == timedelta(hours=6)
    assert bucket_floor(now + timedelta(minutes=7), 5) == now + timedelta(minutes=5)
    assert spike_verdict(rule, 4, 0).firing is False  # under min_count
    assert spike_verdict(rule, 5, 6).firing is True  # baseline 1/h, threshold 3
    verdict = spike_verdict(rule, 5, 12)  # baseline 2/h: threshold 6
    assert verdict.firing is False and verdict.threshold == 6.0


def test_spike_fires_one_alert_then_rearms(social_store: Store, add_posts: Callable[..., Any],
                                           post_factory: Callable[..., Any],
                                           now: datetime) -> None:
    ops = ops_for(social_store, SPIKE)
    # Baseline: one outage post an hour for six hours.
    add_posts(*(post_factory("is there an outage?", minutes_ago=60 * h + 30)
                for h in range(1, 7)))
    assert ops.run(now).alerts == []
    add_posts(*(post_factory(f"outage #{n}, furious", minutes_ago=n) for n in range(1, 9)))
    first = ops.run(now)
    assert len(first.alerts) == 1 and first.matched == {"outage-spike": 8}
    add_posts(*(post_factory(f"still down #{n}", minutes_ago=0.5) for n in range(3)))
    assert ops.run(now).alerts == [], "a running spike fires once, not every cycle"
    assert ops.run(now + timedelta(minutes=20)).alerts == []
    [alert] = ops.alerts()
    assert alert["rule"] == "outage-spike" and alert["detail"]["current"] == 8
    assert "8 matching posts in the last 60 min" in alert["summary"]
    assert len(alert["detail"]["samples"]) == 5
    assert alert["deliveries"] == {"log": {"status": "delivered", "attempts": 1,
                                           "reference": "logged", "error": None}}
    # Two quiet hours later the rule has cleared; a new burst is a new alert.
    later = now + timedelta(hours=2)
    assert ops.run(later).alerts == []
    add_posts(*(post_factory(f"outage again #{n}", minutes_ago=-119) for n in range(20)))
    assert len(ops.run(later).alerts) == 1


def test_post_rule_fires_once_per_post_and_ignores_old_posts(
        social_store: Store, add_posts: Callable[..., Any], post_factory: Callable[..., Any],
        now: datetime) -> None:
    ops = ops_for(social_store, BIG)
    add_posts(post_factory("Unacceptable!", followers=250_000),
              post_factory("meh", followers=250_000, state=EmotionalState.NEUTRAL),
              post_factory("Unacceptable!", followers=250_000, minutes_ago=60 * 48),
              post_factory("Unacceptable!", followers=50))
    report = ops.run(now)
    assert len(report.alerts) == 1
    assert ops.run(now).alerts == []
    [alert] = ops.alerts()
    assert "250,000 followers" in alert["summary"] and alert["detail"]["post"]["url"]


def test_counts_survive_a_restart(social_store: Store, add_posts: Callable[..., Any],
                                  post_factory: Callable[..., Any], now: datetime) -> None:
    add_posts(*(post_factory(f"outage {n}", minutes_ago=n) for n in range(4)))
    assert ops_for(social_store, SPIKE).run(now).alerts == []
    add_posts(post_factory("outage 5", minutes_ago=1))
    # A new SocialOps (a new process) sees the four stored counts plus the new post.
    assert len(ops_for(social_store, SPIKE).run(now).alerts) == 1
