"""Webhook bodies to canonical interactions (no HTTP): every accepted shape, and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from empathy_bridge.errors import SkippableError
from empathy_bridge.schemas import AuthorRole, Visibility
from empathy_bridge.server.events import interactions_from_event


def test_x_v2_body_with_our_own_reply() -> None:
    body = {"for_user_id": "100", "data": [
        {"id": "11", "author_id": "7", "text": "@acme where is my refund?!",
         "conversation_id": "11", "created_at": "2026-11-27T10:00:00.000Z"},
        {"id": "12", "author_id": "100", "text": "@pat sorry, checking now",
         "conversation_id": "11", "referenced_tweets": [{"type": "replied_to", "id": "11"}]}],
        "includes": {"users": [{"id": "7", "username": "pat",
                                "public_metrics": {"followers_count": 5}}]}}
    first, second = interactions_from_event("x", "social", body)
    assert first.author_role is AuthorRole.CUSTOMER and first.author is not None
    assert first.author.handle == "@pat" and first.author.followers == 5
    assert second.author_role is AuthorRole.AGENT and second.in_reply_to == "11"
    assert {first.conversation_id, second.conversation_id} == {"11"}


def test_salesforce_comment_and_bare_case() -> None:
    case = {"Id": "500A", "ContactId": "003C", "Priority": "Critical", "Subject": "Broken",
            "Description": "Nothing works and I am upset"}
    [comment] = interactions_from_event("salesforce", "sf", {
        "case": case, "comment": {"Id": "00aX", "CommentBody": "Any news??",
                                  "CreatedById": "003C", "IsPublished": True}})
    assert comment.author_role is AuthorRole.CUSTOMER and comment.native_priority == "urgent"
    assert comment.visibility is Visibility.PUBLIC and comment.record_id == "500A"
    [bare] = interactions_from_event("salesforce", "sf", {"case": case})
    assert bare.native_id == "500A" and "Nothing works" in bare.text


def test_zendesk_private_note_is_an_agent_message_and_html_is_cleaned() -> None:
    [note] = interactions_from_event("zendesk", "zd", {
        "ticket": {"id": 5, "requester_id": 9},
        "comment": {"id": 6, "author_id": 9, "public": "false", "body": "<p>internal</p>"}})
    assert note.author_role is AuthorRole.AGENT and note.visibility is Visibility.PRIVATE
    assert note.text == "internal"


def test_canonical_envelope_forces_the_receiving_source() -> None:
    [one] = interactions_from_event("zendesk", "mine", {"interactions": [
        {"source": "someone-else", "native_id": "1", "conversation_id": "c",
         "text": "hi", "created_at": "2026-11-27T10:00:00Z"}]})
    assert one.source == "mine"


@pytest.mark.parametrize(("platform", "body", "message"), [
    ("zendesk", [], "JSON object"),
    ("zendesk", {"ticket": {"id": 1}, "comment": {"body": "x"}}, "comment.id"),
    ("x", {"favorite_events": [{}]}, "tweet"),
    ("x", {"tweet_create_events": "nope"}, "must be a list"),
    ("salesforce", {"message": {}}, "case"),
    ("salesforce", {"case": {"Id": "1"}, "message": {"TextBody": "x"}}, "needs an Id"),
    ("zendesk", {"interactions": []}, "non-empty"),
    ("zendesk", {"interactions": [{"native_id": "1"}]}, "not a valid interaction"),
])
def test_unreadable_bodies_say_why(platform: str, body: Any, message: str) -> None:
    with pytest.raises(SkippableError, match=message):
        interactions_from_event(platform, "src", body)
