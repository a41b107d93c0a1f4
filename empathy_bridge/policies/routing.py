"""Declarative routing: rules of validated conditions, evaluated in order, each explaining itself.

A rule's ``when`` is data, never code (no ``eval``): every condition is a field of
:class:`~empathy_bridge.policies.settings.RuleCondition`. :func:`explain_routing` evaluates every
rule and says, condition by condition, why it matched or not and whether it fired;
:func:`route` returns the decisions of the rules that fired.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from empathy_bridge.policies.settings import RoutingRule, RoutingSettings, RuleCondition
from empathy_bridge.schemas import Conversation, EmotionalContext, Interaction, RoutingDecision

__all__ = ["ConditionCheck", "RuleEvaluation", "evaluate_rule", "explain_routing", "route"]


class ConditionCheck(BaseModel):
    """One condition of a rule and whether the interaction met it."""

    model_config = ConfigDict(frozen=True)

    condition: str
    passed: bool
    detail: str


class RuleEvaluation(BaseModel):
    """The verdict on one rule for one interaction."""

    model_config = ConfigDict(frozen=True)

    rule: str
    matched: bool
    fired: bool
    checks: list[ConditionCheck]
    note: str
    decision: RoutingDecision | None = None


def _fmt(values: object) -> str:
    if isinstance(values, list | tuple | set | frozenset):
        return "[" + ", ".join(sorted(str(getattr(v, "value", v)) for v in values)) + "]"
    return str(getattr(values, "value", values))


def _segment(interaction: Interaction, conversation: Conversation) -> str | None:
    for party in (interaction.customer, conversation.customer, interaction.author):
        if party is not None and party.segment:
            return party.segment
    return None


def _language_matches(language: str | None, wanted: list[str]) -> bool:
    # "en" in a rule matches "en-GB" on a message; comparison ignores case and '_' vs '-'.
    if not language:
        return False
    lang = language.lower().replace("_", "-")
    return any(lang == w.lower() or lang.startswith(w.lower() + "-") for w in wanted)


def _checks(
    when: RuleCondition,
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
) -> list[ConditionCheck]:
    checks: list[ConditionCheck] = []

    def add(name: str, passed: bool, actual: object, wanted: object, relation: str) -> None:
        verb = relation if passed else f"not {relation}"
        checks.append(ConditionCheck(condition=name, passed=passed,
                                     detail=f"{_fmt(actual)} {verb} {_fmt(wanted)}"))

    if when.states:
        add("states", context.state in when.states, context.state, when.states, "in")
    if when.min_tier is not None:
        add("min_tier", context.tier >= when.min_tier, context.tier, when.min_tier, "≥")
    if when.max_tier is not None:
        add("max_tier", context.tier <= when.max_tier, context.tier, when.max_tier, "≤")
    if when.min_intensity is not None:
        add("min_intensity", context.intensity >= when.min_intensity,
            round(context.intensity, 3), when.min_intensity, "≥")
    kinds = context.cue_kinds()
    if when.cues_any:
        add("cues_any", bool(kinds & set(when.cues_any)), kinds or "no cues", when.cues_any,
            "overlap")
    if when.cues_all:
        add("cues_all", set(when.cues_all) <= kinds, kinds or "no cues", when.cues_all,
            "include all of")
    if when.channels:
        add("channels", interaction.channel in when.channels, interaction.channel, when.channels,
            "in")
    if when.visibility is not None:
        add("visibility", interaction.visibility is when.visibility, interaction.visibility,
            when.visibility, "is")
    if when.segments:
        segment = _segment(interaction, conversation)
        add("segments", segment in when.segments, segment or "no segment", when.segments, "in")
    if when.languages:
        language = interaction.language or context.language
        add("languages", _language_matches(language, when.languages), language or "unknown",
            when.languages, "in")
    if when.sources:
        add("sources", interaction.source in when.sources, interaction.source, when.sources, "in")
    if when.trends:
        trend = conversation.trajectory.trend if conversation.trajectory else None
        add("trends", trend in when.trends, trend or "no trajectory", when.trends, "in")
    return checks


def _passes(
    when: RuleCondition,
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
) -> bool:
    # The fast path of routing: the same conditions as _checks, short-circuited and without
    # building explanation objects, since most rules do not match most interactions.
    if when.states and context.state not in when.states:
        return False
    if when.min_tier is not None and context.tier < when.min_tier:
        return False
    if when.max_tier is not None and context.tier > when.max_tier:
        return False
    if when.min_intensity is not None and context.intensity < when.min_intensity:
        return False
    if when.channels and interaction.channel not in when.channels:
        return False
    if when.visibility is not None and interaction.visibility is not when.visibility:
        return False
    if when.sources and interaction.source not in when.sources:
        return False
    if when.cues_any or when.cues_all:
        kinds = context.cue_kinds()
        if when.cues_any and not kinds & set(when.cues_any):
            return False
        if when.cues_all and not set(when.cues_all) <= kinds:
            return False
    if when.segments and _segment(interaction, conversation) not in when.segments:
        return False
    if when.languages and not _language_matches(interaction.language or context.language,
                                                when.languages):
        return False
    if when.trends:
        trend = conversation.trajectory.trend if conversation.trajectory else None
        if trend not in when.trends:
            return False
    return True


def _decision(rule: RoutingRule, checks: list[ConditionCheck]) -> RoutingDecision:
    because = "; ".join(check.detail for check in checks) or "matches every interaction"
    reason = f"{rule.reason}: {because}" if rule.reason else because
    return RoutingDecision(action=rule.action, target=rule.target,
                           target_source=rule.target_source, rule=rule.name, reason=reason)


def evaluate_rule(
    rule: RoutingRule,
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
) -> tuple[bool, list[ConditionCheck]]:
    """Whether ``rule`` matches, and the check of each of its conditions."""
    checks = _checks(rule.when, interaction, context, conversation)
    return all(check.passed for check in checks), checks


def explain_routing(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    settings: RoutingSettings,
) -> list[RuleEvaluation]:
    """Every rule in order: matched or not (and which condition failed), fired or skipped."""
    evaluations: list[RuleEvaluation] = []
    stopped_by: str | None = None
    for rule in settings.rules:
        matched, checks = evaluate_rule(rule, interaction, context, conversation)
        failed = [check.detail for check in checks if not check.passed]
        if stopped_by is not None:
            note = f"not applied: rule {stopped_by!r} matched first and stops evaluation"
            if not matched:
                note += f" (would not match either: {'; '.join(failed)})"
            evaluations.append(RuleEvaluation(rule=rule.name, matched=matched, fired=False,
                                              checks=checks, note=note))
            continue
        if not matched:
            evaluations.append(RuleEvaluation(rule=rule.name, matched=False, fired=False,
                                              checks=checks,
                                              note="did not match: " + "; ".join(failed)))
            continue
        decision = _decision(rule, checks)
        note = f"fired: {decision.action} → {decision.target}"
        if settings.stops(rule):
            stopped_by = rule.name
            note += " (stops evaluation)"
        evaluations.append(RuleEvaluation(rule=rule.name, matched=True, fired=True, checks=checks,
                                          note=note, decision=decision))
    return evaluations


def route(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    settings: RoutingSettings,
) -> list[RoutingDecision]:
    """The routing decisions of the rules that fire, in rule order (same as the ``fired``
    entries of :func:`explain_routing`)."""
    decisions: list[RoutingDecision] = []
    for rule in settings.rules:
        if not _passes(rule.when, interaction, context, conversation):
            continue
        decisions.append(_decision(rule, _checks(rule.when, interaction, context, conversation)))
        if settings.stops(rule):
            break
    return decisions
