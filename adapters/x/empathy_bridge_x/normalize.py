"""Turn X API v2 tweet and user objects into canonical Interactions and Parties.

Pure functions over the JSON X returns (``data[]`` plus ``includes.users``), so they are tested
without a network. A tweet that cannot be normalised raises :class:`NormalizeError`, which the
adapter turns into a dead letter for that tweet alone.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from empathy_bridge.schemas import AuthorRole, Interaction, Party, Visibility
from empathy_bridge.text import clean_text

__all__ = ["NormalizeError", "party_from_user", "tweet_to_interaction", "tweet_url"]

SOURCE_KIND = "post"
CHANNEL = "social"


class NormalizeError(ValueError):
    """A tweet object is missing what an Interaction needs; the message says what."""


def tweet_url(handle: str | None, tweet_id: str) -> str:
    """Public link of a tweet (``/i/web/status`` works when the handle is unknown)."""
    if handle:
        return f"https://x.com/{handle}/status/{tweet_id}"
    return f"https://x.com/i/web/status/{tweet_id}"


def _created_at(value: Any, tweet_id: str) -> datetime:
    if not isinstance(value, str):
        raise NormalizeError(
            f"tweet {tweet_id} has no created_at (request tweet.fields=created_at)")
    try:
        # X sends "2026-11-27T10:00:00.000Z"; fromisoformat in 3.11 reads the Z suffix.
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise NormalizeError(f"tweet {tweet_id} has an unreadable created_at {value!r}") from exc
    if parsed.tzinfo is None:
        raise NormalizeError(f"tweet {tweet_id} has a created_at without timezone: {value!r}")
    return parsed


def party_from_user(source: str, user: Mapping[str, Any], role: AuthorRole) -> Party:
    """A Party from an X user object (``user.fields=username,name,public_metrics``)."""
    metrics = user.get("public_metrics") or {}
    followers = metrics.get("followers_count") if isinstance(metrics, Mapping) else None
    return Party(
        source=source,
        id=str(user["id"]),
        role=role,
        name=user.get("name") or None,
        handle=("@" + str(user["username"])) if user.get("username") else None,
        followers=int(followers) if isinstance(followers, int) and followers >= 0 else None,
    )


def tweet_to_interaction(
    source: str,
    tweet: Mapping[str, Any],
    users: Mapping[str, Mapping[str, Any]],
    own_user_id: str,
) -> Interaction:
    """One public social Interaction for ``tweet``; ``users`` is ``includes.users`` by id.

    Our own account's tweets are agent messages; everyone else is a customer. The conversation
    is X's ``conversation_id`` (the id of the thread's first tweet), which is also the record
    write-back would target.
    """
    tweet_id = str(tweet.get("id") or "")
    if not tweet_id.isdigit():
        raise NormalizeError(f"tweet has no valid id: {tweet.get('id')!r}")
    author_id = tweet.get("author_id")
    if not author_id:
        raise NormalizeError(f"tweet {tweet_id} has no author_id (request tweet.fields=author_id)")
    author_id = str(author_id)
    raw_text = tweet.get("text")
    if not isinstance(raw_text, str):
        raise NormalizeError(f"tweet {tweet_id} has no text (withheld or malformed)")
    # X escapes &, < and > in post text; the canonical text is what the person typed.
    text, _cut = clean_text(html.unescape(raw_text))
    role = AuthorRole.AGENT if author_id == own_user_id else AuthorRole.CUSTOMER
    user = users.get(author_id)
    author = (party_from_user(source, user, role) if user is not None
              else Party(source=source, id=author_id, role=role))
    replied_to = None
    for ref in tweet.get("referenced_tweets") or ():
        if isinstance(ref, Mapping) and ref.get("type") == "replied_to" and ref.get("id"):
            replied_to = str(ref["id"])
    conversation_id = str(tweet.get("conversation_id") or tweet_id)
    handle = author.handle[1:] if author.handle else None
    metrics = tweet.get("public_metrics") or {}
    native_fields: dict[str, Any] = {"url": tweet_url(handle, tweet_id)}
    if isinstance(metrics, Mapping):
        native_fields["public_metrics"] = {str(k): v for k, v in metrics.items()
                                           if isinstance(v, int)}
    if tweet.get("in_reply_to_user_id"):
        native_fields["in_reply_to_user_id"] = str(tweet["in_reply_to_user_id"])
    lang = tweet.get("lang")
    return Interaction(
        source=source,
        native_id=tweet_id,
        conversation_id=conversation_id,
        record_id=conversation_id,
        channel=CHANNEL,
        kind=SOURCE_KIND,
        author=author,
        author_role=role,
        customer=author if role is AuthorRole.CUSTOMER else None,
        visibility=Visibility.PUBLIC,
        text=text,
        # X reports "und" when it cannot tell (emoji-only posts, for instance).
        language=lang if isinstance(lang, str) and lang not in ("", "und") else None,
        created_at=_created_at(tweet.get("created_at"), tweet_id),
        native_fields=native_fields,
        in_reply_to=replied_to,
    )
