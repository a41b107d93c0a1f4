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
    private: bool = False


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
                visibility=Visibility.PRIVATE if msg.private else Visibility.PUBLIC,
                text=msg.text,
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


_CUSTOMER_TEXTS = [
    ("This is the third time I'm asking about my refund, I'm furious.", -0.8, 0.9,
     EmotionalState.FRUSTRATION),
    ("I don't understand how to export my invoices.", -0.2, 0.3, EmotionalState.CONFUSION),
    ("I'm worried, the charge went out twice and rent is due.", -0.6, 0.7,
     EmotionalState.ANXIETY),
    ("Honestly disappointed with the new plan.", -0.5, 0.5, EmotionalState.DISAPPOINTMENT),
    ("Thank you so much, it works perfectly now!", 0.8, 0.5, EmotionalState.SATISFACTION),
    ("What are your opening hours?", 0.0, 0.05, EmotionalState.NEUTRAL),
]
_REPLIES = [
    ("{name}, I'm so sorry about the {topic}. I'll fix it today.", 0.3),
    ("Thanks for reaching out, we are looking into it.", 0.2),
    ("That's completely understandable. Here is how to do it: open Settings.", 0.4),
    ("As per policy the backend sync will propagate.", -0.1),
]


def build_busy_world(desk: Desk, conversations: int = 80, seed: int = 3) -> None:
    """A few months of varied conversations: 4 agents, 3 teams, 2 segments, repeat customers,
    surveys, decisions, and one message full of personal data (for the redaction checks)."""
    import random

    rng = random.Random(seed)
    customers = [Party(source=desk.source, id=f"cust-{n}", name=name,
                       segment="enterprise" if n % 3 == 0 else "smb")
                 for n, name in enumerate(["Alice Martin", "Bob Stone", "Chen Wei", "Dana Ortiz",
                                           "Emeka Obi", "Farah Khan", "Gus Lee", "Hana Sato",
                                           "Ivan Petrov", "Jade Moss", "Kofi Mensah"])]
    for n in range(conversations):
        customer = customers[rng.randrange(len(customers))]
        start = T0 + timedelta(days=rng.uniform(0, 120))
        text, sentiment, intensity, state = rng.choice(_CUSTOMER_TEXTS)
        if n == 0:
            customer = customers[0]
            text = ("Alice Martin here, call me on +1 415 555 0100 or alice@example.com, "
                    "my card 4111 1111 1111 1111 was charged twice and I'm furious!")
            sentiment, intensity, state = -0.9, 0.95, EmotionalState.FRUSTRATION
        team = rng.choice(["billing", "tech", "success"])
        agent = rng.choice(["ana", "ben", "cleo", "dev"])
        reply, tone = rng.choice(_REPLIES)
        first_name = (customer.name or "there").split()[0]
        later = rng.uniform(5, 600)
        messages = [
            Msg("customer", text, 0, sentiment, intensity, state, team=team,
                channel=rng.choice(["email", "chat", "social"])),
            Msg("agent", reply.format(name=first_name, topic="refund"), later, tone,
                author=agent, team=team),
        ]
        resolved = rng.random() < 0.7
        closing = rng.choice([0.5, 0.2, -0.3])
        messages.append(Msg("customer", "Thanks." if closing > 0 else "Still not fixed.",
                            later + 60, closing, abs(closing), EmotionalState.SATISFACTION
                            if closing > 0 else EmotionalState.FRUSTRATION,
                            status="solved" if resolved else "open", team=team))
        if rng.random() < 0.4:
            good = rng.random() < 0.6
            messages.append(Msg("customer", "Rated good" if good else "Rated bad", later + 200,
                                0.4 if good else -0.4, kind="survey",
                                fields={"score": "good" if good else "bad"}, channel="survey"))
        tier = "distressed" if intensity > 0.6 else "upset" if intensity > 0.4 else "calm"
        desk.conversation(f"conv-{n}", customer, messages, start=start, decision={
            "tier": tier, "due_minutes": rng.choice([30, 120, 480]),
            "raised_from": "normal" if rng.random() < 0.2 else None,
            "handoff": rng.random() < 0.1})


@pytest.fixture
def busy_store(store: Store) -> Store:
    """``store`` filled by :func:`build_busy_world`."""
    build_busy_world(Desk(store))
    return store


@pytest.fixture
def build_world() -> Any:
    """``build_world(store)``: fill any store with :func:`build_busy_world`."""
    return lambda target: build_busy_world(Desk(target))
