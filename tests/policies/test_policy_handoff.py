"""Bot-to-human handoff on multi-turn transcripts, and the context packet."""

from __future__ import annotations

from typing import Any

import pytest

from empathy_bridge.engine import Bridge
from empathy_bridge.policies.handoff import bot_repeats, decide_handoff
from empathy_bridge.policies.settings import HandoffSettings

ENV = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}

# Each transcript: (role, text, context kwargs or None for bot turns).
TRANSCRIPTS: list[dict[str, Any]] = [
    dict(id="calm-password-reset", handoff=False, turns=[
        ("customer", "Hi! How do I reset my password?", dict(state="confusion", intensity=0.2,
                                                             tier="calm")),
        ("bot", "You can reset it from Settings > Security > Reset password.", None),
        ("customer", "Found it, thanks a lot!", dict(state="satisfaction", intensity=0.4,
                                                     tier="calm")),
    ], reason="no trigger"),
    dict(id="human-in-first-message", handoff=True, turns=[
        ("customer", "I want to talk to a real person, not a bot.",
         dict(state="frustration", intensity=0.3, tier="concerned", cues=["human_request"])),
    ], reason="customer asked for a human"),
    dict(id="frustration-rising", handoff=True, turns=[
        ("customer", "My package hasn't arrived yet.", dict(state="anxiety", intensity=0.3,
                                                            tier="concerned", frustration=0.2)),
        ("bot", "Your package is in transit. Track it at acme.example/track.", None),
        ("customer", "The tracking page hasn't changed in four days.",
         dict(state="frustration", intensity=0.45, tier="upset", frustration=0.45)),
        ("bot", "Deliveries can take 5-7 business days.", None),
        ("customer", "It's been 12 days. This is not acceptable.",
         dict(state="frustration", intensity=0.6, tier="upset", frustration=0.6)),
    ], reason="frustration rose over 3 customer turns (0.20 → 0.45 → 0.60)"),
    dict(id="bot-loops", handoff=True, turns=[
        ("customer", "I can't log in to my account.", dict(state="confusion", intensity=0.3,
                                                           tier="concerned")),
        ("bot", "Please try resetting your password using the 'Forgot password' link.", None),
        ("customer", "I did, the email never comes.", dict(state="confusion", intensity=0.3,
                                                           tier="concerned")),
        ("bot", "Please try resetting your password using the \"Forgot password\" link!", None),
    ], reason="bot repeated itself (replies 1 and 2"),
    dict(id="bereavement", handoff=True, turns=[
        ("customer", "My father passed away last month and I need to close his account.",
         dict(state="disappointment", intensity=0.3, tier="concerned")),
    ], reason="never-automate topic bereavement: 'passed away'"),
    dict(id="fraud-by-cue", handoff=True, turns=[
        ("customer", "There are payments on my card I never made.",
         dict(state="anxiety", intensity=0.5, tier="upset", cues=["fraud"])),
    ], reason="never-automate topic fraud: cue fraud"),
    dict(id="intensity-spike", handoff=True, turns=[
        ("customer", "Where is my refund?", dict(state="frustration", intensity=0.3,
                                                 tier="concerned")),
        ("bot", "Refunds take up to 10 days.", None),
        ("customer", "THIS IS A JOKE. THREE WEEKS. UNBELIEVABLE.",
         dict(state="frustration", intensity=0.9, tier="critical")),
    ], reason="intensity 0.90 ≥ 0.75"),
    dict(id="frustration-cues-pile-up", handoff=True, turns=[
        ("customer", "The invoice total looks wrong.", dict(state="frustration", intensity=0.4,
                                                            tier="concerned", frustration=0.4)),
        ("bot", "Invoices are generated on the 1st of each month.", None),
        ("customer", "I told you already, the total is wrong.",
         dict(state="frustration", intensity=0.4, tier="concerned", frustration=0.4,
              cues=["repeated_contact"])),
        ("bot", "You can download invoices from Billing > History.", None),
        ("customer", "AGAIN: THE TOTAL IS WRONG.",
         dict(state="frustration", intensity=0.4, tier="concerned", frustration=0.4,
              cues=["repeated_contact", "shouting"])),
    ], reason="frustration rose over 3 customer turns (0.40 → 0.50 → 0.60)"),
    dict(id="confusion-cues-are-not-frustration", handoff=False, turns=[
        ("customer", "Where do I find the export?", dict(state="confusion", intensity=0.3,
                                                         tier="concerned")),
        ("bot", "Go to Reports > Export.", None),
        ("customer", "Which reports page, the old or new one?",
         dict(state="confusion", intensity=0.3, tier="concerned", cues=["confusion"])),
        ("bot", "The new one, under Analytics.", None),
        ("customer", "Hmm, I'm not sure what you mean by Analytics?",
         dict(state="confusion", intensity=0.3, tier="concerned", cues=["confusion", "anxiety"])),
    ], reason="no trigger"),
    dict(id="steady-mild-annoyance", handoff=False, turns=[
        ("customer", "The export is a bit slow today.", dict(state="frustration", intensity=0.3,
                                                             tier="concerned", frustration=0.3)),
        ("bot", "Large exports can take a few minutes; you'll get an email when it's ready.", None),
        ("customer", "OK, still a bit slow but fine.",
         dict(state="frustration", intensity=0.25, tier="concerned", frustration=0.25)),
    ], reason="no trigger"),
]


