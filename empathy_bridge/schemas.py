"""Canonical, versioned data models that cross every boundary of empathy-bridge.

Adapters normalise platform records into :class:`Interaction` and :class:`Party`; analyzers
produce :class:`EmotionalContext`; policies produce decisions; write-back is planned as
:class:`FieldUpdate`; metrics are :class:`EmpathyMetric`. JSON Schema for each model is exported
with ``empathy-bridge schema export`` and committed under ``schemas/``.

All timestamps are timezone-aware and normalised to UTC. Naive datetimes are rejected because a
naive cursor is a classic source of missed or duplicated records.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
)

__all__ = [
    "SCHEMA_VERSION",
    "AuthorRole",
    "Conversation",
    "Cue",
    "EmotionalContext",
    "EmotionalState",
    "EmpathyMetric",
    "FieldUpdate",
    "HandoffDecision",
    "Interaction",
    "Party",
    "Priority",
    "PriorityDecision",
    "ReplySuggestion",
    "RoutingDecision",
    "Tier",
    "Trajectory",
    "Trend",
    "UTCDateTime",
    "Visibility",
    "WriteResult",
]

#: Version of the canonical schema: minor bump for additive changes, major for breaking ones.
SCHEMA_VERSION = "1.0"


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(
            "timestamp must be timezone-aware (e.g. '2026-11-27T10:00:00Z'); naive datetimes are "
            "ambiguous and are rejected"
        )
    return value.astimezone(UTC)


#: A timezone-aware datetime, normalised to UTC. Naive input fails validation.
UTCDateTime = Annotated[datetime, AfterValidator(_require_aware)]


class _Model(BaseModel):
    """Base for all canonical models: strict about unknown keys, immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EmotionalState(enum.StrEnum):
    """The six customer-service emotional states that SLAs, tiers and replies key on."""

    FRUSTRATION = "frustration"
    CONFUSION = "confusion"
    ANXIETY = "anxiety"
    DISAPPOINTMENT = "disappointment"
    SATISFACTION = "satisfaction"
    NEUTRAL = "neutral"


class Tier(enum.StrEnum):
    """Ordered severity tier, calm < concerned < upset < distressed < critical."""

    CALM = "calm"
    CONCERNED = "concerned"
    UPSET = "upset"
    DISTRESSED = "distressed"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the severity order, 0 for calm up to 4 for critical."""
        return _TIER_RANK[self]

    def raised(self, steps: int = 1) -> Tier:
        """The tier ``steps`` above this one, capped at critical."""
        return _TIER_ORDER[min(self.rank + steps, len(_TIER_ORDER) - 1)]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank >= other.rank


_TIER_ORDER = [Tier.CALM, Tier.CONCERNED, Tier.UPSET, Tier.DISTRESSED, Tier.CRITICAL]
# Looked up per conversation by several policies: a dict, not a list scan.
_TIER_RANK = {tier: n for n, tier in enumerate(_TIER_ORDER)}


class Priority(enum.StrEnum):
    """Canonical ticket priority (Zendesk's scale; other platforms map onto it)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Position in the order low < normal < high < urgent."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {priority: n for n, priority in enumerate(Priority)}


class AuthorRole(enum.StrEnum):
    """Who wrote an interaction. Only customer messages count towards customer emotion."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class Visibility(enum.StrEnum):
    """Whether the interaction is visible to the customer or the public."""

    PUBLIC = "public"
    PRIVATE = "private"


class Trend(enum.StrEnum):
    """Direction of a conversation's emotional trajectory."""

    ESCALATING = "escalating"
    STEADY = "steady"
    RECOVERING = "recovering"


class Party(_Model):
    """A person or account taking part in interactions (customer, agent or bot)."""

    source: str = Field(description="Adapter name the party comes from, e.g. 'zendesk'.")
    id: str = Field(description="Native id of the party in its source system.")
    role: AuthorRole = AuthorRole.CUSTOMER
    name: str | None = Field(default=None, description="Display name, used for personalisation.")
    handle: str | None = Field(default=None, description="Email, @handle or username.")
    segment: str | None = Field(default=None, description="Customer segment, e.g. 'enterprise'.")
    lifetime_value: float | None = Field(default=None, ge=0)
    followers: int | None = Field(default=None, ge=0, description="Reach on public networks.")
    organization_id: str | None = None


class Interaction(_Model):
    """One message or touchpoint: a ticket comment, case email, post, survey answer."""

    schema_version: str = SCHEMA_VERSION
    source: str = Field(description="Adapter name, e.g. 'zendesk'.")
    native_id: str = Field(description="Id of the message in the source system.")
    conversation_id: str = Field(
        description="Id of the thread: ticket id, case id, conversation id."
    )
    record_id: str | None = Field(
        default=None,
        description="Native record that write-back targets (ticket/case id); defaults to "
        "conversation_id.",
    )
    channel: str = Field(default="web", description="email, web, chat, voice, social, survey, ...")
    kind: str = Field(
        default="message", description="message, ticket, comment, email, post, survey"
    )
    author: Party | None = None
    author_role: AuthorRole = AuthorRole.CUSTOMER
    customer: Party | None = Field(default=None, description="The customer of the conversation.")
    visibility: Visibility = Visibility.PUBLIC
    text: str = ""
    language: str | None = None
    created_at: UTCDateTime
    updated_at: UTCDateTime | None = None
    native_status: str | None = None
    native_priority: str | None = None
    native_tags: tuple[str, ...] = ()
    native_fields: dict[str, JsonValue] = Field(default_factory=dict)
    in_reply_to: str | None = Field(default=None, description="native_id this message answers.")
    team: str | None = Field(default=None, description="Group/queue handling the conversation.")

    @property
    def target_record(self) -> str:
        """The native record id write-back goes to."""
        return self.record_id or self.conversation_id

    @property
    def key(self) -> tuple[str, str]:
        """Unique key of the interaction across sources."""
        return (self.source, self.native_id)


class Cue(_Model):
    """A signal found in a message, such as a churn threat or a request for a human."""

    kind: str = Field(description="repeated_contact, churn_threat, human_request, urgency, ...")
    span: str = Field(default="", description="The matched text.")
    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=0)
    weight: float = Field(default=1.0, ge=0.0, le=1.0)
    detector: str = Field(default="builtin", description="Name of the plugin that found it.")


