"""Empathy-tiered reply suggestions from the response library.

:func:`suggest_responses` recognises the scenario of the customer's message by its keywords,
scores every template of the matching scenarios (and the general fallback) by scenario fit,
tier fit, state fit and, at upset and above, active-listening markers, then renders the best
with the customer's first name, a key phrase and a quoted sentence of their message. Each
suggestion is an opening plus an editable next-step stub, never a whole reply, and says why it
was picked. A template under an A/B experiment is swapped for the conversation's variant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter

from empathy_bridge.policies.experiments import assign_variant
from empathy_bridge.policies.extract import first_name, key_phrase, key_sentence, shorten
from empathy_bridge.policies.library import ReplyTemplate, ResponseLibrary, Scenario
from empathy_bridge.policies.lint import empathy_markers
from empathy_bridge.policies.memo import IdentityMemo
from empathy_bridge.policies.settings import ExperimentsSettings, ResponsesSettings
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    EmotionalState,
    Interaction,
    ReplySuggestion,
    Tier,
)

__all__ = ["ScenarioMatch", "detect_scenarios", "render", "suggest_responses"]

_FALLBACK = "general"
_LISTENING = ("paraphrase", "validation")
# Weights of the ranking score; they sum to 1 before the active-listening bonus.
_W_SCENARIO, _W_TIER, _W_STATE = 0.5, 0.3, 0.2
_LISTENING_BONUS = 0.05


@dataclass(frozen=True)
class ScenarioMatch:
    """A scenario recognised in a message, with the keywords that matched."""

    scenario: Scenario
    keywords: tuple[str, ...]


def _keyword(keyword: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(keyword.lower()) + r"(?!\w)")


@dataclass(frozen=True)
class _Entry:
    """A template with what its score needs that depends on the template alone."""

    template: ReplyTemplate
    tier_fit: dict[Tier, float]
    states: frozenset[EmotionalState]
    listening: tuple[str, ...]
    tiers_text: str  # the template's tiers and states as a reason names them
    states_text: str


@dataclass(frozen=True)
class _Index:
    """A library prepared for matching and scoring, built once per library object."""

    #: Per scenario, in library order: the scenario and its keywords.
    scenarios: tuple[tuple[Scenario, tuple[str, ...]], ...]
    #: Every keyword: (scenario position, keyword position, lowered, word-bounded pattern).
    keywords: tuple[tuple[int, int, str, re.Pattern[str]], ...]
    #: id of a library scenario -> its templates with their template-only scoring parts.
    entries: dict[int, tuple[_Entry, ...]]
    #: A scenario's templates scored and ranked for (scenario id, scenario fit, tier, state):
    #: the ranking depends on nothing else, and few combinations occur.
    ranked: dict[tuple[int, float, Tier, EmotionalState], tuple[_Candidate, ...]] = field(
        default_factory=dict)


#: A scored template: (sort key, score, scenario, entry, tier fit, state fit).
_Candidate = tuple[tuple[float, str], float, Scenario, _Entry, float, float]
_MAX_RANKED = 4096  # bound on the ranking cache (scenario fits are ratios of keyword counts)


def _tier_fit(tier: Tier, template: ReplyTemplate) -> float:
    distance = min(abs(tier.rank - t.rank) for t in template.tiers)
    return max(0.0, 1.0 - 0.35 * distance)


def _build_index(library: ResponseLibrary) -> _Index:
    scenarios = tuple((s, tuple(s.keywords)) for s in library.scenarios.values())
    return _Index(
        scenarios=scenarios,
        keywords=tuple((n, k, keyword.lower(), _keyword(keyword))
                       for n, (_, keywords) in enumerate(scenarios)
                       for k, keyword in enumerate(keywords)),
        entries={
            id(scenario): tuple(
                _Entry(template, {tier: _tier_fit(tier, template) for tier in Tier},
                       frozenset(template.states), _listening(template.opening),
                       ", ".join(t.value for t in template.tiers),
                       ", ".join(s.value for s in template.states))
                for template in scenario.templates)
            for scenario in library.scenarios.values()
        },
    )


_index = IdentityMemo(_build_index)


def _ranked(index: _Index, scenario: Scenario, scenario_fit: float, tier: Tier,
            state: EmotionalState) -> tuple[_Candidate, ...]:
    """The scenario's templates by score, best first (ties by template id)."""
    key = (id(scenario), scenario_fit, tier, state)
    found = index.ranked.get(key)
    if found is not None:
        return found
    listens = tier >= Tier.UPSET
    candidates: list[_Candidate] = []
    for entry in index.entries[id(scenario)]:
        tier_fit = entry.tier_fit[tier]
        # A template for any state fits less than one written for this state.
        state_fit = (1.0 if state in entry.states else 0.0) if entry.states else 0.6
        score = _W_SCENARIO * scenario_fit + _W_TIER * tier_fit + _W_STATE * state_fit
        if listens:
            score += _LISTENING_BONUS * len(entry.listening)
        candidates.append(((-score, entry.template.id), score, scenario, entry, tier_fit,
                           state_fit))
    candidates.sort(key=itemgetter(0))
    found = tuple(candidates)
    if len(index.ranked) < _MAX_RANKED:
        index.ranked[key] = found
    return found


