"""The config sections of the built-in policies: ``[sla]``, ``[routing]``, ``[handoff]``,
``[responses]`` and ``[experiments]``.

Each section is a pydantic model registered through ``empathy_bridge_register_settings``, so a
mistake in the config file fails at load with one line naming the key. Every key has a default:
an empty config gives the documented default behaviour (see ``docs/policies.md``).

Validators raise :class:`pydantic_core.PydanticCustomError` rather than ``ValueError`` so the
one-line message carries no "Value error," prefix.
"""

from __future__ import annotations

import math
import re
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from empathy_bridge.schemas import EmotionalState, Priority, Tier, Trend, Visibility

__all__ = [
    "DEFAULT_MATRIX",
    "DEFAULT_NEVER_AUTOMATE",
    "METRICS",
    "BusinessHours",
    "Experiment",
    "ExperimentsSettings",
    "HandoffSettings",
    "Metric",
    "NeverAutomateTopic",
    "ReachRule",
    "ResponsesSettings",
    "RoutingRule",
    "RoutingSettings",
    "RuleCondition",
    "SlaRow",
    "SlaSettings",
    "Variant",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _error(code: str, message: str, **values: Any) -> PydanticCustomError:
    # Formatted here (pydantic's templates know no ``!r``); no context, so no second pass.
    return PydanticCustomError(code, message.format(**values))


# --- [sla] ----------------------------------------------------------------------------------


class BusinessHours(_Section):
    """``[sla.business_hours]``: when the team works, in its own time zone."""

    timezone: str = Field(default="UTC", description="IANA time zone, e.g. 'Europe/Berlin'.")
    days: list[Weekday] = Field(default_factory=lambda: list(_WEEKDAYS[:5]))
    start: time = time(9, 0)
    end: time = time(17, 0)
    holidays: list[date] = Field(default_factory=list, description="Extra closed dates.")
    holiday_country: str | None = Field(
        default=None,
        description="ISO country code whose public holidays are closed ('holidays' package).",
    )
    holiday_subdivision: str | None = Field(default=None, description="State/province code.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise _error(
                "timezone", "unknown time zone {zone!r}: use an IANA name such as 'Europe/Berlin'",
                zone=value,
            ) from None
        return value

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: list[Weekday]) -> list[Weekday]:
        if not value:
            raise _error("days", "at least one working day is required")
        return sorted(set(value), key=_WEEKDAYS.index)

    @model_validator(mode="after")
    def _window(self) -> BusinessHours:
        if self.start >= self.end:
            raise _error("window", "business hours start must be before end (same day)")
        if self.holiday_country is not None:
            import holidays

            try:
                holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision)
            except NotImplementedError:
                raise _error(
                    "country", "holiday_country {country!r} is not known to the holidays package",
                    country=self.holiday_country,
                ) from None
        return self

    def weekday_numbers(self) -> frozenset[int]:
        """Working days as ``date.weekday()`` numbers (Monday is 0)."""
        return frozenset(_WEEKDAYS.index(day) for day in self.days)


class SlaRow(_Section):
    """One cell of the SLA matrix: tier × channel × segment → priority and reply targets.

    ``channel`` is ``"*"``, ``"public"``, ``"private"`` or a channel name (``email``, ``chat``,
    ``social``...); ``segment`` is ``"*"`` or a customer segment. When several rows match, the most
    specific wins: an exact segment beats ``"*"``; then a channel name beats public/private,
    which beats ``"*"``.
    """

    tier: Tier
    channel: str = "*"
    segment: str = "*"
    priority: Priority
    first_response_minutes: int = Field(ge=1, le=60 * 24 * 60)
    next_response_minutes: int = Field(ge=1, le=60 * 24 * 60)
    business_hours: bool = Field(
        default=True, description="Count the targets in business hours (false: around the clock)."
    )

    def channel_rank(self) -> int:
        """Specificity of the channel condition: name 2, public/private 1, wildcard 0."""
        if self.channel == "*":
            return 0
        return 1 if self.channel in ("public", "private") else 2


