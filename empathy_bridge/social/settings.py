"""The ``[social]`` config section: approval rules, brand safety, listening rules, sinks.

Example::

    [social]
    channels = ["social"]

    [social.approval]
    min_tier = "upset"              # replies to posts at this tier or above need a human's approval
    high_reach_followers = 10000    # ... and replies to accounts this big

    [social.brand_safety]
    blocked_phrases = ["guarantee", "lawsuit"]

    [[social.sinks]]
    name = "ops-webhook"
    kind = "webhook"
    url = "https://hooks.example.com/social"

    [[social.rules]]
    name = "outage-spike"
    kind = "spike"
    match = { terms = ["outage", "down"], sentiment_below = 0.0 }
    window_minutes = 60
    factor = 3.0
    sinks = ["log", "ops-webhook"]

A malformed rule fails config loading with one line naming the rule and the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from empathy_bridge.schemas import EmotionalState, Tier

__all__ = [
    "ApprovalSettings",
    "AuditSettings",
    "BrandSafetySettings",
    "CaseSink",
    "EscalationSettings",
    "ListeningRule",
    "LogSink",
    "Match",
    "PostRule",
    "SinkConfig",
    "SocialSettings",
    "SpikeRule",
    "WebhookSink",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApprovalSettings(_Strict):
    """Which drafts a human must approve before they are posted."""

    require_all: bool = Field(default=False, description="Every public reply needs approval.")
    min_tier: Tier = Field(default=Tier.UPSET,
                           description="Replies to posts at this tier or above need approval.")
    high_reach_followers: int = Field(default=10_000, ge=0,
                                      description="Replies to accounts this big need approval.")
    suggestions_need_approval: bool = Field(
        default=True, description="Drafts made from phrasing suggestions always need approval.")
    draft_from_suggestions: bool = Field(
        default=False, description="`social run` drafts a reply from the top phrasing suggestion "
        "for posts at draft_min_tier or above.")
    draft_min_tier: Tier = Tier.UPSET
    post_in_run: bool = Field(default=True,
                              description="`social run` also posts approved drafts.")


class BrandSafetySettings(_Strict):
    """Checks that block a draft until it is edited."""

    blocked_phrases: list[str] = Field(default_factory=list)
    max_length: int | None = Field(
        default=None, ge=1, description="Platform length; default: the adapter's (X: 280).")
    url_length: int = Field(default=23, ge=1, description="Weight of a URL (X counts 23).")
    check_emails: bool = True
    check_phones: bool = True
    check_cards: bool = True
    order_patterns: list[str] = Field(
        default_factory=lambda: [r"(?i)\b(?:order|invoice|booking)\s*(?:no\.?|number|#)?\s*[:#]?"
                                 r"\s*[A-Z]{0,3}-?\d{5,}\b"],
        description="Regular expressions of order/account numbers that must not be posted.")

    @field_validator("order_patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return value


class Match(_Strict):
    """Conditions a public post must meet (all that are given)."""

    terms: list[str] = Field(default_factory=list, description="Any of these words/phrases.")
    all_terms: list[str] = Field(default_factory=list, description="All of these words/phrases.")
    exclude_terms: list[str] = Field(default_factory=list)
    states: list[EmotionalState] = Field(default_factory=list,
                                         description="Emotional state is one of these.")
    sentiment_below: float | None = Field(default=None, ge=-1, le=1)
    sentiment_above: float | None = Field(default=None, ge=-1, le=1)
    min_intensity: float | None = Field(default=None, ge=0, le=1)
    min_tier: Tier | None = None
    min_followers: int | None = Field(default=None, ge=0)
    languages: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    customers_only: bool = True


class _Rule(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
    description: str = ""
    match: Match = Field(default_factory=Match)
    severity: Literal["info", "warning", "high", "critical"] = "warning"
    sinks: list[str] = Field(default_factory=lambda: ["log"])


class SpikeRule(_Rule):
    """Matching posts in the last ``window_minutes`` exceed ``factor`` × their baseline.

    The baseline is the mean count of the ``baseline_windows`` windows before the current one
    (at least ``baseline_floor``, so a quiet history does not make two posts a "spike"). A spike
    fires one alert; the rule re-arms when the window falls back under the threshold.
    """

    kind: Literal["spike"]
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    baseline_windows: int = Field(default=24, ge=1, le=24 * 28)
    factor: float = Field(default=3.0, gt=1.0)
    min_count: int = Field(default=5, ge=1)
    baseline_floor: float = Field(default=1.0, gt=0)

    @property
    def bucket_minutes(self) -> int:
        """Granularity of the stored counts (a twelfth of the window, at least a minute)."""
        return max(1, self.window_minutes // 12)


class PostRule(_Rule):
    """Every single post that matches fires (once per post), e.g. a high-reach angry customer."""

    kind: Literal["post"]
    escalate: bool = Field(default=False, description="Also open a CRM case for the post.")


ListeningRule = Annotated[SpikeRule | PostRule, Field(discriminator="kind")]


class LogSink(_Strict):
    """Alerts to the ``empathy_bridge.social`` logger."""

    kind: Literal["log"]
    name: str = "log"
    level: Literal["info", "warning", "error"] = "warning"


class WebhookSink(_Strict):
    """Alerts POSTed as JSON to a URL (retried with the shared retry policy)."""

    kind: Literal["webhook"]
    name: str
    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = Field(
        default=None,
        description="Env var with an HMAC key; signs the body in X-Empathy-Signature.")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class CaseSink(_Strict):
    """Alerts opened as a case in a configured CRM source (Zendesk, Salesforce)."""

    kind: Literal["case"]
    name: str
    source: str = Field(description="Name of a configured source whose adapter can create cases.")
    subject_prefix: str = "[social]"


SinkConfig = Annotated[LogSink | WebhookSink | CaseSink, Field(discriminator="kind")]


class EscalationSettings(_Strict):
    """Open a CRM case for distressed (or high-reach upset) public posts."""

    enabled: bool = False
    sink: str | None = Field(default=None, description="Name of a `case` sink.")
    min_tier: Tier = Tier.DISTRESSED
    high_reach_followers: int | None = Field(
        default=None, ge=0, description="Also escalate posts from accounts this big at tier "
        "'upset' or above.")


class AuditSettings(_Strict):
    """How the public-reply audit flags outliers."""

    outlier_z: float = Field(default=2.0, gt=0, description="A reply is an outlier when its tone "
                             "is this many standard deviations from the team mean.")
    inconsistent_std: float = Field(default=0.35, gt=0, description="A member is flagged "
                                    "inconsistent when the std of their tone exceeds this.")


def _rule_error(raw: Any, index: int, exc: ValidationError) -> ValueError:
    name = raw.get("name") if isinstance(raw, dict) else None
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if str(p) not in ("spike", "post")]
    field = ".".join(loc) or "rule"
    what = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
    label = f"rule {name!r}" if name else f"rule #{index + 1}"
    return ValueError(f"{label}: field {field!r}: {what}")


class SocialSettings(_Strict):
    """The whole ``[social]`` section."""

    channels: list[str] = Field(default_factory=lambda: ["social"],
                                description="Interaction channels the listening rules watch.")
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    brand_safety: BrandSafetySettings = Field(default_factory=BrandSafetySettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    sinks: list[SinkConfig] = Field(default_factory=list)
    rules: list[ListeningRule] = Field(default_factory=list)

    @field_validator("rules", mode="before")
    @classmethod
    def _rules_one_by_one(cls, value: Any) -> Any:
        # Validate each rule alone so the error names the rule, not a list index.
        if not isinstance(value, list):
            return value
        out: list[SpikeRule | PostRule] = []
        for index, raw in enumerate(value):
            kind = raw.get("kind") if isinstance(raw, dict) else None
            models: dict[str, type[SpikeRule] | type[PostRule]] = {"spike": SpikeRule,
                                                                   "post": PostRule}
            model = models.get(str(kind))
            if model is None:
                label = f"rule {raw.get('name')!r}" if isinstance(raw, dict) and raw.get(
                    "name") else f"rule #{index + 1}"
                raise ValueError(f"{label}: field 'kind': must be 'spike' or 'post', got {kind!r}")
            try:
                out.append(model.model_validate(raw))
            except ValidationError as exc:
                raise _rule_error(raw, index, exc) from None
        return out

    @model_validator(mode="after")
    def _references(self) -> SocialSettings:
        names = [sink.name for sink in self.sinks]
        if len(set(names)) != len(names):
            raise ValueError("sinks: two sinks share a name")
        known = set(names) | {"log"}
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule {rule.name!r}: field 'name': defined twice")
            seen.add(rule.name)
            for sink in rule.sinks:
                if sink not in known:
                    raise ValueError(f"rule {rule.name!r}: field 'sinks': unknown sink {sink!r} "
                                     f"(configured: {', '.join(sorted(known))})")
        if self.escalation.enabled:
            case_sinks = {s.name for s in self.sinks if isinstance(s, CaseSink)}
            if self.escalation.sink not in case_sinks:
                raise ValueError(f"escalation.sink: must name a sink of kind 'case' (configured: "
                                 f"{', '.join(sorted(case_sinks)) or 'none'})")
        return self

    def sink(self, name: str) -> LogSink | WebhookSink | CaseSink:
        """The sink called ``name`` (``log`` exists even when not configured)."""
        for sink in self.sinks:
            if sink.name == name:
                return sink
        if name == "log":
            return LogSink(kind="log")
        raise KeyError(name)
