"""The [social] section: defaults; malformed rules fail with one line naming rule and field."""

from __future__ import annotations

from typing import Any

import pytest

from empathy_bridge.config import parse_config
from empathy_bridge.errors import ConfigError
from empathy_bridge.plugins import get_plugin_manager, section_models
from empathy_bridge.social.settings import PostRule, SocialSettings, SpikeRule


def load(social: dict[str, Any]) -> SocialSettings:
    models = section_models(get_plugin_manager({"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}))
    config = parse_config({"social": social}, models)
    return config.section("social", SocialSettings)


def test_builtin_plugin_registers_the_section_and_rules_parse() -> None:
    settings = load({
        "sinks": [{"kind": "webhook", "name": "ops", "url": "https://hooks.example.com/x"}],
        "rules": [
            {"name": "outage-spike", "kind": "spike",
             "match": {"terms": ["outage"], "sentiment_below": 0.0}, "sinks": ["log", "ops"]},
            {"name": "big-and-angry", "kind": "post",
             "match": {"min_followers": 10000, "states": ["frustration"]}},
        ]})
    spike, post = settings.rules
    assert isinstance(spike, SpikeRule) and spike.factor == 3.0 and spike.bucket_minutes == 5
    assert isinstance(post, PostRule) and post.sinks == ["log"]
    assert settings.sink("log").kind == "log"


@pytest.mark.parametrize(("rule", "expected"), [
    ({"name": "outage-spike", "kind": "spike", "factor": "lots"},
     "rule 'outage-spike': field 'factor': Input should be a valid number"),
    ({"name": "outage-spike", "kind": "spike", "factor": 0.5},
     "rule 'outage-spike': field 'factor': Input should be greater than 1"),
    ({"name": "big", "kind": "post", "match": {"min_folowers": 10}},
     "rule 'big': field 'match.min_folowers': unknown field"),
    ({"name": "big", "kind": "post", "match": {"states": ["furious"]}},
     "rule 'big': field 'match.states.0': Input should be"),
    ({"name": "big", "kind": "alarm"},
     "rule 'big': field 'kind': must be 'spike' or 'post', got 'alarm'"),
    ({"kind": "post", "match": {}},
     "rule #1: field 'name': Field required"),
    ({"name": "big", "kind": "post", "sinks": ["pager"]},
     "rule 'big': field 'sinks': unknown sink 'pager' (configured: log)"),
])
def test_malformed_rule_fails_with_one_line_naming_rule_and_field(
        rule: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"rules": [rule]})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("social.rules") or message.startswith("social:")
    assert expected in message


def test_duplicate_rule_names_are_refused() -> None:
    rule = {"name": "same", "kind": "post"}
    with pytest.raises(ConfigError, match="rule 'same': field 'name': defined twice"):
        load({"rules": [rule, rule]})


def test_escalation_must_name_a_case_sink() -> None:
    with pytest.raises(ConfigError, match=r"escalation\.sink: must name a sink of kind 'case'"):
        load({"escalation": {"enabled": True, "sink": "log"}})


def test_bad_order_pattern_is_named() -> None:
    with pytest.raises(ConfigError, match=r"pattern '\(' is not a valid regular expression"):
        load({"brand_safety": {"order_patterns": ["("]}})