def _matrix(rows: list[tuple[str, str, str, str, int, int, bool]]) -> list[SlaRow]:
    return [
        SlaRow(tier=Tier(tier), channel=channel, segment=segment, priority=Priority(priority),
               first_response_minutes=first, next_response_minutes=nxt, business_hours=bh)
        for tier, channel, segment, priority, first, nxt, bh in rows
    ]


#: The shipped matrix (documented as a table in docs/policies.md). Public interactions get
#: faster targets than private ones at the same tier, because an unanswered angry post is seen
#: by everyone; enterprise customers get faster targets again. From "upset + public" and
#: "distressed" up, the clock runs around the clock, not in business hours.
DEFAULT_MATRIX: list[SlaRow] = _matrix([
    # tier,        channel,  segment,      priority, first, next, business hours
    ("calm",       "private", "*",          "low",     480,  960, True),
    ("calm",       "public",  "*",          "normal",  240,  480, True),
    ("concerned",  "private", "*",          "normal",  240,  480, True),
    ("concerned",  "public",  "*",          "normal",  120,  240, True),
    ("upset",      "private", "*",          "high",    120,  240, True),
    ("upset",      "public",  "*",          "high",     60,  120, False),
    ("distressed", "private", "*",          "high",     60,  120, False),
    ("distressed", "public",  "*",          "urgent",   30,   60, False),
    ("critical",   "private", "*",          "urgent",   30,   60, False),
    ("critical",   "public",  "*",          "urgent",   15,   30, False),
    ("calm",       "private", "enterprise", "normal",  240,  480, True),
    ("calm",       "public",  "enterprise", "normal",  120,  240, True),
    ("concerned",  "private", "enterprise", "normal",  120,  240, True),
    ("concerned",  "public",  "enterprise", "high",     60,  120, True),
    ("upset",      "private", "enterprise", "high",     60,  120, False),
    ("upset",      "public",  "enterprise", "urgent",   30,   60, False),
    ("distressed", "private", "enterprise", "urgent",   30,   60, False),
    ("distressed", "public",  "enterprise", "urgent",   15,   30, False),
    ("critical",   "private", "enterprise", "urgent",   15,   30, False),
    ("critical",   "public",  "enterprise", "urgent",   10,   20, False),
])


class ReachRule(_Section):
    """Raise the tier of authors with at least ``min_followers`` followers (public networks)."""

    min_followers: int = Field(ge=0)
    raise_tiers: int = Field(default=1, ge=0, le=4)


class SlaSettings(_Section):
    """``[sla]``: the SLA matrix, business hours and what may raise a tier."""

    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    matrix: list[SlaRow] = Field(
        default_factory=lambda: list(DEFAULT_MATRIX),
        description="Replaces the default matrix entirely when given.",
    )
    public_channels: list[str] = Field(
        default_factory=lambda: ["social"],
        description="Channels that count as public whatever the interaction's visibility.",
    )
    raise_on_escalating: int = Field(
        default=1, ge=0, le=4, description="Tiers added when the conversation's trend escalates."
    )
    raise_on_cues: dict[str, int] = Field(
        default_factory=lambda: {"repeated_contact": 1, "churn_threat": 1},
        description="Cue kind → tiers added when the message carries that cue.",
    )
    reach: list[ReachRule] = Field(
        default_factory=list,
        description="Follower thresholds that raise the tier (the highest reached applies).",
    )
    max_raise: int = Field(default=2, ge=0, le=4, description="Cap on the total tiers added.")

    @field_validator("raise_on_cues")
    @classmethod
    def _cue_steps(cls, value: dict[str, int]) -> dict[str, int]:
        for kind, steps in value.items():
            if not 0 <= steps <= 4:
                raise _error("steps", "raise_on_cues.{kind}: must be between 0 and 4", kind=kind)
        return value

    @field_validator("matrix")
    @classmethod
    def _complete_matrix(cls, matrix: list[SlaRow]) -> list[SlaRow]:
        seen: set[tuple[Tier, str, str]] = set()
        for row in matrix:
            key = (row.tier, row.channel, row.segment)
            if key in seen:
                raise _error(
                    "duplicate_row",
                    "matrix has two rows for tier {tier!r}, channel {channel!r}, segment "
                    "{segment!r}; keep one",
                    tier=row.tier.value, channel=row.channel, segment=row.segment,
                )
            seen.add(key)
        for tier in Tier:
            for visibility in ("public", "private"):
                if not any(r.tier is tier and r.segment == "*" and r.channel in ("*", visibility)
                           for r in matrix):
                    raise _error(
                        "incomplete_matrix",
                        "matrix has no row for tier {tier!r} with segment '*' covering {vis} "
                        "interactions; add one with channel '*' or {vis!r}",
                        tier=tier.value, vis=visibility,
                    )
        return matrix


