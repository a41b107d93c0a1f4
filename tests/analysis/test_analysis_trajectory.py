"""Conversation trajectories on multi-turn transcripts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from empathy_bridge.analysis import analyze_texts, compute_trajectory
from empathy_bridge.analysis.trajectory import distress
from empathy_bridge.config import BridgeConfig
from empathy_bridge.defaults.trajectory import empathy_bridge_analyze_conversation
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    EmotionalContext,
    EmotionalState,
    Interaction,
    Tier,
    Trend,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

C, B, A = AuthorRole.CUSTOMER, AuthorRole.BOT, AuthorRole.AGENT


def _conversation(turns: list[tuple[AuthorRole, str]]) -> Conversation:
    """A transcript analysed turn by turn with the built-in analyzer, as the engine would."""
    interactions = tuple(
        Interaction(source="chat", native_id=f"m{n}", conversation_id="c1", text=text,
                    author_role=role, created_at=T0 + timedelta(minutes=n))
        for n, (role, text) in enumerate(turns)
    )
    contexts = {
        i.native_id: analyze_texts([i.text], role=i.author_role)[0] for i in interactions
    }
    return Conversation(source="chat", conversation_id="c1", interactions=interactions,
                        contexts=contexts)


def _context(state: EmotionalState, intensity: float, tier: Tier,
             role: AuthorRole = C) -> EmotionalContext:
    return EmotionalContext(sentiment=0.0, state=state, intensity=intensity, tier=tier,
                            author_role=role, analyzer="test")


def _synthetic(turns: list[tuple[AuthorRole, EmotionalContext | None]]) -> Conversation:
    interactions = tuple(
        Interaction(source="chat", native_id=f"m{n}", conversation_id="c1", text="...",
                    author_role=role, created_at=T0 + timedelta(minutes=n))
        for n, (role, _) in enumerate(turns)
    )
    contexts = {f"m{n}": ctx for n, (_, ctx) in enumerate(turns) if ctx is not None}
    return Conversation(source="chat", conversation_id="c1", interactions=interactions,
                        contexts=contexts)


def test_getting_worse_after_two_bot_replies_is_visible() -> None:
    conversation = _conversation([
        (C, "Hi, my package hasn't arrived yet. Could you check?"),
        (B, "You can track your package with the link in your confirmation email."),
        (C, "The tracking link doesn't work, this is annoying."),
        (B, "Please try again later."),
        (C, "THIS IS USELESS!!! Third time I ask, get me a human NOW or I cancel my account."),
    ])
    trajectory = compute_trajectory(conversation)
    assert trajectory is not None
    assert trajectory.trend is Trend.ESCALATING
    assert trajectory.bot_turns_since_customer_worsened == 2
    assert trajectory.customer_turns == 3
    assert trajectory.latest_intensity == trajectory.peak_intensity
    assert trajectory.latest_state in {EmotionalState.FRUSTRATION, EmotionalState.NEUTRAL}
    values = [v for _, v in trajectory.points]
    assert values == sorted(values) and values[-1] > values[0]


def test_recovering_after_an_agent_helps() -> None:
    conversation = _conversation([
        (C, "This is ridiculous, I was charged twice and nobody answers!!!"),
        (A, "I'm so sorry about this. I've refunded the duplicate charge."),
        (C, "Oh great, thank you so much, that's a relief!"),
    ])
    trajectory = compute_trajectory(conversation)
    assert trajectory is not None
    assert trajectory.trend is Trend.RECOVERING
    assert trajectory.latest_state is EmotionalState.SATISFACTION
    assert trajectory.bot_turns_since_customer_worsened == 0
    assert trajectory.peak_intensity > trajectory.latest_intensity


def test_agent_apology_does_not_move_the_customer_trajectory() -> None:
    with_agent = _conversation([
        (C, "Could you check my order status?"),
        (A, "I'm so sorry for the terrible frustration, I understand how awful this is."),
        (C, "Ok, thanks."),
    ])
    without = _conversation([(C, "Could you check my order status?"), (C, "Ok, thanks.")])
    a, b = compute_trajectory(with_agent), compute_trajectory(without)
    assert a is not None and b is not None
    assert (a.trend, a.peak_intensity, a.customer_turns) == (
        b.trend, b.peak_intensity, b.customer_turns
    )


def test_steady_and_single_message() -> None:
    ctx = _context(EmotionalState.FRUSTRATION, 0.5, Tier.UPSET)
    steady = compute_trajectory(_synthetic([(C, ctx), (B, None), (C, ctx)]))
    single = compute_trajectory(_synthetic([(C, ctx)]))
    assert steady is not None and steady.trend is Trend.STEADY
    assert steady.bot_turns_since_customer_worsened == 0
    assert single is not None and single.trend is Trend.STEADY


def test_worsening_run_counts_bot_turns_from_its_start() -> None:
    calm = _context(EmotionalState.NEUTRAL, 0.0, Tier.CALM)
    upset = _context(EmotionalState.FRUSTRATION, 0.5, Tier.UPSET)
    worse = _context(EmotionalState.FRUSTRATION, 0.7, Tier.DISTRESSED)
    conversation = _synthetic([
        (C, worse), (B, None), (C, calm), (B, None), (C, calm), (B, None), (C, upset),
        (B, None), (B, None), (C, worse),
    ])
    trajectory = compute_trajectory(conversation)
    assert trajectory is not None
    assert trajectory.trend is Trend.ESCALATING
    # Calm until message m4; worse since: one bot turn before m6, two before m9.
    assert trajectory.bot_turns_since_customer_worsened == 3
    assert trajectory.peak_intensity == distress(worse)


def test_slow_drift_counts_as_a_trend() -> None:
    levels = [0.30, 0.38, 0.46, 0.54, 0.62]
    turns: list[tuple[AuthorRole, EmotionalContext | None]] = []
    for level in levels:
        turns += [(C, _context(EmotionalState.DISAPPOINTMENT, level, Tier.CONCERNED)), (B, None)]
    trajectory = compute_trajectory(_synthetic(turns))
    assert trajectory is not None and trajectory.trend is Trend.ESCALATING


def test_no_customer_context_gives_none_and_tone_contexts_are_ignored() -> None:
    agent_ctx = _context(EmotionalState.FRUSTRATION, 0.9, Tier.CALM, role=A)
    assert compute_trajectory(_synthetic([(A, agent_ctx), (B, None)])) is None
    # A customer-authored message carrying a tone reading is not counted either.
    assert compute_trajectory(_synthetic([(C, agent_ctx)])) is None


def test_hook_returns_the_trajectory() -> None:
    ctx = _context(EmotionalState.ANXIETY, 0.6, Tier.UPSET)
    trajectory = empathy_bridge_analyze_conversation(
        conversation=_synthetic([(C, ctx)]), config=BridgeConfig()
    )
    assert trajectory is not None and trajectory.opening_state is EmotionalState.ANXIETY
