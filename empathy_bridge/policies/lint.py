"""Empathy markers of reply templates, and the linter that flags cold templates at high tiers.

Markers are phrase patterns, matched case-insensitively on the template text (placeholders
count: ``{quote}`` and ``{issue}`` are paraphrase by construction, ``{name}`` is personal).
The linter's bar rises with the tier a template is written for: at upset and above it must
acknowledge, validate and paraphrase; at distressed and above it must also apologise or take
ownership; at no tier may it use cold phrasing ("per our policy", "calm down").
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from empathy_bridge.policies.library import ReplyTemplate, ResponseLibrary, Scenario
from empathy_bridge.schemas import Tier

__all__ = ["COLD", "WARM", "LintResult", "cold_markers", "empathy_markers", "lint_library",
           "lint_template"]

#: Warm markers: name → pattern.
WARM: dict[str, re.Pattern[str]] = {
    "acknowledgment": re.compile(
        r"\b(thanks? (you )?for|I (can )?see|I understand|I hear|I've (looked|pulled|read))\b",
        re.IGNORECASE),
    "validation": re.compile(
        r"\b(understandable|makes? (complete )?sense|you're right|(completely |a )?fair|"
        r"no wonder|anyone would|not (okay|ok|acceptable)|isn't (okay|ok|acceptable)|"
        r"frustrating|frustration|worrying|worried|disruptive|shouldn't (have to )?happen)\b",
        re.IGNORECASE),
    "paraphrase": re.compile(
        r"\{quote\}|\{issue\}|\b(it sounds like|you mentioned|you wrote|you said|you told us|"
        r"if I understand)\b",
        re.IGNORECASE),
    "apology": re.compile(r"\b(sorry|apologi[sz]e)\b", re.IGNORECASE),
    "ownership": re.compile(
        r"\b(I'll|I will|I'm (taking|checking|on it)|let me|I'm going to|personally)\b",
        re.IGNORECASE),
    "personal": re.compile(r"\{name\}"),
}

#: Cold markers: phrasing that reads as dismissive whatever the tier.
COLD: dict[str, re.Pattern[str]] = {
    "policy": re.compile(r"\b(per (our|the) polic(y|ies)|as per|company policy)\b", re.IGNORECASE),
    "deflection": re.compile(
        r"\b(nothing (we|I) can do|not our (fault|problem)|out of our hands)\b", re.IGNORECASE),
    "scolding": re.compile(
        r"\b(as (previously )?(stated|mentioned)|please note|you (must|should have)|calm down)\b",
        re.IGNORECASE),
    "hedging": re.compile(r"\bunfortunately\b", re.IGNORECASE),
}

# What a template must carry, by the highest tier it is written for.
_REQUIRED: dict[Tier, tuple[str, ...]] = {
    Tier.CALM: (),
    Tier.CONCERNED: ("acknowledgment",),
    Tier.UPSET: ("acknowledgment", "validation", "paraphrase"),
    Tier.DISTRESSED: ("acknowledgment", "validation", "paraphrase"),
    Tier.CRITICAL: ("acknowledgment", "validation", "paraphrase"),
}
_ONE_OF_AT_DISTRESS = ("apology", "ownership")


def empathy_markers(text: str) -> list[str]:
    """Names of the warm markers present in ``text``, in :data:`WARM` order."""
    return [name for name, pattern in WARM.items() if pattern.search(text)]


def cold_markers(text: str) -> list[str]:
    """Names of the cold markers present in ``text``."""
    return [name for name, pattern in COLD.items() if pattern.search(text)]


class LintResult(BaseModel):
    """The linter's verdict on one template."""

    model_config = ConfigDict(frozen=True)

    template_id: str
    scenario: str
    top_tier: Tier
    score: int
    markers: list[str]
    cold: list[str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when nothing is flagged."""
        return not self.problems


def lint_template(scenario: Scenario, template: ReplyTemplate) -> LintResult:
    """Score one template (warm markers minus twice the cold ones) and list its problems."""
    text = f"{template.opening} {template.next_step}"
    warm, cold = empathy_markers(text), cold_markers(text)
    top = max(template.tiers)
    problems = [f"missing {marker} (needed at tier {top.value})"
                for marker in _REQUIRED[top] if marker not in warm]
    if top >= Tier.DISTRESSED and not any(m in warm for m in _ONE_OF_AT_DISTRESS):
        problems.append(f"needs an apology or ownership at tier {top.value}")
    if cold:
        problems.append("cold phrasing: " + ", ".join(cold))
    return LintResult(template_id=template.id, scenario=scenario.scenario, top_tier=top,
                      score=len(warm) - 2 * len(cold), markers=warm, cold=cold, problems=problems)


def lint_library(library: ResponseLibrary) -> list[LintResult]:
    """Lint every template of the library, in scenario order."""
    return [lint_template(scenario, template) for scenario, template in library.templates()]
