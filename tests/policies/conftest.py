"""Builders for realistic interactions and contexts, independent of the analyzer's exact scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from empathy_bridge.config import BridgeConfig, parse_config
from empathy_bridge.defaults.policies import SECTIONS
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    Cue,
    EmotionalContext,
    EmotionalState,
    Interaction,
    Party,
    Tier,
    Trajectory,
    Trend,
    Visibility,
)

#: A Wednesday, 10:00 UTC: inside default business hours.
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


class Build:
    """Namespace of builders handed to tests through the ``build`` fixture."""

    T0 = T0

    @staticmethod
    def context(state: str = "neutral", intensity: float = 0.1, tier: str = "calm",
                cues: tuple[str, ...] | list[str] = (), sentiment: float | None = None,
                frustration: float | None = None, language: str | None = None) -> EmotionalContext:
        state_ = EmotionalState(state)
        scores = {state_: intensity}
        if frustration is not None:
            scores[EmotionalState.FRUSTRATION] = frustration
        return EmotionalContext(
            sentiment=sentiment if sentiment is not None else (
                -intensity if state_ not in (EmotionalState.SATISFACTION,
                                             EmotionalState.NEUTRAL) else 0.2),
            state=state_, states=scores, intensity=intensity, tier=Tier(tier),
            cues=tuple(Cue(kind=k, span=k.replace("_", " ")) for k in cues),
            analyzer="test", language=language)

    @staticmethod
    def customer(name: str | None = "Dana Reyes", segment: str | None = None,
                 followers: int | None = None) -> Party:
        return Party(source="zendesk", id="cust-1", name=name, segment=segment,
                     followers=followers)

    @staticmethod
    def message(native_id: str, text: str, *, role: str = "customer", minutes: float = 0,
                channel: str = "email", visibility: str = "public", customer: Party | None = None,
                native_priority: str | None = None, language: str | None = None,
                source: str = "zendesk", conversation: str = "c1",
                start: datetime = T0) -> Interaction:
        role_ = AuthorRole(role)
        author = customer if role_ is AuthorRole.CUSTOMER else Party(
            source=source, id=f"{role}-1", role=role_, name="Helper")
        return Interaction(
            source=source, native_id=native_id, conversation_id=conversation, channel=channel,
            author=author, author_role=role_, customer=customer, visibility=Visibility(visibility),
            text=text, language=language, created_at=start + timedelta(minutes=minutes),
            native_priority=native_priority)

    @staticmethod
    def conversation(items: list[tuple[Interaction, EmotionalContext | None]],
                     trend: str | None = None, customer: Party | None = None) -> Conversation:
        first = items[0][0]
        trajectory = None
        if trend is not None:
            contexts = [c for _, c in items if c is not None]
            trajectory = Trajectory(
                opening_state=contexts[0].state, latest_state=contexts[-1].state,
                trend=Trend(trend), peak_intensity=max(c.intensity for c in contexts),
                latest_intensity=contexts[-1].intensity, customer_turns=len(contexts))
        return Conversation(
            source=first.source, conversation_id=first.conversation_id,
            interactions=tuple(i for i, _ in items),
            contexts={i.native_id: c for i, c in items if c is not None},
            customer=customer or first.customer, trajectory=trajectory)

    @staticmethod
    def config(data: dict[str, Any]) -> BridgeConfig:
        return parse_config(data, SECTIONS)


@pytest.fixture
def build() -> type[Build]:
    return Build
