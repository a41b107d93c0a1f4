"""Bad-input fuzzing: every adapter's normaliser and the analyzer, on random and hostile input.

Property: a valid Interaction (or context), or one of the errors the caller turns into a dead
letter / a clear one-line error; never anything else escaping.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empathy_bridge.engine import Bridge
from empathy_bridge.errors import SkippableError
from empathy_bridge.schemas import EmotionalContext, Interaction

#: What the adapters catch around their normalisers and turn into FetchFailure dead letters
#: (pydantic's ValidationError is a ValueError).
DEAD_LETTERED = (KeyError, ValueError, TypeError, OverflowError)

FUZZ = settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

hostile_text = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "<script>alert(1)</script>",
            "<p>hi<br>there</p>" * 50,
            "😡" * 300,
            "a" * 20_000,
            "\u202e\u200b\ufeff",
            "Robert'); DROP TABLE tickets;--",
            "%s%n%x",
            "{{7*7}}",
            "${jndi:ldap://x}",
            "\r\n\r\n",
            "null",
            "NaN",
            "-1",
            "1e309",
        ]
    ),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
ids = st.one_of(
    st.integers(min_value=-5, max_value=10**12),
    st.text(max_size=12),
    st.none(),
    st.just("123"),
    st.floats(),
)
timestamps = st.one_of(
    st.just("2026-11-01T09:00:00Z"),
    st.just("2026-11-01T09:00:00.000+0000"),
    hostile_text,
    st.integers(),
    st.none(),
)


def shaped(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Records with the platform's keys, hostile values, sometimes keys missing or extra."""
    return st.one_of(
        st.fixed_dictionaries(required, optional=optional),
        st.fixed_dictionaries({}, optional={**required, **optional}),
        st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    )


good_id = st.integers(min_value=1, max_value=10**12)
good_time = st.sampled_from(
    ["2026-11-01T09:00:00Z", "2026-11-02T17:30:12.000+0000", "2026-11-03T08:00:00+00:00"]
)


