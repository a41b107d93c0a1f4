"""Request and response bodies of the ``/v1`` API (they make up the OpenAPI document).

Canonical objects inside them (Interaction, Conversation, EmotionalContext, decisions) are the
models of :mod:`empathy_bridge.schemas`, so the API and the SDK speak the same language.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    EmotionalContext,
    HandoffDecision,
    Interaction,
    PriorityDecision,
    ReplySuggestion,
    RoutingDecision,
    Trajectory,
    UTCDateTime,
)

__all__ = [
    "AnalyzeRequest",
    "AnalyzeResponse",
    "DecideRequest",
    "DecideResponse",
    "HealthResponse",
    "HistoryResponse",
    "MetricsResponse",
    "SuggestResponse",
    "Touchpoint",
    "WebhookAccepted",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnalyzeRequest(_Body):
    """One text (``text``) or a batch (``texts``), read as customer messages by default."""

    text: str | None = Field(default=None, max_length=1_000_000)
    texts: list[str] | None = Field(default=None, min_length=1)
    channel: str = Field(default="web", max_length=50)
    author_role: AuthorRole = AuthorRole.CUSTOMER
    language: str | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _one_of(self) -> AnalyzeRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' or 'texts'")
        return self

    def items(self) -> list[str]:
        """The texts to analyse, in order."""
        return [self.text] if self.text is not None else list(self.texts or ())


class AnalyzeResponse(_Body):
    """One EmotionalContext per text, in request order."""

    contexts: list[EmotionalContext]


class DecideRequest(_Body):
    """A single interaction or a whole conversation (messages may lack contexts)."""

    interaction: Interaction | None = None
    conversation: Conversation | None = None

    @model_validator(mode="after")
    def _one_of(self) -> DecideRequest:
        if (self.interaction is None) == (self.conversation is None):
            raise ValueError("give exactly one of 'interaction' or 'conversation'")
        return self

    def as_conversation(self) -> Conversation:
        """The conversation to decide on."""
        if self.conversation is not None:
            return self.conversation
        assert self.interaction is not None
        i = self.interaction
        return Conversation(source=i.source, conversation_id=i.conversation_id,
                            interactions=(i,), customer=i.customer)


class DecideResponse(_Body):
    """Decisions for the conversation's latest customer message."""

    interaction_id: str = Field(description="native_id of the message the decisions are for.")
    context: EmotionalContext
    trajectory: Trajectory | None = None
    priority: PriorityDecision | None = None
    routing: list[RoutingDecision] = Field(default_factory=list)
    handoff: HandoffDecision | None = Field(
        default=None, description="Handoff decision with its context packet for the human.")


class SuggestResponse(_Body):
    """Empathy-tiered reply openings for the latest customer message, best first."""

    interaction_id: str
    context: EmotionalContext
    suggestions: list[ReplySuggestion]


class Touchpoint(_Body):
    """One analysed message of the customer (no message text: the store keeps that)."""

    source: str
    native_id: str
    conversation_id: str
    channel: str | None
    author_role: AuthorRole
    created_at: UTCDateTime
    state: str | None
    tier: str | None
    sentiment: float | None
    intensity: float | None


class HistoryResponse(_Body):
    """A customer's emotional touchpoints across the tenant's sources, oldest first."""

    customer_id: str
    count: int
    touchpoints: list[Touchpoint]


class MetricsResponse(_Body):
    """Empathy metrics of the tenant's sources, as computed by ``empathy_bridge.metrics``."""

    metrics: list[dict[str, Any]]


class WebhookAccepted(_Body):
    """A verified webhook delivery, durably queued for processing."""

    status: Literal["queued"] = "queued"
    event_id: int
    source: str


class HealthResponse(_Body):
    """Liveness/readiness answer."""

    status: Literal["ok", "unavailable"]
    detail: str = ""
