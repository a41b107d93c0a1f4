"""The fast batch paths build the same models as plain validated construction would."""

from __future__ import annotations

from datetime import UTC, datetime

from empathy_bridge.analysis import analyze_texts, detect_cues, read_batch
from empathy_bridge.engine import Bridge
from empathy_bridge.schemas import AuthorRole, EmotionalContext, Interaction

TEXTS = [
    "This is the THIRD TIME I ask!!! Cancel my subscription.",
    "I'm so sorry for the trouble, I understand how frustrating this is.",
    "thanks, that fixed it 🙂",
    "😡😡",
    "",
    "Das ist wirklich nicht gut",
    "how do I reset my password?",
]


# The fields the analyzer sets (schema_version is left to its default), as validation records.
SET_FIELDS = set(EmotionalContext.model_fields) - {"schema_version"}


def _validated(context: EmotionalContext) -> EmotionalContext:
    fields = {name: getattr(context, name) for name in context.model_fields_set}
    return EmotionalContext(**fields)


def test_contexts_equal_their_validated_twins() -> None:
    for role in AuthorRole:
        for context in analyze_texts(TEXTS, role=role):
            twin = _validated(context)
            assert context == twin
            assert context.model_fields_set == twin.model_fields_set == SET_FIELDS
            assert context.model_dump_json() == twin.model_dump_json()
            assert isinstance(context.cues, tuple)


def test_plain_values_from_a_caller_are_still_validated() -> None:
    # A plugin may hand read_batch a role as a plain string: the context is built through
    # validation then, which converts it, as before contexts were copied from a template.
    text = "Cancel my account now"
    [context] = read_batch([text], ["bot"], [detect_cues(text)], [False])  # type: ignore[list-item]
    assert context.author_role is AuthorRole.BOT
    assert context == read_batch([text], [AuthorRole.BOT], [detect_cues(text)], [False])[0]


def test_analyze_many_texts_equal_explicit_interactions() -> None:
    bridge = Bridge.from_config(None, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"})
    try:
        fields = {"author_role": AuthorRole.AGENT, "language": "en", "channel": "chat"}
        from_texts = bridge.analyze_many(TEXTS, **fields)
        now = datetime.now(UTC)
        explicit = [
            Interaction(
                source="sdk", native_id=str(n), conversation_id=str(n), text=t, created_at=now,
                **fields,
            )
            for n, t in enumerate(TEXTS)
        ]
        assert from_texts == bridge.analyze_many(explicit)
        # Interactions and texts mixed: each item keeps its own fields.
        mixed = bridge.analyze_many([explicit[0], TEXTS[1], TEXTS[2]])
        assert mixed[0] == from_texts[0]
        assert mixed[1].author_role is AuthorRole.CUSTOMER
        assert mixed[2] == bridge.analyze(TEXTS[2])
    finally:
        bridge.close()


def test_sdk_path_equals_analyze_texts_with_long_messages_mid_batch() -> None:
    from empathy_bridge.analysis import analyze_texts

    limit = 100
    texts = [
        "short and fine",
        "This is the THIRD time I'm asking!!! " * 5,  # over the cap, cues past it dropped
        "I want to cancel my subscription",
        "x" * 101,
        "",
    ]
    bridge = Bridge.from_config(
        {"analysis": {"max_chars": limit, "batch_size": 2}},
        environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"},
    )
    sdk = bridge.analyze_many(texts)
    assert [c.truncated for c in sdk] == [False, True, False, True, False]
    assert [c.model_dump_json() for c in sdk] == [
        c.model_dump_json() for c in analyze_texts(texts, max_chars=limit)
    ]