def _conversation(build: Any, turns: list[tuple[str, str, Any]]) -> Any:
    customer = build.customer()
    items = []
    for n, (role, text, ctx) in enumerate(turns):
        message = build.message(f"m{n}", text, role=role, minutes=n * 2, channel="chat",
                                customer=customer)
        items.append((message, build.context(**ctx) if ctx is not None else None))
    return build.conversation(items)


@pytest.mark.parametrize("case", TRANSCRIPTS, ids=[c["id"] for c in TRANSCRIPTS])
def test_handoff_transcripts(build: Any, case: dict[str, Any]) -> None:
    decision = decide_handoff(_conversation(build, case["turns"]), HandoffSettings())
    assert decision.handoff is case["handoff"], decision.reasons
    assert any(reason.startswith(case["reason"]) for reason in decision.reasons), decision.reasons
    assert decision.trajectory is not None


def test_packet_carries_what_a_human_needs(build: Any) -> None:
    case = next(c for c in TRANSCRIPTS if c["id"] == "frustration-rising")
    decision = decide_handoff(_conversation(build, case["turns"]), HandoffSettings())
    assert decision.bot_attempts == (
        "Your package is in transit. Track it at acme.example/track.",
        "Deliveries can take 5-7 business days.")
    assert decision.trajectory is not None
    assert decision.trajectory.customer_turns == 3
    assert decision.trajectory.trend.value == "escalating"
    assert decision.summary.startswith("3 customer turns, 2 bot replies (anxiety → frustration")
    assert '"My package hasn\'t arrived yet."' in decision.summary
    assert decision.summary.endswith('"This is not acceptable."')
    assert decision.suggested_opening.startswith("Hi Dana, I'm [your name].")
    assert "your package" in decision.suggested_opening


def test_openings_fit_the_reason(build: Any) -> None:
    def opening(case_id: str) -> str:
        case = next(c for c in TRANSCRIPTS if c["id"] == case_id)
        return decide_handoff(_conversation(build, case["turns"]),
                              HandoffSettings()).suggested_opening

    assert "sorry for your loss" in opening("bereavement")
    assert "You asked to speak with someone" in opening("human-in-first-message")
    assert "it needs a person" in opening("fraud-by-cue")


def test_cues_of_every_turn_are_in_the_packet(build: Any) -> None:
    turns = [("customer", "Second time writing.", dict(state="frustration", intensity=0.4,
                                                       tier="upset", cues=["repeated_contact"])),
             ("bot", "Thanks, we're looking into it.", None),
             ("customer", "Get me a human.", dict(state="frustration", intensity=0.5, tier="upset",
                                                  cues=["human_request"]))]
    decision = decide_handoff(_conversation(build, turns), HandoffSettings())
    assert {c.kind for c in decision.cues} == {"repeated_contact", "human_request"}