class EmotionalContext(_Model):
    """The emotional reading of one message (or, for conversations, of the latest state)."""

    schema_version: str = SCHEMA_VERSION
    sentiment: float = Field(ge=-1.0, le=1.0, description="Polarity, -1 negative .. 1 positive.")
    state: EmotionalState
    states: dict[EmotionalState, float] = Field(
        default_factory=dict, description="Score per state, 0..1."
    )
    intensity: float = Field(ge=0.0, le=1.0)
    tier: Tier
    cues: tuple[Cue, ...] = ()
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    language: str | None = None
    truncated: bool = Field(default=False, description="True when only a capped prefix was read.")
    author_role: AuthorRole = AuthorRole.CUSTOMER
    analyzer: str = Field(description="Name of the analyzer that produced this context.")
    analyzer_version: str = "0"

    @field_validator("states")
    @classmethod
    def _scores_in_range(cls, value: dict[EmotionalState, float]) -> dict[EmotionalState, float]:
        for state, score in value.items():
            if not 0.0 <= score <= 1.0:
                raise ValueError(
                    f"score for state {state.value!r} must be within 0..1, got {score}"
                )
        return value

    def cue_kinds(self) -> set[str]:
        """The set of cue kinds present."""
        return {cue.kind for cue in self.cues}


class Trajectory(_Model):
    """How a conversation's customer emotion moved over its messages."""

    opening_state: EmotionalState
    latest_state: EmotionalState
    trend: Trend
    peak_intensity: float = Field(ge=0.0, le=1.0)
    latest_intensity: float = Field(ge=0.0, le=1.0)
    customer_turns: int = Field(ge=0)
    bot_turns_since_customer_worsened: int = Field(default=0, ge=0)
    points: tuple[tuple[UTCDateTime, float], ...] = Field(
        default=(), description="(timestamp, intensity) of each customer message."
    )


class Conversation(_Model):
    """An ordered thread of interactions with the per-message contexts known so far."""

    source: str
    conversation_id: str
    interactions: tuple[Interaction, ...]
    contexts: dict[str, EmotionalContext] = Field(
        default_factory=dict, description="native_id -> context of that interaction."
    )
    customer: Party | None = None
    trajectory: Trajectory | None = None

    def customer_messages(self) -> list[Interaction]:
        """Customer-authored interactions in order."""
        return [i for i in self.interactions if i.author_role is AuthorRole.CUSTOMER]


class PriorityDecision(_Model):
    """Priority and SLA due time decided from the emotional context."""

    priority: Priority
    tier: Tier
    first_response_minutes: int | None = Field(default=None, ge=0)
    due_at: UTCDateTime | None = None
    reason: str
    policy: str = "builtin"
    raised_from: Priority | None = Field(
        default=None, description="The native priority before this decision, if raised."
    )


class RoutingDecision(_Model):
    """Where a piece of work should go; ``action`` says what kind of target it is."""

    action: Literal["queue", "group", "owner", "create_case", "tag"] = "queue"
    target: str
    target_source: str | None = Field(
        default=None, description="For create_case: the adapter that should open the case."
    )
    rule: str = Field(description="Name of the rule that produced this decision.")
    reason: str = ""


class HandoffDecision(_Model):
    """Whether a bot conversation should go to a human, with the context packet for them."""

    handoff: bool
    reasons: tuple[str, ...] = ()
    trajectory: Trajectory | None = None
    cues: tuple[Cue, ...] = ()
    bot_attempts: tuple[str, ...] = Field(default=(), description="What the bot already said.")
    summary: str = ""
    suggested_opening: str = ""


class ReplySuggestion(_Model):
    """An empathy-tiered phrasing an agent can start from (never a full scripted reply)."""

    text: str
    template_id: str
    scenario: str | None = None
    tier: Tier
    score: float = 0.0
    reason: str = ""
    variant: str | None = Field(default=None, description="A/B variant, when in an experiment.")


class FieldUpdate(_Model):
    """One planned write into a platform record: a field value, or tags to add or remove."""

    source: str
    record_id: str
    field: str = Field(description="Native field key, e.g. 'priority', 'custom_fields.360001'.")
    value: JsonValue
    op: Literal["set", "add_tags", "remove_tags", "create"] = "set"
    priority_rank: int = Field(
        default=0, description="Urgency of this write: higher goes first in the outbox."
    )
    reason: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """Ledger key: (source, record, field)."""
        return (self.source, self.record_id, self.field)


class WriteResult(_Model):
    """What the platform said about one record of a write batch."""

    record_id: str
    success: bool
    error: str | None = None
    error_code: str | None = None
    retriable: bool = False
    native_response: dict[str, Any] | None = None


class EmpathyMetric(_Model):
    """One computed metric value, with what it rests on."""

    name: str
    value: float | None
    n: int = Field(ge=0, description="How many interactions the figure rests on.")
    period_start: UTCDateTime
    period_end: UTCDateTime
    dimension: str | None = Field(default=None, description="e.g. 'team', 'agent', 'channel'.")
    dimension_value: str | None = None
    definition: str = Field(default="", description="How the figure is computed, in words.")
    ci_low: float | None = None
    ci_high: float | None = None