def detect_scenarios(text: str, library: ResponseLibrary) -> list[ScenarioMatch]:
    """Scenarios whose keywords occur in ``text``, most keywords first."""
    lowered = text.lower()
    index = _index(library)
    # One pass over every keyword of the library; the substring test is a cheap necessary
    # condition, the pattern adds word boundaries. Most messages match none.
    places = [(n, k) for n, k, low, pattern in index.keywords
              if low in lowered and pattern.search(lowered)]
    if not places:
        return []
    matches = []
    for n, (scenario, keywords) in enumerate(index.scenarios):
        hits = tuple(keywords[k] for m, k in places if m == n)
        if hits:
            matches.append(ScenarioMatch(scenario, hits))
    return sorted(matches, key=lambda m: (-len(m.keywords), m.scenario.scenario))


def _listening(opening: str) -> tuple[str, ...]:
    return tuple(m for m in empathy_markers(opening) if m in _LISTENING)


def _reason(entry: _Entry, scenario_reason: str, tier_fit: float, state_fit: float,
            listening: tuple[str, ...], context: EmotionalContext) -> str:
    """What made a candidate's score, in words (only for the candidates that are shown)."""
    reasons = [scenario_reason,
               f"tier {context.tier.value} {'in' if tier_fit == 1 else 'near'} "
               f"[{entry.tiers_text}]"]
    if entry.states:
        fits = "fits" if state_fit else "does not fit"
        reasons.append(f"state {context.state.value} {fits} [{entry.states_text}]")
    if listening:
        reasons.append("active listening: " + " + ".join(listening))
    return "; ".join(reasons)


@dataclass(frozen=True)
class _Fill:
    """What a template is filled with for one message, extracted once for all its candidates."""

    name: str | None
    phrase: str | None
    quote: str
    brand: str

    @classmethod
    def of(cls, interaction: Interaction, context: EmotionalContext,
           conversation: Conversation, settings: ResponsesSettings) -> _Fill:
        sentence = key_sentence(interaction.text, context.cues)
        return cls(
            name=first_name(interaction.customer or conversation.customer or interaction.author),
            phrase=key_phrase(interaction.text),
            quote=shorten(sentence or interaction.text, 140).rstrip(".!? "),
            brand=settings.brand,
        )


def render(template: ReplyTemplate, scenario: Scenario, interaction: Interaction,
           context: EmotionalContext, conversation: Conversation,
           settings: ResponsesSettings) -> str:
    """The template filled for this customer: opening, blank line, next-step stub."""
    return _render(template, scenario, _Fill.of(interaction, context, conversation, settings))


