"""Routing rules: first/all matches, explanations, and config errors at load."""

from __future__ import annotations

from typing import Any

import pytest

from empathy_bridge.errors import ConfigError
from empathy_bridge.policies.routing import explain_routing, route
from empathy_bridge.policies.settings import RoutingSettings

RULES: list[dict[str, Any]] = [
    {"name": "legal", "when": {"cues_any": ["legal_threat"]}, "action": "create_case",
     "target": "Legal Review", "target_source": "salesforce", "reason": "legal exposure"},
    {"name": "vip-distress", "when": {"segments": ["enterprise"], "min_tier": "distressed"},
     "action": "group", "target": "vip-care"},
    {"name": "social-frustration", "when": {"states": ["frustration"], "channels": ["social"],
                                            "visibility": "public"},
     "action": "queue", "target": "social-care"},
    {"name": "german", "when": {"languages": ["de"]}, "action": "group", "target": "dach"},
    {"name": "escalating", "when": {"trends": ["escalating"], "min_tier": "upset"},
     "action": "owner", "target": "team-lead-7"},
    {"name": "everything-else", "action": "tag", "target": "emotion-reviewed"},
]

CASES: list[dict[str, Any]] = [
    dict(id="lawyer-email", text="My lawyer will be in touch about this.",
         ctx=dict(state="frustration", intensity=0.7, tier="upset", cues=["legal_threat"]),
         msg=dict(channel="email"), first=["legal"],
         all=["legal", "everything-else"]),
    dict(id="enterprise-distressed", text="Production is down for all our users!!",
         ctx=dict(state="anxiety", intensity=0.85, tier="distressed"), segment="enterprise",
         msg=dict(channel="web"), first=["vip-distress"], all=["vip-distress", "everything-else"]),
    dict(id="angry-tweet", text="@acme worst support ever, still no refund",
         ctx=dict(state="frustration", intensity=0.6, tier="upset"),
         msg=dict(channel="social"), trend="escalating", first=["social-frustration"],
         all=["social-frustration", "escalating", "everything-else"]),
    dict(id="angry-dm-not-public", text="still no refund",
         ctx=dict(state="frustration", intensity=0.6, tier="upset"),
         msg=dict(channel="social", visibility="private"), first=["everything-else"],
         all=["everything-else"]),
    dict(id="german-regional-tag", text="Wo bleibt meine Bestellung?",
         ctx=dict(state="confusion", intensity=0.3, tier="concerned"),
         msg=dict(channel="email", language="de-AT"), first=["german"],
         all=["german", "everything-else"]),
    dict(id="calm-question", text="How do I add a user?", ctx=dict(), msg=dict(channel="chat"),
         first=["everything-else"], all=["everything-else"]),
]


