"""Conversation trajectory: how the customer's distress moved across their messages.

Only customer messages count; agent and bot messages matter only as the turns between them
(``bot_turns_since_customer_worsened``). Rules (also in ``docs/analysis.md``):

- *distress* of a customer message: its intensity when its state is negative (frustration,
  anxiety, disappointment, confusion), at least its tier rank / 4 (so cue-driven tiers count),
  and 0 for a calm satisfied or neutral message without cues.
- *trend*: the latest customer message against the previous one: a rise of at least
  :data:`STEP` (or a higher tier) is escalating, a fall of at least :data:`STEP` (or a lower
  tier) is recovering; otherwise a drift of at least :data:`DRIFT` since the opening message
  decides; otherwise steady. One customer message is steady.
- *peak_intensity* / *latest_intensity*: the highest and the latest distress; ``points`` holds
  ``(created_at, distress)`` of every customer message.
- *bot_turns_since_customer_worsened*: when the latest customer message is worse than the one
  before, the bot replies since the customer's distress last stood at its level before this
  worsening run began (a run of non-decreasing distress). "Worse after two bot replies" is 2.
"""

from __future__ import annotations

from empathy_bridge.analysis.scoring import NEGATIVE_STATES
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    EmotionalContext,
    Trajectory,
    Trend,
)

__all__ = ["DRIFT", "EPSILON", "STEP", "compute_trajectory", "distress"]

#: Change between consecutive customer messages that counts as a move.
STEP = 0.10
#: Change since the opening message that counts as a slow drift.
DRIFT = 0.25
#: Differences below this are noise.
EPSILON = 0.02


def distress(context: EmotionalContext) -> float:
    """How distressed one customer message is, 0..1."""
    base = context.intensity if context.state in NEGATIVE_STATES else 0.0
    return max(base, context.tier.rank / 4)


def _trend(values: list[float], ranks: list[int]) -> Trend:
    if len(values) < 2:
        return Trend.STEADY
    step = values[-1] - values[-2]
    if step >= STEP or ranks[-1] > ranks[-2]:
        return Trend.ESCALATING
    if step <= -STEP or ranks[-1] < ranks[-2]:
        return Trend.RECOVERING
    drift = values[-1] - values[0]
    if drift >= DRIFT:
        return Trend.ESCALATING
    if drift <= -DRIFT:
        return Trend.RECOVERING
    return Trend.STEADY


def _bot_turns_since_worsened(
    conversation: Conversation, positions: list[int], values: list[float]
) -> int:
    n = len(values)
    if n < 2 or values[-1] <= values[-2] + EPSILON:
        return 0
    start = n - 1
    while start > 0 and values[start - 1] <= values[start] + EPSILON:
        start -= 1
    # The last message still at the run's starting level: the worsening began after it.
    base = values[start]
    while start + 1 < n - 1 and values[start + 1] <= base + EPSILON:
        start += 1
    first, last = positions[start], positions[-1]
    return sum(
        1
        for interaction in conversation.interactions[first + 1 : last]
        if interaction.author_role is AuthorRole.BOT
    )


def compute_trajectory(conversation: Conversation) -> Trajectory | None:
    """The trajectory of ``conversation``, or ``None`` when no customer message has a context.

    Interactions are taken in the conversation's order (the engine sorts them by time).
    """
    positions: list[int] = []
    contexts: list[EmotionalContext] = []
    found = conversation.contexts
    customer = AuthorRole.CUSTOMER
    for position, interaction in enumerate(conversation.interactions):
        if interaction.author_role is not customer:
            continue
        context = found.get(interaction.native_id)
        # A context whose author_role is not customer was read for tone: never customer emotion.
        if context is None or context.author_role is not customer:
            continue
        positions.append(position)
        contexts.append(context)
    if not contexts:
        return None
    values = [distress(c) for c in contexts]
    ranks = [c.tier.rank for c in contexts]
    interactions = conversation.interactions
    points = tuple(
        (interactions[p].created_at, round(v, 4)) for p, v in zip(positions, values, strict=True)
    )
    return Trajectory(
        opening_state=contexts[0].state,
        latest_state=contexts[-1].state,
        trend=_trend(values, ranks),
        peak_intensity=max(values),
        latest_intensity=values[-1],
        customer_turns=len(contexts),
        bot_turns_since_customer_worsened=_bot_turns_since_worsened(
            conversation, positions, values
        ),
        points=points,
    )
