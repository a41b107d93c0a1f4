"""Fixtures for the metrics tests: a store and a builder of hand-made conversations.

Conversations are written with the Store API (interactions + contexts + decisions), exactly as
a sync would leave them, so the rollups and metrics read real rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.schemas import (
    AuthorRole,
    EmotionalContext,
    EmotionalState,
    Interaction,
    Party,
    Tier,
    Visibility,
)
from empathy_bridge.store import DecisionRow, Store, fingerprint

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass
class Msg:
    """One message of a fixture conversation."""

    role: str
    text: str
    minutes: float
    sentiment: float = 0.0
    intensity: float = 0.0
    state: EmotionalState = EmotionalState.NEUTRAL
    kind: str = "comment"
    author: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    team: str | None = None
    channel: str = "email"


def _tier(intensity: float, sentiment: float) -> Tier:
    if sentiment >= 0:
        return Tier.CALM
    return [Tier.CALM, Tier.CONCERNED, Tier.UPSET, Tier.DISTRESSED, Tier.CRITICAL][
        min(4, int(intensity * 5))]


class Desk:
    """Writes fixture conversations into a store."""

    def __init__(self, store: Store, source: str = "desk") -> None:
        self.store = store
        self.source = source

    def conversation(
        self,
        conversation_id: str,
        customer: Party | None,
        messages: Sequence[Msg],
        *,
        start: datetime = T0,
        decision: dict[str, Any] | None = None,
    ) -> list[Interaction]:
        """Store a conversation; ``decision`` keys: tier, due_minutes, raised_from, handoff,
        routing, for (index of the decided message, default the first customer message)."""
        items = []
        interactions = []
        for n, msg in enumerate(messages):
            role = AuthorRole(msg.role)
            author = customer if role is AuthorRole.CUSTOMER else Party(
                source=self.source, id=msg.author or f"{msg.role}-1", role=role)
            interaction = Interaction(
                source=self.source, native_id=f"{conversation_id}-{n}",
                conversation_id=conversation_id, channel=msg.channel, kind=msg.kind,
                author=author, author_role=role, customer=customer,
                visibility=Visibility.PUBLIC, text=msg.text,
                created_at=start + timedelta(minutes=msg.minutes), native_status=msg.status,
                native_fields=msg.fields, team=msg.team)
            context = EmotionalContext(
                sentiment=msg.sentiment, state=msg.state, intensity=msg.intensity,
                tier=_tier(msg.intensity, msg.sentiment), author_role=role, analyzer="fixture")
            items.append((interaction, fingerprint(interaction), context))
            interactions.append(interaction)
        with self.store.transaction() as conn:
            self.store.save_analyses(conn, items)
            if decision is not None:
                index = decision.get("for", next(
                    i for i, m in enumerate(messages) if m.role == "customer"))
                decided = interactions[index]
                due = decided.created_at + timedelta(minutes=decision.get("due_minutes", 60))
                payload = {
                    "priority": {"priority": "high", "tier": decision.get("tier", "upset"),
                                 "reason": "fixture",
                                 "raised_from": decision.get("raised_from")},
                    "routing": decision.get("routing", []),
                    "handoff": {"handoff": bool(decision.get("handoff"))},
                }
                self.store.save_decisions(conn, self.source, [DecisionRow(
                    conversation_id=conversation_id, native_id=decided.native_id,
                    payload=json.dumps(payload), priority="high",
                    tier=decision.get("tier", "upset"), due_at=due,
                    handoff=bool(decision.get("handoff")))])
        return interactions


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store in a temporary folder."""
    s = Store(f"sqlite:///{tmp_path / 'metrics.db'}")
    yield s
    s.close()


@pytest.fixture
def desk(store: Store) -> Desk:
    """The conversation builder over ``store``."""
    return Desk(store)


@pytest.fixture
def M() -> type[Msg]:
    """The message class (fixtures cannot be imported under importlib mode)."""
    return Msg


@pytest.fixture
def alice() -> Party:
    """A named enterprise customer."""
    return Party(source="desk", id="c-alice", name="Alice Martin", segment="enterprise",
                 handle="alice@example.com")


@pytest.fixture
def bob() -> Party:
    """A named SMB customer."""
    return Party(source="desk", id="c-bob", name="Bob Stone", segment="smb")