_LEADING_THERE = re.compile(r"^there,\s*")


def _render(template: ReplyTemplate, scenario: Scenario, fill: _Fill) -> str:
    name = fill.name
    values = {
        "name": name or "there",
        "issue": fill.phrase or scenario.issue,
        "quote": fill.quote,
        "brand": fill.brand,
        "agent": "[your name]",
    }
    opening = " ".join(template.opening.format_map(values).split())
    if not name:
        # "there, I can see..." reads badly; drop a leading "there," the template put first.
        opening = _LEADING_THERE.sub("", opening)
        opening = opening[:1].upper() + opening[1:]
        opening = opening.replace(", there.", ".").replace(", there;", ";")
    return f"{opening}\n\n{template.next_step.format_map(values)}"


def suggest_responses(
    interaction: Interaction,
    context: EmotionalContext,
    conversation: Conversation,
    settings: ResponsesSettings,
    library: ResponseLibrary,
    experiments: ExperimentsSettings | None = None,
) -> list[ReplySuggestion]:
    """Ranked suggestions for the agent answering ``interaction``, each with its reason."""
    matches = detect_scenarios(interaction.text, library)
    best = len(matches[0].keywords) if matches else 0
    scenarios = [(m.scenario, len(m.keywords) / best, f"scenario {m.scenario.scenario} (matched "
                  + ", ".join(repr(k) for k in m.keywords[:3]) + ")") for m in matches]
    fallback = library.scenarios.get(_FALLBACK)
    if fallback is not None and all(s is not fallback for s, _, _ in scenarios):
        scenarios.append((fallback, 0.3 if matches else 0.6,
                          f"scenario {_FALLBACK} (no scenario keyword matched)" if not matches
                          else f"scenario {_FALLBACK} (fallback)"))
    index = _index(library)
    tier, state = context.tier, context.state
    listens = tier >= Tier.UPSET
    reasons = {id(scenario): reason for scenario, _, reason in scenarios}
    parts = [_ranked(index, scenario, scenario_fit, tier, state)
             for scenario, scenario_fit, _ in scenarios
             if scenario_fit >= settings.min_scenario_score]
    # Each part is ranked already; a stable sort of them in scenario order ranks ties as a
    # sort of all candidates would.
    candidates = parts[0] if len(parts) == 1 else sorted(chain.from_iterable(parts),
                                                         key=itemgetter(0))
    suggestions: list[ReplySuggestion] = []
    fill: _Fill | None = None
    for _, score, scenario, entry, tier_fit, state_fit in candidates:
        if len(suggestions) >= settings.max_suggestions:
            break
        template = entry.template
        # Worded only for the candidates that are shown, not for every template scored.
        reason = _reason(entry, reasons[id(scenario)], tier_fit, state_fit,
                         entry.listening if listens else (), context)
        chosen, chosen_scenario, variant = template, scenario, None
        for exp_name, experiment in (experiments.root.items() if experiments else ()):
            if not experiment.enabled or experiment.template != template.id:
                continue
            picked = assign_variant(exp_name, experiment, conversation.conversation_id)
            found = library.template(experiment.variants[picked].template)
            if found is not None:
                chosen_scenario, chosen = found
                variant = f"{exp_name}:{picked}"
                reason += f"; experiment {exp_name} variant {picked}"
            break
        if any(s.template_id == chosen.id for s in suggestions):
            continue  # an experiment variant can coincide with another candidate
        if fill is None:
            fill = _Fill.of(interaction, context, conversation, settings)
        suggestions.append(ReplySuggestion(
            text=_render(chosen, chosen_scenario, fill),
            template_id=chosen.id, scenario=chosen_scenario.scenario, tier=context.tier,
            score=round(min(score, 1.0), 4), reason=reason, variant=variant))
    return suggestions
