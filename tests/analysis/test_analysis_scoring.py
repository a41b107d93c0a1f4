"""State, intensity, tier and bad-input behaviour of the built-in analyzer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from empathy_bridge.analysis import analyze_texts, tier_for
from empathy_bridge.analysis.scoring import NEGATIVE_STATES, TIER_THRESHOLDS
from empathy_bridge.config import BridgeConfig
from empathy_bridge.defaults.analyzer import analyze_interactions, empathy_bridge_analyze
from empathy_bridge.schemas import AuthorRole, EmotionalContext, EmotionalState, Interaction, Tier


def _revalidated(context: EmotionalContext) -> EmotionalContext:
    # Contexts are built without validation for speed; they must still pass it.
    return EmotionalContext.model_validate(context.model_dump())


def test_tier_order() -> None:
    assert Tier.CALM < Tier.CONCERNED < Tier.UPSET < Tier.DISTRESSED < Tier.CRITICAL


@pytest.mark.parametrize("state", sorted(NEGATIVE_STATES))
def test_tier_rises_with_intensity(state: EmotionalState) -> None:
    tiers = [tier_for(state, x / 20, set()) for x in range(21)]
    assert tiers == sorted(tiers)
    assert tiers[0] is Tier.CALM and tiers[-1] is Tier.CRITICAL
    assert tier_for(state, TIER_THRESHOLDS[1], set()) is Tier.UPSET


def test_satisfied_customer_is_calm_unless_a_cue_says_otherwise() -> None:
    assert tier_for(EmotionalState.SATISFACTION, 1.0, set()) is Tier.CALM
    assert tier_for(EmotionalState.SATISFACTION, 1.0, {"churn_threat"}) is Tier.UPSET


def test_cue_floors_and_repeated_contact() -> None:
    assert tier_for(EmotionalState.NEUTRAL, 0.0, {"anxiety_safety"}) is Tier.DISTRESSED
    assert tier_for(EmotionalState.NEUTRAL, 0.0, {"profanity", "shouting"}) is Tier.DISTRESSED
    assert tier_for(EmotionalState.NEUTRAL, 0.0, {"human_request"}) is Tier.CONCERNED
    base = tier_for(EmotionalState.FRUSTRATION, 0.5, set())
    assert tier_for(EmotionalState.FRUSTRATION, 0.5, {"repeated_contact"}) is base.raised()


def test_clear_customer_messages_get_the_expected_state() -> None:
    texts = [
        "Thank you so much, this was really helpful!",
        "This is ridiculous, your service is terrible and I'm fed up.",
        "I'm confused, what does this error mean?",
        "I'm really worried and scared my account was hacked.",
        "I'm so sad and disappointed, I was really looking forward to it.",
    ]
    states = [c.state for c in analyze_texts(texts)]
    assert states == [
        EmotionalState.SATISFACTION,
        EmotionalState.FRUSTRATION,
        EmotionalState.CONFUSION,
        EmotionalState.ANXIETY,
        EmotionalState.DISAPPOINTMENT,
    ]


def test_escalated_message_is_more_intense_and_higher_tier() -> None:
    calm, angry = analyze_texts([
        "My order is a bit late, any news?",
        "THIS IS THE THIRD TIME I ASK!!! Still not fixed. Cancel my account and get me a "
        "manager NOW, this is fucking ridiculous",
    ])
    assert angry.intensity > calm.intensity
    assert angry.tier >= Tier.DISTRESSED
    assert calm.tier <= Tier.CONCERNED
    assert {"repeated_contact", "churn_threat", "human_request", "shouting", "profanity"} <= (
        angry.cue_kinds()
    )


def test_agent_apology_is_not_customer_frustration() -> None:
    text = (
        "I'm so sorry for the frustration and the terrible experience this has caused. "
        "I understand how annoying this must be. I've refunded your order."
    )
    agent = analyze_texts([text], role=AuthorRole.AGENT)[0]
    assert agent.author_role is AuthorRole.AGENT
    assert agent.state is not EmotionalState.FRUSTRATION
    assert agent.tier is Tier.CALM
    assert {"apology", "empathy_statement"} <= agent.cue_kinds()
    # The same words from a customer are read as the customer's own emotion.
    customer = analyze_texts([text])[0]
    assert customer.author_role is AuthorRole.CUSTOMER


def test_hostile_agent_tone_is_frustration_but_still_calm_tier() -> None:
    agent = analyze_texts(["THIS IS NOT OUR PROBLEM. Stop writing to us!!!"],
                          role=AuthorRole.BOT)[0]
    assert agent.state is EmotionalState.FRUSTRATION
    assert agent.tier is Tier.CALM
    assert set(agent.states) == {
        EmotionalState.FRUSTRATION, EmotionalState.NEUTRAL, EmotionalState.SATISFACTION
    }


BAD_INPUT = {
    "empty": "",
    "whitespace": "   \n\t ",
    "only emoji": "😡😡😡",
    "only punctuation": "?!?!... ,,, ---",
    "digits": "1234 5678",
    "spanish": "Mi pedido no ha llegado y estoy muy molesto con el servicio",
    "russian": "Мой заказ не пришёл, это ужасно",
    "japanese": "注文した商品がまだ届きません",
    "mixed scripts": "The app 坏了 again and I'm annoyed",
    "control characters": "bad\x00input\x07here",
    "lone surrogate": "broken \ud800 text",
    "one megabyte": "terrible service " * 62_000,
    "one huge token": "a" * 1_000_000,
}


@pytest.mark.parametrize("name", BAD_INPUT)
def test_bad_input_gives_a_valid_context(name: str) -> None:
    context = _revalidated(analyze_texts([BAD_INPUT[name]], max_chars=5000)[0])
    assert context.truncated is (len(BAD_INPUT[name]) > 5000)
    assert context.analyzer == "builtin"


@pytest.mark.parametrize("name", ["spanish", "russian", "japanese"])
def test_non_english_is_neutral_with_low_confidence_and_a_language(name: str) -> None:
    context = analyze_texts([BAD_INPUT[name]])[0]
    assert context.state is EmotionalState.NEUTRAL
    assert context.confidence <= 0.2
    assert context.language in {"es", "und-Cyrl", "ja"}


def test_texts_without_words_are_neutral_with_low_confidence() -> None:
    for text in ("", "?!?!... ,,, ---", "1234"):
        context = analyze_texts([text])[0]
        assert context.state is EmotionalState.NEUTRAL
        assert context.confidence <= 0.1
        assert context.language is None


def test_emoji_are_read() -> None:
    context = analyze_texts(["😡😡😡"])[0]
    assert context.sentiment < 0
    assert context.state in NEGATIVE_STATES


def test_mixed_scripts_with_mostly_english_are_read_as_english() -> None:
    context = analyze_texts([BAD_INPUT["mixed scripts"]])[0]
    assert context.language == "en"
    assert context.state is EmotionalState.FRUSTRATION


def test_long_text_is_read_on_the_capped_prefix() -> None:
    text = "Thank you, lovely service. " * 10 + "I hate this, terrible, awful! " * 100
    capped = analyze_texts([text], max_chars=200)[0]
    assert capped.truncated
    assert capped.state is EmotionalState.SATISFACTION
    assert all(c.end is not None and c.end <= 200 for c in capped.cues)


def test_batch_keeps_order_and_length() -> None:
    texts = ["thanks!", "", "this is awful", "how do I log in?"] * 50
    contexts = analyze_texts(texts)
    assert len(contexts) == len(texts)
    assert [c.state for c in contexts[:4]] == [c.state for c in contexts[4:8]]


def test_hook_uses_config_cap_and_roles() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    interactions = [
        Interaction(source="t", native_id=str(n), conversation_id="c", text=text,
                    author_role=role, created_at=now)
        for n, (text, role) in enumerate(
            [("x " * 300, AuthorRole.CUSTOMER), ("Sorry for the wait!", AuthorRole.AGENT),
             ("Ticket merged", AuthorRole.SYSTEM)]
        )
    ]
    config = BridgeConfig.model_validate({"analysis": {"max_chars": 100}})
    contexts = empathy_bridge_analyze(
        interactions=interactions, cues=[[], [], []], config=config
    )
    assert [c.author_role for c in contexts] == [i.author_role for i in interactions]
    assert contexts[0].truncated and not contexts[1].truncated
    assert contexts[2].state is EmotionalState.NEUTRAL and contexts[2].intensity == 0.0
    # Without cues given, the batch function detects the built-in ones itself.
    assert "apology" in analyze_interactions(interactions)[1].cue_kinds()


def test_bridge_analyze_goes_through_the_builtin_plugins() -> None:
    engine = pytest.importorskip("empathy_bridge.engine")
    bridge = engine.Bridge.from_config(None, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"})
    try:
        context = bridge.analyze("Third time asking!!! I want to speak to a human.")
    finally:
        bridge.close()
    assert context.analyzer == "builtin"
    assert {"repeated_contact", "shouting", "human_request"} <= context.cue_kinds()
    assert context.tier >= Tier.CONCERNED
