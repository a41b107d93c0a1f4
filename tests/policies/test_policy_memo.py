"""What the policies derive once per config object equals what they would compute each time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from empathy_bridge.config import BridgeConfig
from empathy_bridge.policies.business_hours import add_business_minutes
from empathy_bridge.policies.library import ResponseLibrary, Scenario, load_library
from empathy_bridge.policies.memo import IdentityMemo
from empathy_bridge.policies.responses import ScenarioMatch, detect_scenarios, suggest_responses
from empathy_bridge.policies.settings import (
    BusinessHours,
    ExperimentsSettings,
    ResponsesSettings,
    SlaSettings,
)
from empathy_bridge.policies.sla import lookup_row
from empathy_bridge.schemas import Tier


def test_identity_memo_builds_once_per_object_not_per_equal_value() -> None:
    calls: list[object] = []
    memo: IdentityMemo[list[int], int] = IdentityMemo(lambda obj: calls.append(obj) or len(obj),
                                                      maxsize=2)
    first, equal = [1, 2], [1, 2]
    assert memo(first) == memo(first) == 2
    assert calls == [first]
    memo(equal)  # an equal but distinct object is another entry
    assert len(calls) == 2 and calls[1] is equal
    memo([3])  # over maxsize: the oldest entry goes
    memo(first)
    assert len(calls) == 4 and calls[3] is first


def _reference(text: str, library: ResponseLibrary) -> list[ScenarioMatch]:
    # The rule as documented: each keyword, lower-cased, at word boundaries of the lowered text.
    lowered = text.lower()
    matches = []
    for scenario in library.scenarios.values():
        hits = tuple(k for k in scenario.keywords
                     if re.search(r"(?<!\w)" + re.escape(k.lower()) + r"(?!\w)", lowered))
        if hits:
            matches.append(ScenarioMatch(scenario, hits))
    return sorted(matches, key=lambda m: (-len(m.keywords), m.scenario.scenario))


TEXTS = [
    "", "I was CHARGED TWICE!!", "my order is late", "latest news", "chocolate", "still waiting…",
    "Still   waiting", "can't log in", "cant log in", "refund-refund refund", "outage? down.",
    "İstanbul office is down", "ünïcode late", "late_", "_late", "late2", "x-late-y",
]


@pytest.mark.parametrize("text", TEXTS)
def test_detect_scenarios_equals_the_documented_rule_on_the_shipped_library(text: str) -> None:
    library = load_library()
    assert detect_scenarios(text, library) == _reference(text, library)


def test_detect_scenarios_keeps_keyword_order_and_duplicates_per_scenario() -> None:
    template = {"id": "t", "tiers": ["calm"], "opening": "Hi.", "next_step": "[x]"}
    library = ResponseLibrary(scenarios={
        "a": Scenario.model_validate({"scenario": "a", "keywords": ["Zeta", "c++", "alpha",
                                                                    "zeta", "on hold"],
                                      "templates": [template]}),
        "b": Scenario.model_validate({"scenario": "b", "keywords": ["alpha"],
                                      "templates": [{**template, "id": "u"}]}),
    })
    for text in ["alpha zeta c++ on hold", "ZETA", "on holder", "c++11 alpha", "zetas"]:
        assert detect_scenarios(text, library) == _reference(text, library), text
    assert detect_scenarios("alpha zeta", library)[0].keywords == ("Zeta", "alpha", "zeta")


def test_ranked_templates_of_several_scenarios_break_ties_by_template_id(build: Any) -> None:
    def scenario(name: str, keyword: str, ids: list[str]) -> Scenario:
        return Scenario.model_validate({"scenario": name, "keywords": [keyword], "templates": [
            {"id": i, "tiers": ["calm"], "opening": f"Hi {i}.", "next_step": "[x]"} for i in ids]})

    library = ResponseLibrary(scenarios={"z": scenario("z", "invoice", ["z.b", "z.d"]),
                                         "a": scenario("a", "refund", ["a.c", "a.a"])})
    message = build.message("m1", "invoice and refund", customer=build.customer())
    context = build.context()
    settings = ResponsesSettings(max_suggestions=4)
    for _ in range(2):  # computed, then from the ranking cache
        got = suggest_responses(message, context, build.conversation([(message, context)]),
                                settings, library)
        # Equal scores everywhere: template id order, across scenarios.
        assert [s.template_id for s in got] == ["a.a", "a.c", "z.b", "z.d"]
        assert len({s.score for s in got}) == 1


def _scan(tier: Tier, channel: str, public: bool, segment: str | None,
          settings: SlaSettings) -> str:
    visibility = "public" if public else "private"
    rows = [row for row in settings.matrix if row.tier is tier and row.segment in ("*", segment)
            and row.channel in ("*", visibility, channel)]
    best = max(rows, key=lambda row: (row.segment != "*", row.channel_rank()))
    return best.model_dump_json()


def test_lookup_row_per_settings_object_equals_a_scan_of_its_matrix() -> None:
    default = SlaSettings()
    custom = SlaSettings.model_validate({"matrix": [
        {"tier": tier.value, "channel": "*", "priority": "urgent", "first_response_minutes": 5,
         "next_response_minutes": 5} for tier in Tier
    ] + [{"tier": "calm", "channel": "email", "segment": "vip", "priority": "high",
          "first_response_minutes": 7, "next_response_minutes": 9}]})
    for _ in range(2):  # the second round is answered from the cache
        for settings in (default, custom):
            for tier in Tier:
                for channel in ("email", "social", "chat"):
                    for public in (False, True):
                        for segment in (None, "enterprise", "vip"):
                            row = lookup_row(tier, channel, public, segment, settings)
                            assert row.model_dump_json() == _scan(
                                tier, channel, public, segment, settings)
    assert lookup_row(Tier.CALM, "email", False, "vip", custom).first_response_minutes == 7
    assert lookup_row(Tier.CALM, "email", False, "vip", default).first_response_minutes == 480


def test_business_minutes_follow_each_schedule_object() -> None:
    start = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)  # a Friday
    weekdays = BusinessHours()
    everyday = BusinessHours(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    assert add_business_minutes(start, 60, weekdays) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert add_business_minutes(start, 60, everyday) == datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    assert add_business_minutes(start, 60, weekdays) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def test_absent_experiments_section_is_one_frozen_default() -> None:
    config = BridgeConfig()
    first = config.section("experiments", ExperimentsSettings)
    assert first is config.section("experiments", ExperimentsSettings)
    assert first.root == {}
    with pytest.raises(ValueError):
        first.root = {}  # frozen: sharing it cannot leak one caller's change to another


def test_library_for_checks_each_experiments_section_and_never_caches_a_failure() -> None:
    from empathy_bridge.defaults.policies import library_for
    from empathy_bridge.errors import ConfigError

    def experiments(warm: str) -> ExperimentsSettings:
        return ExperimentsSettings.model_validate({"tone": {
            "template": "delay.upset", "metrics": ["csat"],
            "variants": {"control": {"template": "delay.upset", "split": 0.5},
                         "warm": {"template": warm, "split": 0.5}}}})

    good = BridgeConfig(sections={"experiments": experiments("delay.upset.anxious")})
    bad = BridgeConfig(sections={"experiments": experiments("delay.upset.v2")})
    assert library_for(good) is library_for(good) is library_for(BridgeConfig())
    assert library_for(good) == load_library()
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"delay\.upset\.v2"):
            library_for(bad)