def test_no_handoff_when_a_human_is_already_there(build: Any) -> None:
    turns = [("customer", "I need a person", dict(state="frustration", intensity=0.5,
                                                  tier="upset", cues=["human_request"])),
             ("agent", "Hi, I'm Sam from support.", None),
             ("customer", "Thanks Sam", dict(state="satisfaction", intensity=0.3, tier="calm"))]
    decision = decide_handoff(_conversation(build, turns), HandoffSettings())
    assert not decision.handoff
    assert decision.reasons == ("a human agent is already in the conversation",)


def test_never_automate_topics_are_configurable(build: Any) -> None:
    turns = [("customer", "My pet insurance claim for Rex's surgery was denied.",
              dict(state="disappointment", intensity=0.3, tier="concerned"))]
    default = decide_handoff(_conversation(build, turns), HandoffSettings())
    config = build.config({"handoff": {"never_automate": [
        {"name": "veterinary", "keywords": ["surgery", "vet"]}]}})
    custom = decide_handoff(_conversation(build, turns), config.section("handoff", HandoffSettings))
    assert not default.handoff
    assert custom.handoff and custom.reasons == ("never-automate topic veterinary: 'surgery'",)


def test_keywords_match_whole_words_only(build: Any) -> None:
    # "courteous" contains "court" and "scampi" contains "scam": neither is legal or fraud.
    turns = [("customer", "Your courteous staff recommended the scampi, lovely.",
              dict(state="satisfaction", intensity=0.5, tier="calm"))]
    assert not decide_handoff(_conversation(build, turns), HandoffSettings()).handoff


def test_bot_repeats_finds_near_duplicates_only() -> None:
    assert bot_repeats(["Try restarting the app.", "Try restarting the app!"], 0.85) == (
        0, 1, 1.0)
    assert bot_repeats(["Your refund is on its way.", "Tracking shows delivery tomorrow."],
                       0.85) is None


def test_bridge_decide_handoff_is_one_call(build: Any) -> None:
    case = next(c for c in TRANSCRIPTS if c["id"] == "human-in-first-message")
    conversation = _conversation(build, case["turns"])
    with Bridge.from_config(None, environ=ENV) as bridge:
        decision = bridge.decide_handoff(conversation)
    assert decision.handoff
    assert decision.reasons[0].startswith("customer asked for a human")


def test_bridge_analyses_a_bare_transcript(build: Any) -> None:
    # No contexts given: the bridge analyses each message; the never-automate keyword decides,
    # whatever the analyzer's scores are.
    customer = build.customer()
    messages = [build.message("m0", "I was injured by the heater you sold me.", channel="chat",
                              customer=customer)]
    conversation = build.conversation([(messages[0], None)])
    with Bridge.from_config(None, environ=ENV) as bridge:
        decision = bridge.decide_handoff(conversation)
    assert decision.handoff
    assert "never-automate topic safety: 'injured'" in decision.reasons


def test_disabled_policy_never_hands_off(build: Any) -> None:
    case = next(c for c in TRANSCRIPTS if c["id"] == "human-in-first-message")
    decision = decide_handoff(_conversation(build, case["turns"]), HandoffSettings(enabled=False))
    assert not decision.handoff


def test_only_bot_conversations_are_in_scope_by_default(build: Any) -> None:
    customer = build.customer()
    email = build.message("e1", "I want to talk to a manager about this invoice.",
                          channel="email", customer=customer)
    context = build.context("frustration", 0.5, "upset", cues=["human_request"])
    conversation = build.conversation([(email, context)])
    scoped = decide_handoff(conversation, HandoffSettings())
    assert not scoped.handoff
    assert scoped.reasons == ("not a bot conversation: no bot message and channel 'email' is not "
                              "in [handoff] bot_channels",)
    assert decide_handoff(conversation, HandoffSettings(scope="all")).handoff
    # A bot reply in the thread brings any channel into scope.
    bot = build.message("b1", "I can help with invoices!", role="bot", channel="email", minutes=1)
    again = build.message("e2", "A human, please.", channel="email", customer=customer, minutes=2)
    with_bot = build.conversation([(email, context), (bot, None), (again, context)])
    assert decide_handoff(with_bot, HandoffSettings()).handoff