def _run(build: Any, case: dict[str, Any], mode: str) -> list[str]:
    settings = RoutingSettings.model_validate({"mode": mode, "rules": RULES})
    customer = build.customer(segment=case.get("segment"))
    message = build.message("m1", case["text"], customer=customer, **case["msg"])
    context = build.context(**case["ctx"])
    conversation = build.conversation([(message, context)], trend=case.get("trend"))
    return [d.rule for d in route(message, context, conversation, settings)]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_first_match(build: Any, case: dict[str, Any]) -> None:
    assert _run(build, case, "first") == case["first"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_all_matches(build: Any, case: dict[str, Any]) -> None:
    assert _run(build, case, "all") == case["all"]


@pytest.mark.parametrize("mode", ["first", "all"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_route_agrees_with_explain(build: Any, case: dict[str, Any], mode: str) -> None:
    # route() has a fast path; the explanation must tell the same story.
    settings = RoutingSettings.model_validate({"mode": mode, "rules": RULES})
    customer = build.customer(segment=case.get("segment"))
    message = build.message("m1", case["text"], customer=customer, **case["msg"])
    context = build.context(**case["ctx"])
    conversation = build.conversation([(message, context)], trend=case.get("trend"))
    explained = [e.decision for e in explain_routing(message, context, conversation, settings)
                 if e.fired]
    assert route(message, context, conversation, settings) == explained
    for evaluation in explain_routing(message, context, conversation, settings):
        assert evaluation.matched == all(c.passed for c in evaluation.checks)


def test_create_case_decision_names_the_other_system(build: Any) -> None:
    settings = RoutingSettings.model_validate({"rules": RULES})
    message = build.message("m1", "I am contacting my attorney")
    context = build.context("frustration", 0.7, "upset", cues=["legal_threat"])
    [decision] = route(message, context, build.conversation([(message, context)]), settings)
    assert (decision.action, decision.target, decision.target_source) == (
        "create_case", "Legal Review", "salesforce")
    assert decision.reason.startswith("legal exposure: ")


def test_explain_says_why_each_rule_did_or_did_not_fire(build: Any) -> None:
    settings = RoutingSettings.model_validate({"rules": RULES})
    customer = build.customer(segment="smb")
    message = build.message("m1", "@acme still no refund", channel="social", customer=customer)
    context = build.context("frustration", 0.6, "upset")
    evaluations = explain_routing(message, context, build.conversation([(message, context)]),
                                  settings)
    by_rule = {e.rule: e for e in evaluations}
    assert [e.rule for e in evaluations] == [r["name"] for r in RULES]
    assert by_rule["legal"].note == "did not match: no cues not overlap [legal_threat]"
    assert "smb not in [enterprise]" in by_rule["vip-distress"].note
    assert "upset not ≥ distressed" in by_rule["vip-distress"].note
    assert by_rule["social-frustration"].fired
    assert by_rule["social-frustration"].note == "fired: queue → social-care (stops evaluation)"
    assert by_rule["everything-else"].matched and not by_rule["everything-else"].fired
    assert by_rule["everything-else"].note.startswith(
        "not applied: rule 'social-frustration' matched first")
    assert "no trajectory not in [escalating]" in by_rule["escalating"].note


def test_per_rule_stop_overrides_the_mode(build: Any) -> None:
    rules = [{"name": "tag-first", "when": {"min_tier": "upset"}, "action": "tag",
              "target": "upset", "stop": False}, *RULES]
    settings = RoutingSettings.model_validate({"mode": "first", "rules": rules})
    message = build.message("m1", "call my lawyer")
    context = build.context("frustration", 0.7, "upset", cues=["legal_threat"])
    decisions = route(message, context, build.conversation([(message, context)]), settings)
    assert [d.rule for d in decisions] == ["tag-first", "legal"]


def test_no_rules_no_decisions(build: Any) -> None:
    message = build.message("m1", "hi")
    context = build.context()
    assert route(message, context, build.conversation([(message, context)]),
                 RoutingSettings()) == []


@pytest.mark.parametrize(("routing", "message"), [
    ({"rules": [{"name": "a", "when": {"states": ["angry"]}, "target": "q"}]},
     "routing.rules.0.when.states: unknown emotional state 'angry' (known: frustration, "
     "confusion, anxiety, disappointment, satisfaction, neutral)"),
    ({"rules": [
        {"name": "a", "when": {"states": ["anxiety"], "min_tier": "upset"}, "target": "q"},
        {"name": "b", "when": {"min_tier": "upset", "states": ["anxiety"]}, "target": "r"}]},
     "routing.rules: rules 'a' and 'b' have identical conditions and 'a' stops evaluation, so "
     "'b' can never fire"),
    ({"rules": [{"name": "all", "target": "q"}, {"name": "b", "when": {"min_tier": "upset"},
                                                 "target": "r"}]},
     "routing.rules: rule 'all' matches everything and stops"),
    ({"rules": [{"name": "a", "target": "q"}, {"name": "a", "target": "r"}], "mode": "all"},
     "routing.rules: two rules are named 'a'"),
    ({"rules": [{"name": "a", "action": "create_case", "target": "Case"}]},
     "routing.rules.0: rule 'a': action create_case needs target_source"),
    ({"rules": [{"name": "a", "when": {"min_tier": "critical", "max_tier": "calm"},
                 "target": "q"}]},
     "routing.rules.0.when: min_tier is above max_tier"),
    ({"rules": [{"name": "a", "when": {"sentiment_below": -0.5}, "target": "q"}]},
     "routing.rules.0.when.sentiment_below: unknown key"),
    ({"rules": [{"name": "a", "when": {"min_tier": "livid"}, "target": "q"}]},
     "routing.rules.0.when.min_tier: Input should be"),
])
def test_bad_routing_config_fails_at_load_with_one_line(build: Any, routing: dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build.config({"routing": routing})
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(message), text


def test_identical_conditions_are_fine_when_all_matches_apply(build: Any) -> None:
    config = build.config({"routing": {"mode": "all", "rules": [
        {"name": "a", "when": {"states": ["anxiety"]}, "target": "q"},
        {"name": "b", "when": {"states": ["anxiety"]}, "action": "tag", "target": "anxious"}]}})
    assert len(config.section("routing", RoutingSettings).rules) == 2
