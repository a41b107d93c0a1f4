"""The built-in policies as plugins: wired into the engine, configurable, replaceable."""

from __future__ import annotations

from typing import Any

from empathy_bridge.config import BridgeConfig
from empathy_bridge.engine import Bridge
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.plugins import get_plugin_manager, plugin_infos
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    Interaction,
    Priority,
    PriorityDecision,
    Tier,
)

ENV = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}

CONFIG: dict[str, Any] = {
    "store": {"url": "sqlite://"},
    "sla": {"public_channels": ["social", "forum"]},
    "routing": {"rules": [{"name": "distress", "when": {"min_tier": "distressed"},
                           "action": "group", "target": "care"}]},
    "handoff": {"intensity_threshold": 0.6},
    "responses": {"max_suggestions": 2},
}


def _conversation(build: Any) -> Conversation:
    customer = build.customer()
    message = build.message("p1", "My order is late again. Third time I write!",
                            channel="forum", customer=customer)
    context = build.context("frustration", 0.7, "distressed", cues=["repeated_contact"])
    conversation: Conversation = build.conversation([(message, context)])
    return conversation


def test_builtin_policies_decide_through_the_engine(build: Any) -> None:
    with Bridge.from_config(CONFIG, environ=ENV) as bridge:
        plan = bridge.decide(_conversation(build))
    assert plan is not None
    decisions = plan.decisions
    assert decisions.priority is not None and decisions.priority.policy == "builtin.sla"
    # "forum" was configured as a public channel: distressed + public + repeated contact.
    assert decisions.priority.reason.startswith(
        "distressed + public + repeated contact → urgent, reply within 15 min")
    assert [d.rule for d in decisions.routing] == ["distress"]
    # A forum post with no bot in the thread is not a bot conversation.
    assert decisions.handoff is not None and not decisions.handoff.handoff
    assert decisions.handoff.reasons[0].startswith("not a bot conversation")
    assert len(decisions.suggestions) == 2
    assert decisions.suggestions[0].scenario == "delay"


def test_the_plugin_lists_its_hooks() -> None:
    infos = {info.name: info for info in plugin_infos(get_plugin_manager(ENV))}
    assert set(infos["builtin.policies"].hooks) >= {
        "empathy_bridge_decide_priority", "empathy_bridge_route", "empathy_bridge_decide_handoff",
        "empathy_bridge_suggest_responses", "empathy_bridge_register_settings",
        "empathy_bridge_register_commands"}


class _FlatPriority:
    """A user's plugin that replaces the built-in SLA policy."""

    @hookimpl(tryfirst=True)
    def empathy_bridge_decide_priority(self, interaction: Interaction, context: EmotionalContext,
                                       conversation: Conversation,
                                       config: BridgeConfig) -> PriorityDecision:
        return PriorityDecision(priority=Priority.NORMAL, tier=Tier.CALM, reason="flat",
                                policy="mine")


def test_a_user_plugin_replaces_the_sla_policy(build: Any) -> None:
    with Bridge.from_config(CONFIG, environ=ENV, plugins=[_FlatPriority()]) as bridge:
        plan = bridge.decide(_conversation(build))
    assert plan is not None and plan.decisions.priority is not None
    assert plan.decisions.priority.policy == "mine"


def test_the_builtin_policies_can_be_switched_off(build: Any) -> None:
    env = {**ENV, "EMPATHY_BRIDGE_DISABLE_PLUGINS": "builtin.policies"}
    with Bridge.from_config({"store": {"url": "sqlite://"}}, environ=env) as bridge:
        plan = bridge.decide(_conversation(build))
    assert plan is not None
    assert plan.decisions.priority is None and plan.decisions.routing == []
