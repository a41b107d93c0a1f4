"""Cue detection on hand-written customer-service sentences (cue tests, not an accuracy claim)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from empathy_bridge.analysis.cues import MAX_CUES_PER_KIND, detect_cues
from empathy_bridge.analysis.goemotions import default_data_dir, load_split
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.plugins import get_plugin_manager
from empathy_bridge.schemas import AuthorRole, Cue, Interaction

CASES = [
    ("This is the third time I'm writing about this.", "repeated_contact", "third time"),
    ("My router is still not fixed.", "repeated_contact", "still not"),
    ("It broke again.", "repeated_contact", "again"),
    ("How many times do I have to explain this?", "repeated_contact", "How many times"),
    ("I want to cancel my subscription.", "churn_threat", "cancel my subscription"),
    ("I'm switching to another provider.", "churn_threat", "switching to"),
    ("I will take my business elsewhere.", "churn_threat", "take my business elsewhere"),
    ("Can I speak to a human please", "human_request", "speak to a human"),
    ("Get me a manager.", "human_request", "Get me a manager"),
    ("I need a real person, not a bot", "human_request", "real person"),
    ("This is urgent, please reply ASAP", "urgency", "urgent"),
    ("THIS IS COMPLETELY UNACCEPTABLE", "shouting", "THIS IS COMPLETELY UNACCEPTABLE"),
    ("Where is my order!!!", "shouting", "!!!"),
    ("This fucking app keeps crashing", "profanity", "fucking"),
    ("What a load of sh*t", "profanity", "sh*t"),
    ("I don't understand the invoice", "confusion_marker", "I don't understand"),
    ("How do I reset my password?", "confusion_marker", "How do I"),
    ("You charged me twice this month", "anxiety_money", "charged me twice"),
    ("There is an unauthorized charge on my card", "anxiety_money", "unauthorized charge"),
    ("The charger caught fire last night", "anxiety_safety", "caught fire"),
    ("I need the documents by Friday", "anxiety_deadline", "by Friday"),
    ("It has to arrive before my flight", "anxiety_deadline", "before my flight"),
    ("Thank you so much for the quick help", "gratitude", "Thank you"),
    ("Really appreciate it", "gratitude", "appreciate"),
]


@pytest.mark.parametrize(("text", "kind", "span"), CASES)
def test_customer_cue_found_with_its_span(text: str, kind: str, span: str) -> None:
    cues = [c for c in detect_cues(text) if c.kind == kind]
    assert cues, f"no {kind} cue in {text!r}"
    cue = cues[0]
    assert span.lower() in cue.span.lower()
    assert cue.start is not None and cue.end is not None
    assert text[cue.start : cue.end] == cue.span
    assert cue.detector == "builtin"


@pytest.mark.parametrize(
    "text",
    [
        "Hi, could you tell me the opening hours?",
        "The parcel arrived today.",
        "NASA and the USA",  # acronyms alone are not shouting
        "",
    ],
)
def test_plain_messages_have_no_cues(text: str) -> None:
    assert detect_cues(text) == []


def test_overlapping_patterns_of_one_kind_make_one_cue() -> None:
    cues = detect_cues("I want to speak to a real person")
    assert [c.kind for c in cues].count("human_request") == 1


def test_cues_per_kind_are_capped() -> None:
    cues = detect_cues("again " * 1000)
    assert [c.kind for c in cues].count("repeated_contact") == MAX_CUES_PER_KIND


def test_agent_text_reports_apology_and_empathy_not_customer_cues() -> None:
    text = (
        "I'm so sorry for the trouble, I understand how frustrating this is. "
        "I can cancel the order for you again if you like."
    )
    kinds = {c.kind for c in detect_cues(text, agent=True)}
    assert {"apology", "empathy_statement"} <= kinds
    assert not kinds & {"churn_threat", "repeated_contact", "gratitude"}


def _interaction(text: str, role: AuthorRole) -> Interaction:
    return Interaction(
        source="test", native_id="1", conversation_id="c", text=text, author_role=role,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


class _RefundPlugin:
    """A third-party cue detector, added through the same hook as the built-in one."""

    @hookimpl
    def empathy_bridge_detect_cues(self, interactions: Sequence[Interaction]) -> list[list[Cue]]:
        out: list[list[Cue]] = []
        for interaction in interactions:
            text = interaction.text
            start = text.lower().find("refund")
            out.append([] if start < 0 else [
                Cue(kind="refund_request", span=text[start : start + 6], start=start,
                    end=start + 6, detector="refunds")
            ])
        return out


def test_hook_merges_builtin_and_plugin_cues() -> None:
    pm = get_plugin_manager({"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}, (_RefundPlugin(),))
    text = "Third time asking: I want a refund!!!"
    results = pm.hook.empathy_bridge_detect_cues(
        interactions=[_interaction(text, AuthorRole.CUSTOMER)]
    )
    kinds = {c.kind for result in results for found in result for c in found}
    assert {"repeated_contact", "shouting", "refund_request"} <= kinds


def test_hook_reads_agent_messages_as_agent() -> None:
    pm = get_plugin_manager({"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"})
    text = "Sorry about that! Please cancel my earlier note."
    results = pm.hook.empathy_bridge_detect_cues(
        interactions=[_interaction(text, AuthorRole.AGENT)]
    )
    kinds = {c.kind for result in results for found in result for c in found}
    assert "apology" in kinds
    assert "churn_threat" not in kinds


def test_trigger_gates_never_hide_a_match() -> None:
    from empathy_bridge.analysis import cues as module

    texts = [text for text, _, _ in CASES]
    data = default_data_dir()
    if (data / "dev.tsv").is_file():
        texts += [row.text for row in load_split(data, "dev")]
    for text in texts:
        ungated = module._scan(text, module._PATTERNS, module.CUE_KINDS)
        assert detect_cues(text) == ungated, text


def test_case_folded_patterns_match_like_the_case_insensitive_ones() -> None:
    # On ASCII text the detector runs case-insensitive patterns case-sensitively on the
    # lower-cased text; every pattern (customer and agent kinds) must find the same cues.
    from empathy_bridge.analysis import cues as module

    texts = [text for text, _, _ in CASES] + [
        "I'M SO SORRY for the delay, I UNDERSTAND HOW FRUSTRATING this is",
        "THANK YOU!!! Cancel My Subscription, STILL NOT FIXED, 3RD TIME",
        "Ich verstehe nicht, ſorry, thank you",  # non-ASCII: case-insensitive patterns
    ]
    data = default_data_dir()
    if (data / "dev.tsv").is_file():
        texts += [row.text for row in load_split(data, "dev")]
    tables = (module._PATTERNS, module._AGENT_PATTERNS)
    rules = [(kind, p) for table in tables for kind, ps in table.items() for p in ps]
    assert any(module._FOLDED[p] is not None for _, p in rules)
    for text in texts:
        assert module._run(text, rules, fold=True) == module._run(text, rules), text


def test_batch_detector_reads_each_message_by_its_role() -> None:
    from empathy_bridge.analysis.cues import detect_cues_batch

    texts = [text for text, _, _ in CASES] + ["Sorry about that! Please cancel my earlier note."]
    roles = [AuthorRole.CUSTOMER, AuthorRole.AGENT, AuthorRole.BOT] * len(texts)
    roles = roles[: len(texts)]
    assert detect_cues_batch(texts, roles) == [
        detect_cues(t, agent=r is not AuthorRole.CUSTOMER)
        for t, r in zip(texts, roles, strict=True)
    ]


def test_bridge_concatenates_plugin_cues_per_message() -> None:
    from empathy_bridge.engine import Bridge

    env = {"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}
    plain = Bridge.from_config(None, environ=env)
    bridge = Bridge.from_config(None, environ=env, plugins=[_RefundPlugin()])
    texts = ["Third time asking: I want a refund!!!", "all good, thanks", "refund please"]
    with_plugin = bridge.analyze_many(texts)
    without = plain.analyze_many(texts)
    for text, ours, builtin in zip(texts, with_plugin, without, strict=True):
        extra = [c for c in ours.cues if c.kind == "refund_request"]
        assert [c.kind for c in ours.cues if c.kind != "refund_request"] == [
            c.kind for c in builtin.cues
        ]
        assert [c.span for c in extra] == (["refund"] if "refund" in text else [])


class _FailsOnOne:
    """A cue detector that raises on one message of the batch."""

    @hookimpl
    def empathy_bridge_detect_cues(self, interactions: Sequence[Interaction]) -> list[list[Cue]]:
        if any("boom" in i.text for i in interactions):
            raise RuntimeError("cue detector failed")
        return [[] for _ in interactions]


class _WrongLength:
    @hookimpl
    def empathy_bridge_detect_cues(self, interactions: Sequence[Interaction]) -> list[list[Cue]]:
        return [] if len(interactions) < 2 else [[]]


def test_failing_cue_detector_is_isolated_to_its_record() -> None:
    from empathy_bridge.engine import Bridge
    from empathy_bridge.errors import SkippableError
    from empathy_bridge.pipeline import analyze_batch

    bridge = Bridge.from_config(
        None, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}, plugins=[_FailsOnOne()]
    )
    interactions = [_interaction(t, AuthorRole.CUSTOMER).model_copy(update={"native_id": str(n)})
                    for n, t in enumerate(["fine", "boom", "I want to cancel"])]
    done, failures = analyze_batch(bridge.pm, interactions, bridge.config)
    assert [i.native_id for i, _ in done] == ["0", "2"]
    assert [(f.native_id, f.stage) for f in failures] == [("1", "analyze")]
    assert "cue detector failed" in failures[0].error
    assert failures[0].plugin is not None
    with pytest.raises(SkippableError, match="item 1"):
        bridge.analyze_many(["fine", "boom"])


def test_cue_detector_of_the_wrong_length_is_a_plugin_error() -> None:
    from empathy_bridge.engine import Bridge
    from empathy_bridge.errors import PluginError

    bridge = Bridge.from_config(
        None, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}, plugins=[_WrongLength()]
    )
    with pytest.raises(PluginError, match="1 lists for 3 interactions"):
        bridge.analyze_many(["a", "b", "c"])


def test_word_memo_stays_bounded_and_cues_unchanged() -> None:
    # A long backfill keeps meeting new words (order numbers): the memo starts over at its
    # bound instead of growing, and a word met again after that finds the same cues.
    from empathy_bridge.analysis import cues

    first = detect_cues("Order 1 is still not here, this is urgent")
    for n in range(cues._MEMO_MAX + 500):
        detect_cues(f"order{n} arrived")
        assert len(cues._WORD_MASKS) <= cues._MEMO_MAX
    assert detect_cues("Order 1 is still not here, this is urgent") == first