# --- [routing] ------------------------------------------------------------------------------


def _states(value: Any) -> Any:
    # A friendlier one-liner than pydantic's enum message, naming the known states.
    if isinstance(value, list):
        known = {state.value for state in EmotionalState}
        for item in value:
            if isinstance(item, str) and item not in known:
                raise _error(
                    "unknown_state", "unknown emotional state {state!r} (known: {known})",
                    state=item, known=", ".join(s.value for s in EmotionalState),
                )
    return value


class RuleCondition(_Section):
    """``when`` of a routing rule. Every given condition must hold; an empty one matches all."""

    states: list[EmotionalState] = Field(default_factory=list, description="Any of these states.")
    min_tier: Tier | None = None
    max_tier: Tier | None = None
    min_intensity: float | None = Field(default=None, ge=0.0, le=1.0)
    cues_any: list[str] = Field(default_factory=list, description="At least one of these cues.")
    cues_all: list[str] = Field(default_factory=list, description="Every one of these cues.")
    channels: list[str] = Field(default_factory=list)
    visibility: Visibility | None = None
    segments: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    trends: list[Trend] = Field(default_factory=list)

    _check_states = field_validator("states", mode="before")(_states)

    @model_validator(mode="after")
    def _tier_range(self) -> RuleCondition:
        low, high = self.min_tier, self.max_tier
        if low is not None and high is not None and low > high:
            raise _error("tier_range", "min_tier is above max_tier: the rule can never match")
        return self

    def signature(self) -> tuple[Any, ...]:
        """A canonical form of the condition (list order ignored), to spot duplicate rules."""
        data = self.model_dump(mode="json")
        return tuple(
            (key, tuple(sorted(value)) if isinstance(value, list) else value)
            for key, value in sorted(data.items())
        )

    def is_empty(self) -> bool:
        """True when the condition matches every interaction."""
        return self == RuleCondition()


class RoutingRule(_Section):
    """One ``[[routing.rules]]`` entry: a condition and where matching work goes."""

    name: str = Field(description="Unique rule name, shown in decisions and in `explain`.")
    when: RuleCondition = Field(default_factory=RuleCondition)
    action: Literal["queue", "group", "owner", "create_case", "tag"] = "queue"
    target: str = Field(min_length=1, description="Queue/group/owner id, tag, or case type.")
    target_source: str | None = Field(
        default=None, description="For create_case: the configured source that opens the case."
    )
    reason: str = ""
    stop: bool | None = Field(
        default=None,
        description="Stop evaluating after this rule matches; default follows routing.mode.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise _error("name", "rule name {name!r} must be letters, digits, '_', '-' or '.'",
                         name=value)
        return value

    @model_validator(mode="after")
    def _case_source(self) -> RoutingRule:
        if self.action == "create_case" and not self.target_source:
            raise _error("target_source", "rule {name!r}: action create_case needs target_source",
                         name=self.name)
        return self