def plausible(valid: dict[str, Any], hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Half well-formed records with hostile text, half hostile records."""
    return st.one_of(st.fixed_dictionaries(valid), hostile)


def _check(produced: Any) -> None:
    items = produced if isinstance(produced, list) else [produced]
    for item in items:
        if item is None:
            continue
        assert isinstance(item, Interaction)
        # Valid means it survives the canonical round trip the store relies on.
        assert Interaction.model_validate_json(item.model_dump_json()) == item


# -- Zendesk ----------------------------------------------------------------------------------

zendesk_child = plausible(
    {
        "id": good_id,
        "body": hostile_text,
        "html_body": hostile_text,
        "author_id": good_id,
        "public": st.booleans(),
        "created_at": good_time,
    },
    shaped(
        {"id": ids, "body": hostile_text},
        {
            "author_id": ids,
            "public": scalars,
            "html_body": hostile_text,
            "plain_body": hostile_text,
            "via": json_values,
            "created_at": timestamps,
            "type": st.just("Comment"),
        },
    ),
)
zendesk_event = plausible(
    {
        "ticket_id": st.just(42),
        "timestamp": st.just(1_793_000_000),
        "event_type": st.sampled_from(["Create", "Update"]),
        "created_at": good_time,
    },
    shaped(
        {"ticket_id": ids},
        {
            "timestamp": st.one_of(st.integers(), hostile_text),
            "event_type": st.sampled_from(["Create", "Update", "x"]),
            "via": json_values,
            "created_at": timestamps,
        },
    ),
)
zendesk_ticket = plausible(
    {
        "id": st.just(42),
        "requester_id": good_id,
        "subject": hostile_text,
        "status": st.just("open"),
        "priority": st.sampled_from([None, "low", "high", "weird"]),
        "tags": st.lists(hostile_text),
        "created_at": good_time,
        "updated_at": good_time,
    },
    shaped(
        {"id": ids},
        {
            "requester_id": ids,
            "status": scalars,
            "priority": scalars,
            "tags": json_values,
            "subject": hostile_text,
            "custom_fields": json_values,
            "via": json_values,
            "created_at": timestamps,
            "updated_at": timestamps,
            "group_id": ids,
        },
    ),
)
zendesk_rating = plausible(
    {
        "id": good_id,
        "score": st.sampled_from(["good", "bad"]),
        "ticket_id": good_id,
        "requester_id": good_id,
        "comment": hostile_text,
        "created_at": good_time,
        "updated_at": good_time,
    },
    shaped(
        {"id": ids, "score": st.sampled_from(["good", "bad", "offered", None, 3])},
        {
            "ticket_id": ids,
            "requester_id": ids,
            "comment": hostile_text,
            "reason": scalars,
            "created_at": timestamps,
            "updated_at": timestamps,
        },
    ),
)


@FUZZ
@given(event=zendesk_event, child=zendesk_child, ticket=zendesk_ticket)
def test_zendesk_comment_normaliser(event: Any, child: Any, ticket: Any) -> None:
    normalize = pytest.importorskip("empathy_bridge_zendesk.normalize")
    try:
        comment = normalize.comment_from_event(event, child)
        produced = normalize.ticket_interactions(
            "zendesk", ticket, [comment], {}, bot_channels=frozenset(), bot_user_ids=frozenset()
        )
    except DEAD_LETTERED:
        return
    _check(produced)


@FUZZ
@given(rating=zendesk_rating)
def test_zendesk_rating_normaliser(rating: Any) -> None:
    normalize = pytest.importorskip("empathy_bridge_zendesk.normalize")
    try:
        produced = normalize.rating_interaction("zendesk", rating, {})
    except DEAD_LETTERED:
        return
    _check(produced)


# -- Salesforce -------------------------------------------------------------------------------

sf_case = plausible(
    {
        "Id": st.just("5003000000D8cuI"),
        "Description": hostile_text,
        "Subject": hostile_text,
        "Origin": st.sampled_from(["Email", "Web", "x"]),
        "Status": st.just("New"),
        "Priority": st.sampled_from(["High", None]),
        "CreatedDate": good_time,
        "SystemModstamp": good_time,
        "ContactId": st.just("0033000000abcde"),
    },
    shaped(
        {"Id": ids, "Description": hostile_text},
        {
            "Subject": hostile_text,
            "Origin": scalars,
            "Status": scalars,
            "Priority": scalars,
            "CaseNumber": scalars,
            "ContactId": ids,
            "ContactEmail": hostile_text,
            "SuppliedEmail": hostile_text,
            "CreatedDate": timestamps,
            "SystemModstamp": timestamps,
            "LastModifiedDate": timestamps,
            "Contact": json_values,
        },
    ),
)
sf_email = plausible(
    {
        "Id": st.just("02s3000000xyzAB"),
        "TextBody": hostile_text,
        "Incoming": st.booleans(),
        "MessageDate": good_time,
        "CreatedDate": good_time,
    },
    shaped(
        {"Id": ids, "TextBody": hostile_text},
        {
            "Incoming": scalars,
            "HtmlBody": hostile_text,
            "MessageDate": timestamps,
            "FromAddress": hostile_text,
            "CreatedDate": timestamps,
            "ParentId": ids,
        },
    ),
)
sf_comment = plausible(
    {
        "Id": st.just("00a3000000qwert"),
        "CommentBody": hostile_text,
        "IsPublished": st.booleans(),
        "CreatedDate": good_time,
    },
    shaped(
        {"Id": ids, "CommentBody": hostile_text},
        {"IsPublished": scalars, "CreatedById": ids, "CreatedDate": timestamps, "ParentId": ids},
    ),
)


@FUZZ
@given(
    case=sf_case, emails=st.lists(sf_email, max_size=3), comments=st.lists(sf_comment, max_size=3)
)
def test_salesforce_case_normaliser(case: Any, emails: Any, comments: Any) -> None:
    normalize = pytest.importorskip("empathy_bridge_salesforce.normalize")
    try:
        produced = normalize.case_interactions("salesforce", case, emails, comments)
    except DEAD_LETTERED:
        return
    _check(produced)


# -- X ----------------------------------------------------------------------------------------

x_tweet = plausible(
    {
        "id": good_id.map(str),
        "text": hostile_text,
        "author_id": good_id.map(str),
        "conversation_id": good_id.map(str),
        "created_at": st.just("2026-11-01T09:00:00.000Z"),
        "lang": st.just("en"),
    },
    shaped(
        {"id": ids, "text": hostile_text, "author_id": ids},
        {
            "conversation_id": ids,
            "created_at": timestamps,
            "lang": scalars,
            "in_reply_to_user_id": ids,
            "referenced_tweets": json_values,
            "entities": json_values,
            "public_metrics": json_values,
        },
    ),
)
x_user = shaped(
    {"id": ids},
    {
        "username": hostile_text,
        "name": hostile_text,
        "verified": scalars,
        "public_metrics": json_values,
    },
)


@FUZZ
@given(tweet=x_tweet, users=st.lists(x_user, max_size=3))
def test_x_tweet_normaliser(tweet: Any, users: Any) -> None:
    normalize = pytest.importorskip("empathy_bridge_x.normalize")
    by_id = {str(u.get("id")): u for u in users if isinstance(u, dict)}
    try:
        produced = normalize.tweet_to_interaction("x", tweet, by_id, "1")
    except DEAD_LETTERED:
        return
    _check(produced)


# -- the analyzer -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer_bridge() -> Any:
    with Bridge.from_config(None, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}) as bridge:
        yield bridge


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(texts=st.lists(hostile_text, min_size=1, max_size=8))
def test_analyzer_on_any_text(analyzer_bridge: Bridge, texts: list[str]) -> None:
    try:
        contexts = analyzer_bridge.analyze_many(texts)
    except SkippableError as exc:  # a clear, one-line error naming the item and plugin
        assert "\n" not in str(exc)
        return
    assert len(contexts) == len(texts)
    for context in contexts:
        assert isinstance(context, EmotionalContext)
        assert -1.0 <= context.sentiment <= 1.0 and 0.0 <= context.intensity <= 1.0


def test_zendesk_infinite_ticket_id_is_a_bad_record_not_a_crash() -> None:
    """Regression found by the fuzzing above: a ticket id of 1e999 (JSON infinity)."""
    normalize = pytest.importorskip("empathy_bridge_zendesk.normalize")
    comment = normalize.comment_from_event(
        {"ticket_id": 42, "timestamp": 1}, {"id": 1, "body": "hi", "author_id": 1}
    )
    try:
        normalize.ticket_interactions(
            "zendesk",
            {"id": float("inf")},
            [comment],
            {},
            bot_channels=frozenset(),
            bot_user_ids=frozenset(),
        )
    except DEAD_LETTERED:
        return
