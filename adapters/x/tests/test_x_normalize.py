"""Tweet and user objects to canonical Interactions and Parties (no network)."""

from __future__ import annotations

from typing import Any

import pytest

from empathy_bridge.schemas import AuthorRole, Visibility
from empathy_bridge_x.normalize import NormalizeError, tweet_to_interaction

BRAND = "1000000000000000001"
USERS: dict[str, dict[str, Any]] = {
    "42": {"id": "42", "username": "max", "name": "Max",
           "public_metrics": {"followers_count": 251000}},
    BRAND: {"id": BRAND, "username": "AcmeSupport", "name": "Acme Support",
            "public_metrics": {"followers_count": 52000}},
}


def tweet(**fields: Any) -> dict[str, Any]:
    base = {"id": "1860000000000001000", "text": "@AcmeSupport broken again", "author_id": "42",
            "conversation_id": "1860000000000000500", "created_at": "2026-11-27T10:00:00.000Z",
            "lang": "en", "public_metrics": {"reply_count": 3, "like_count": 9},
            "referenced_tweets": [{"type": "replied_to", "id": "1860000000000000500"}]}
    base.update(fields)
    return base


def test_customer_post_becomes_public_social_interaction() -> None:
    interaction = tweet_to_interaction("x", tweet(), USERS, BRAND)
    assert interaction.channel == "social" and interaction.visibility is Visibility.PUBLIC
    assert interaction.author_role is AuthorRole.CUSTOMER
    assert interaction.conversation_id == interaction.record_id == "1860000000000000500"
    assert interaction.in_reply_to == "1860000000000000500"
    assert interaction.author is not None and interaction.author.handle == "@max"
    assert interaction.author.followers == 251000
    assert interaction.customer == interaction.author
    assert interaction.native_fields["url"] == "https://x.com/max/status/1860000000000001000"
    assert interaction.native_fields["public_metrics"] == {"reply_count": 3, "like_count": 9}
    assert interaction.created_at.utcoffset() is not None


def test_own_account_posts_are_agent_messages() -> None:
    interaction = tweet_to_interaction("x", tweet(author_id=BRAND), USERS, BRAND)
    assert interaction.author_role is AuthorRole.AGENT
    assert interaction.customer is None


def test_emoji_only_and_non_english_posts_keep_their_text_and_language() -> None:
    emoji = tweet_to_interaction("x", tweet(text="😡😡😡", lang="und"), USERS, BRAND)
    assert emoji.text == "😡😡😡" and emoji.language is None
    spanish = tweet_to_interaction("x", tweet(text="¡Otra vez sin servicio!", lang="es"),
                                   USERS, BRAND)
    assert spanish.language == "es" and spanish.text == "¡Otra vez sin servicio!"


def test_x_entity_escapes_are_decoded() -> None:
    interaction = tweet_to_interaction("x", tweet(text="fees &gt; 10 &amp; rising &lt;3"),
                                       USERS, BRAND)
    assert interaction.text == "fees > 10 & rising <3"


def test_author_missing_from_includes_is_still_a_party_without_reach() -> None:
    interaction = tweet_to_interaction("x", tweet(author_id="77"), USERS, BRAND)
    assert interaction.author is not None and interaction.author.id == "77"
    assert interaction.author.followers is None


@pytest.mark.parametrize(("fields", "message"), [
    ({"id": None}, "no valid id"),
    ({"author_id": None}, "no author_id"),
    ({"text": None}, "no text"),
    ({"created_at": None}, "no created_at"),
    ({"created_at": "yesterday"}, "unreadable created_at"),
    ({"created_at": "2026-11-27T10:00:00"}, "without timezone"),
])
def test_unusable_tweets_raise_one_clear_error(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(NormalizeError, match=message):
        tweet_to_interaction("x", tweet(**fields), USERS, BRAND)


def test_comparable_text_matches_what_x_gives_back() -> None:
    from empathy_bridge_x.adapter import comparable_text

    sent = "Billing > Address & more:  https://help.acme.example/billing?x=1"
    returned = "Billing &gt; Address &amp; more: https://t.co/AbCdEf1234"
    assert comparable_text(sent) == comparable_text(returned)
    assert comparable_text("other words") != comparable_text(sent)