class RoutingSettings(_Section):
    """``[routing]``: rules evaluated in order; ``mode`` says whether the first match ends it."""

    mode: Literal["first", "all"] = "first"
    rules: list[RoutingRule] = Field(default_factory=list)

    @field_validator("rules")
    @classmethod
    def _no_dead_rules(cls, rules: list[RoutingRule], info: ValidationInfo) -> list[RoutingRule]:
        mode = info.data.get("mode", "first")
        names: set[str] = set()
        for rule in rules:
            if rule.name in names:
                raise _error("duplicate_name", "two rules are named {name!r}", name=rule.name)
            names.add(rule.name)
        stopping: dict[tuple[Any, ...], str] = {}
        for index, rule in enumerate(rules):
            signature = rule.when.signature()
            if signature in stopping:
                raise _error(
                    "overlap",
                    "rules {first!r} and {second!r} have identical conditions and {first!r} "
                    "stops evaluation, so {second!r} can never fire: merge them or set "
                    "mode = \"all\"",
                    first=stopping[signature], second=rule.name,
                )
            if _stops(rule, mode):
                if rule.when.is_empty() and index < len(rules) - 1:
                    raise _error(
                        "shadow",
                        "rule {name!r} matches everything and stops, so the rules after it never "
                        "fire: move it last",
                        name=rule.name,
                    )
                stopping[signature] = rule.name
        return rules

    def stops(self, rule: RoutingRule) -> bool:
        """Whether a match of ``rule`` ends evaluation."""
        return _stops(rule, self.mode)


def _stops(rule: RoutingRule, mode: str) -> bool:
    return rule.stop if rule.stop is not None else mode == "first"


# --- [handoff] ------------------------------------------------------------------------------


class NeverAutomateTopic(_Section):
    """A topic where empathy requires a human: any keyword or cue kind hands the chat over."""

    name: str
    keywords: list[str] = Field(default_factory=list, description="Whole words/phrases, any case.")
    cue_kinds: list[str] = Field(default_factory=list)


DEFAULT_NEVER_AUTOMATE: list[NeverAutomateTopic] = [
    NeverAutomateTopic(name="bereavement", cue_kinds=["bereavement"], keywords=[
        "passed away", "died", "death", "funeral", "bereavement", "deceased", "my late"]),
    NeverAutomateTopic(name="legal", cue_kinds=["legal_threat"], keywords=[
        "lawyer", "attorney", "lawsuit", "sue you", "legal action", "court", "solicitor"]),
    NeverAutomateTopic(name="safety", cue_kinds=["safety", "self_harm"], keywords=[
        "injured", "injury", "unsafe", "caught fire", "on fire", "electric shock", "hospital",
        "suicide", "kill myself", "hurt myself"]),
    NeverAutomateTopic(name="fraud", cue_kinds=["fraud"], keywords=[
        "fraud", "scam", "stolen", "identity theft", "unauthorized charge",
        "unauthorised charge", "hacked"]),
]


class HandoffSettings(_Section):
    """``[handoff]``: when a bot conversation goes to a human."""

    enabled: bool = True
    scope: Literal["bot_conversations", "all"] = Field(
        default="bot_conversations",
        description="Decide only for conversations a bot answers (a bot message, or a channel in "
        "bot_channels), or for every conversation.",
    )
    bot_channels: list[str] = Field(
        default_factory=lambda: ["chat", "messaging", "bot"],
        description="Channels where a bot answers, so even a first message is in scope.",
    )
    intensity_threshold: float = Field(
        default=0.75, ge=0.0, le=1.0, description="Hand off when the latest intensity reaches this."
    )
    frustration_rise_turns: int = Field(
        default=2, ge=1, le=10,
        description="Consecutive rises of frustration across customer turns that hand off.",
    )
    frustration_floor: float = Field(
        default=0.35, ge=0.0, le=1.0,
        description="A rise only counts once frustration reaches this level.",
    )
    frustration_cues: list[str] = Field(
        default_factory=lambda: ["repeated_contact", "churn_threat", "urgency", "shouting",
                                 "profanity", "human_request"],
        description="Cue kinds that add 0.1 each to a turn's frustration level.",
    )
    human_request_cues: list[str] = Field(default_factory=lambda: ["human_request"])
    repetition_similarity: float = Field(
        default=0.85, gt=0.0, le=1.0, description="Bot messages this similar count as a repeat."
    )
    never_automate: list[NeverAutomateTopic] = Field(
        default_factory=lambda: list(DEFAULT_NEVER_AUTOMATE)
    )
    summary_sentences: int = Field(default=3, ge=1, le=10)


