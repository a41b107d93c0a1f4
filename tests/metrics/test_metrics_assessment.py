"""The agent-response rubric on hand-written replies: each part and its evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from empathy_bridge.defaults.assessment import (
    AssessmentSettings,
    answered_message,
    assess_reply,
    content_words,
)
from empathy_bridge.schemas import (
    AuthorRole,
    EmotionalContext,
    EmotionalState,
    Interaction,
    Party,
    Tier,
)

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
CUSTOMER = Party(source="s", id="c1", name="Alice Martin")


def _msg(text: str, role: AuthorRole = AuthorRole.CUSTOMER, minutes: int = 0,
         kind: str = "comment", native_id: str | None = None) -> Interaction:
    return Interaction(source="s", native_id=native_id or f"m{minutes}", conversation_id="1",
                       text=text, author_role=role, kind=kind, customer=CUSTOMER,
                       author=Party(source="s", id="agent-7", role=role)
                       if role is not AuthorRole.CUSTOMER else CUSTOMER,
                       created_at=T + timedelta(minutes=minutes))


def _ctx(sentiment: float, state: EmotionalState = EmotionalState.NEUTRAL,
         intensity: float = 0.0) -> EmotionalContext:
    return EmotionalContext(sentiment=sentiment, state=state, intensity=intensity,
                            tier=Tier.CALM, analyzer="test")


QUESTION = _msg("My refund for the duplicate invoice still hasn't arrived and I'm frustrated.")


def test_personalised_reply_uses_name_and_specifics() -> None:
    reply = _msg("Hi Alice, I checked your refund for the duplicate invoice: it was issued "
                 "today.", AuthorRole.AGENT, 30)
    result = assess_reply(reply, QUESTION, CUSTOMER)
    assert result.uses_name == "Alice"
    assert set(result.specifics) == {"refund", "duplicate", "invoice"}
    assert result.personalised
    assert result.personalisation == 1.0
    assert result.evidence()["name"] == ["Alice"]
    assert result.response_seconds == 1800
    assert result.agent_id == "agent-7"
    assert result.answered_id == QUESTION.native_id


def test_generic_reply_is_not_personalised() -> None:
    reply = _msg("Thanks for reaching out, we are looking into it.", AuthorRole.AGENT, 5)
    result = assess_reply(reply, QUESTION, CUSTOMER)
    assert result.uses_name is None
    assert result.specifics == ()
    assert not result.personalised
    assert result.personalisation == 0.0


def test_name_must_be_a_whole_word() -> None:
    reply = _msg("Our Alicemart store ships worldwide.", AuthorRole.AGENT, 5)
    assert assess_reply(reply, QUESTION, CUSTOMER).uses_name is None


@pytest.mark.parametrize(("text", "part", "phrase"), [
    ("That's completely understandable, let me look.", "validation",
     "that's completely understandable"),
    ("You're absolutely right, that should not happen.", "validation", "you're absolutely right"),
    ("I'm so sorry about the delay.", "acknowledgment", "i'm so sorry"),
    ("That must be really frustrating.", "acknowledgment", "that must be really frustrating"),
    ("If I understand correctly, the refund never reached you.", "paraphrase",
     "if i understand correctly"),
    ("It sounds like the invoice was sent twice.", "paraphrase", "it sounds like"),
])
def test_active_listening_markers(text: str, part: str, phrase: str) -> None:
    result = assess_reply(_msg(text, AuthorRole.AGENT, 3), QUESTION, CUSTOMER)
    assert phrase in getattr(result, part)
    assert result.listening


def test_acknowledgment_by_naming_the_detected_emotion() -> None:
    reply = _msg("I hear the worry in your message; the charge is on hold.", AuthorRole.AGENT, 3)
    anxious = _ctx(-0.5, EmotionalState.ANXIETY, 0.7)
    result = assess_reply(reply, QUESTION, CUSTOMER, answered_context=anxious)
    assert "worr" in result.acknowledgment or "i hear" in result.acknowledgment
    assert result.answered_intensity == 0.7


def test_no_listening_marker() -> None:
    result = assess_reply(_msg("The invoice is attached.", AuthorRole.AGENT, 3), QUESTION,
                          CUSTOMER)
    assert not result.listening
    assert result.validation == result.acknowledgment == result.paraphrase == ()


def test_tone_comes_from_the_reply_context() -> None:
    reply = _msg("Happy to help!", AuthorRole.AGENT, 3)
    assert assess_reply(reply, QUESTION, CUSTOMER, tone=_ctx(0.8)).tone == 0.8
    assert assess_reply(reply, QUESTION, CUSTOMER).tone is None


def test_clarity_jargon_next_step_and_sentence_length() -> None:
    clear = _msg("I'll refund you today. You will see it within 3 days.", AuthorRole.AGENT, 3)
    murky = _msg("As per policy the backend sync of the RMA payload propagates after the cache "
                 "is invalidated by the provisioning layer which our L2 team manages and "
                 "which depends on the configuration of several internal systems",
                 AuthorRole.AGENT, 3)
    good, bad = assess_reply(clear, QUESTION, CUSTOMER), assess_reply(murky, QUESTION, CUSTOMER)
    assert good.next_step and not bad.next_step
    assert {"backend", "sync", "as per", "cache", "rma", "payload"} <= set(bad.jargon)
    assert good.jargon == ()
    assert good.clarity == 1.0
    assert bad.clarity < 0.3
    assert bad.mean_sentence_words > 30


def test_jargon_the_customer_used_is_not_counted() -> None:
    question = _msg("The API returns 500 since the update.")
    reply = _msg("The API is fixed now.", AuthorRole.AGENT, 3)
    assert assess_reply(reply, question, CUSTOMER).jargon == ()


def test_extra_settings() -> None:
    settings = AssessmentSettings(extra_jargon=["flux capacitor"], min_specifics=1,
                                  validation_phrases=[r"great point"])
    reply = _msg("Great point, the flux capacitor refund is done.", AuthorRole.AGENT, 3)
    result = assess_reply(reply, QUESTION, CUSTOMER, settings=settings)
    assert "flux capacitor" in result.jargon
    assert "great point" in result.validation
    assert result.personalised  # one shared word ("refund") is enough with min_specifics=1


def test_empathy_is_the_mean_of_the_parts() -> None:
    reply = _msg("Alice, I'm sorry about the duplicate invoice refund. I'll fix it today.",
                 AuthorRole.AGENT, 3)
    r = assess_reply(reply, QUESTION, CUSTOMER, tone=_ctx(0.2))
    listening = min(1.0, sum(bool(x) for x in (r.validation, r.acknowledgment,
                                                r.paraphrase)) / 2)
    expected = (r.personalisation + listening + (0.2 + 1) / 2 + r.clarity) / 4
    assert r.empathy == pytest.approx(expected, abs=1e-3)


def test_answered_message_skips_surveys_and_replies() -> None:
    conversation = [
        _msg("first question", minutes=0, native_id="q1"),
        _msg("answer", AuthorRole.AGENT, 1, native_id="a1"),
        _msg("Rated good", minutes=2, kind="survey", native_id="s1"),
        _msg("follow-up", AuthorRole.BOT, 3, native_id="b1"),
    ]
    assert answered_message(conversation, 1) is conversation[0]
    assert answered_message(conversation, 3) is conversation[0]
    assert answered_message([_msg("hello", AuthorRole.AGENT, 0)], 0) is None


def test_content_words_drop_stopwords_and_stem() -> None:
    words = content_words("The refunds were refunded, and I'm still waiting for them!")
    assert "refund" in words
    assert "the" not in words and "still" not in words


def test_names_that_are_words_must_be_capitalised() -> None:
    will = Party(source="s", id="c2", name="Will Hart")
    assert assess_reply(_msg("We will check it.", AuthorRole.AGENT, 3), QUESTION,
                        will).uses_name is None
    assert assess_reply(_msg("Will, we checked it.", AuthorRole.AGENT, 3), QUESTION,
                        will).uses_name == "Will"
    assert assess_reply(_msg("hi alice, done.", AuthorRole.AGENT, 3), QUESTION,
                        CUSTOMER).uses_name == "Alice"