# --- [responses] ----------------------------------------------------------------------------


class ResponsesSettings(_Section):
    """``[responses]``: the reply-suggestion library and how many suggestions to offer."""

    library: str | None = Field(
        default=None,
        description="Folder of YAML files layered over the shipped library (relative to the "
        "config file); a scenario defined there replaces the shipped one.",
    )
    replace_builtin: bool = Field(default=False, description="Use only the folder's library.")
    max_suggestions: int = Field(default=3, ge=1, le=20)
    brand: str = Field(default="our team", description="Fills the {brand} placeholder.")
    min_scenario_score: float = Field(default=0.0, ge=0.0)


# --- [experiments] --------------------------------------------------------------------------

Metric = Literal["csat", "reopen", "next_message_sentiment", "resolution_time"]
#: Metric → kind. Binary metrics are proportions (0/1); continuous ones are means.
METRICS: dict[str, Literal["binary", "continuous"]] = {
    "csat": "binary",
    "reopen": "binary",
    "next_message_sentiment": "continuous",
    "resolution_time": "continuous",
}


class Variant(_Section):
    """One phrasing variant: the library template it uses and its share of traffic."""

    template: str = Field(description="Template id in the response library.")
    split: Annotated[float, Field(gt=0.0, le=1.0)]


class Experiment(_Section):
    """``[experiments.NAME]``: variants of one template, their split and the outcomes to compare."""

    template: str = Field(description="The template id whose suggestions are experimented on.")
    variants: dict[str, Variant]
    control: str | None = Field(default=None, description="Baseline variant; default the first.")
    metrics: list[Metric] = Field(default_factory=lambda: list[Metric](["csat"]))
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    power: float = Field(default=0.8, gt=0.5, lt=1.0)
    min_detectable_effect: dict[Metric, float] = Field(
        default_factory=dict,
        description="Per metric: absolute difference for binary metrics (default 0.05), Cohen's d "
        "for continuous ones (default 0.2).",
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _split(self) -> Experiment:
        if len(self.variants) < 2:
            raise _error("variants", "an experiment needs at least two variants")
        total = math.fsum(v.split for v in self.variants.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise _error(
                "split", "traffic split of the variants sums to {total}; it must sum to 1",
                total=round(total, 6),
            )
        if self.control is not None and self.control not in self.variants:
            raise _error("control", "control {name!r} is not one of the variants",
                         name=self.control)
        if not self.metrics:
            raise _error("metrics", "list at least one outcome metric")
        return self

    @property
    def control_name(self) -> str:
        """The baseline variant."""
        return self.control or next(iter(self.variants))

    def mde(self, metric: str) -> float:
        """Minimum detectable effect of ``metric`` (see the field description)."""
        default = 0.05 if METRICS[metric] == "binary" else 0.2
        effects: dict[str, float] = {str(k): v for k, v in self.min_detectable_effect.items()}
        return effects.get(metric, default)


class ExperimentsSettings(RootModel[dict[str, Experiment]]):
    """``[experiments]``: one ``[experiments.NAME]`` table per experiment."""

    # Frozen like the other sections, so a config without [experiments] shares one default
    # (BridgeConfig.section builds a fresh default per call for a mutable model, and the
    # suggestion hook asks for this section once per conversation).
    model_config = ConfigDict(frozen=True)

    root: dict[str, Experiment] = Field(default_factory=dict)

    @field_validator("root")
    @classmethod
    def _names(cls, value: dict[str, Experiment]) -> dict[str, Experiment]:
        for name in value:
            if not _NAME.match(name):
                raise _error("name", "experiment name {name!r} must be letters, digits, '_', '-' "
                             "or '.'", name=name)
        return value
