"""Webhook payloads to canonical :class:`~empathy_bridge.schemas.Interaction` objects.

Accepted bodies, per platform (see ``docs/server.md`` for the exact templates):

- every platform: the canonical envelope ``{"interactions": [Interaction, ...]}`` (``source``
  may be omitted; it is always set to the receiving source);
- Zendesk: an event-subscription webhook (``"type": "zen:event-type:ticket.comment_added"``,
  ``detail`` = the ticket, ``event.comment``) or the trigger body documented in docs/server.md
  (``{"ticket": {...}, "comment": {...}}``);
- X: Account Activity deliveries (``tweet_create_events``) or v2 ``{"data": tweet(s),
  "includes": {"users": [...]}}``;
- Salesforce: ``{"case": {...}, "message": {...}}`` (EmailMessage fields) or ``"comment"``
  (CaseComment fields), as sent by the Flow / Apex callout in docs/server.md.

An installed adapter may take over by offering ``interactions_from_webhook(payload) ->
list[Interaction]``; it is used when present. Ids follow the adapters' conventions (comment id,
ticket id, tweet id), so a webhook and a later poll of the same message have the same content
fingerprint and the poll does no new work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import ValidationError

from empathy_bridge.adapter import Adapter
from empathy_bridge.errors import SkippableError
from empathy_bridge.schemas import AuthorRole, Interaction, Party, Visibility
from empathy_bridge.text import clean_text

__all__ = ["interactions_from_event"]

_CHANNELS = {"email": "email", "web": "web", "api": "web", "chat": "chat", "voice": "voice",
             "twitter": "social", "facebook": "social", "native_messaging": "chat",
             "messaging": "chat", "mobile_sdk": "chat", "Email": "email", "Web": "web",
             "Phone": "voice", "Chat": "chat"}


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _time(value: Any) -> datetime:
    """Any timestamp a platform sends (ISO-8601, unix seconds, RFC 2822 as in X v1.1).

    Missing or unreadable values become the time of arrival.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    text = _str(value)
    if text is None:
        return datetime.now(UTC)
    if text.isdigit():
        return _time(int(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            # A display-formatted placeholder ("November 27, 2026 10:00"): the delivery is
            # fresh (its signature timestamp was checked), so its arrival time is close enough,
            # and the content fingerprint does not depend on it.
            return datetime.now(UTC)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    text = _str(value)
    if text is None:
        return default
    return text.lower() in ("true", "1", "yes")


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SkippableError(f"webhook body has no {what} object")
    return value


def _canonical(source: str, items: Any) -> list[Interaction]:
    if not isinstance(items, list) or not items:
        raise SkippableError("'interactions' must be a non-empty list")
    out = []
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise SkippableError(f"interactions[{n}] is not an object")
        out.append(Interaction.model_validate({**item, "source": source}))
    return out


def _zendesk(source: str, body: Mapping[str, Any]) -> list[Interaction]:
    if "detail" in body and "event" in body:
        # Event-subscription webhook: detail = ticket, event.comment = the new comment.
        ticket = _mapping(body.get("detail"), "'detail' (ticket)")
        comment = _mapping(_mapping(body.get("event"), "'event'").get("comment"), "event.comment")
        raw_author = comment.get("author")
        author: Mapping[str, Any] = raw_author if isinstance(raw_author, Mapping) else {}
        author_id = _str(author.get("id") or comment.get("author_id"))
        is_staff = author.get("is_staff")
        created = body.get("time") or comment.get("created_at")
    else:
        ticket = _mapping(body.get("ticket"), "'ticket'")
        comment = _mapping(body.get("comment"), "'comment'")
        author_id = _str(comment.get("author_id"))
        is_staff = comment.get("author_is_staff")
        created = comment.get("created_at")
    ticket_id = _str(ticket.get("id"))
    comment_id = _str(comment.get("id"))
    if ticket_id is None or comment_id is None:
        raise SkippableError("zendesk webhook needs ticket.id and comment.id")
    requester_id = _str(ticket.get("requester_id"))
    public = _bool(comment.get("is_public", comment.get("public")), True)
    if is_staff is not None and not isinstance(is_staff, Mapping):
        role = AuthorRole.AGENT if _bool(is_staff, False) else AuthorRole.CUSTOMER
    else:
        # The poller's rule: a public comment by the requester is the customer's.
        role = AuthorRole.CUSTOMER if author_id == requester_id and public else AuthorRole.AGENT
    body_text = comment.get("body") or comment.get("value") or ""
    text, _ = clean_text(str(body_text), is_html="<" in str(body_text))
    customer = (Party(source=source, id=requester_id, role=AuthorRole.CUSTOMER,
                      name=_str(ticket.get("requester_name"))) if requester_id else None)
    tags = ticket.get("tags")
    tag_list = tags.split() if isinstance(tags, str) else [str(t) for t in tags or ()]
    priority = _str(ticket.get("priority"))
    channel = _str(ticket.get("channel") or ticket.get("via")) or "web"
    return [Interaction(
        source=source, native_id=comment_id, conversation_id=ticket_id, record_id=ticket_id,
        channel=_CHANNELS.get(channel, "web"), kind="comment",
        author=Party(source=source, id=author_id, role=role) if author_id else None,
        author_role=role, customer=customer,
        visibility=Visibility.PUBLIC if public else Visibility.PRIVATE, text=text,
        created_at=_time(created), native_status=_str(ticket.get("status")),
        native_priority=priority.lower() if priority and priority != "-" else None,
        native_tags=tuple(tag_list), team=_str(ticket.get("group_id") or ticket.get("group")),
    )]


def _x_user(source: str, user: Mapping[str, Any], role: AuthorRole) -> Party:
    user_id = _str(user.get("id_str") or user.get("id")) or "unknown"
    handle = _str(user.get("screen_name") or user.get("username"))
    followers = user.get("followers_count")
    metrics = user.get("public_metrics")
    if followers is None and isinstance(metrics, Mapping):
        followers = metrics.get("followers_count")
    return Party(source=source, id=user_id, role=role, name=_str(user.get("name")),
                 handle=f"@{handle}" if handle else None,
                 followers=followers if isinstance(followers, int) and followers >= 0 else None)


def _x(source: str, body: Mapping[str, Any]) -> list[Interaction]:
    own = _str(body.get("for_user_id"))
    out: list[Interaction] = []
    if "tweet_create_events" in body:
        events = body["tweet_create_events"]
        if not isinstance(events, list):
            raise SkippableError("tweet_create_events must be a list")
        for entry in events:
            tweet = _mapping(entry, "tweet")
            user = _mapping(tweet.get("user"), "tweet.user")
            tweet_id = _str(tweet.get("id_str") or tweet.get("id"))
            if tweet_id is None:
                raise SkippableError("tweet without id_str")
            extended = tweet.get("extended_tweet")
            raw = (extended.get("full_text") if isinstance(extended, Mapping) else None) \
                or tweet.get("full_text") or tweet.get("text") or ""
            author = _x_user(source, user,
                             AuthorRole.AGENT if _str(user.get("id_str")) == own
                             else AuthorRole.CUSTOMER)
            reply_to = _str(tweet.get("in_reply_to_status_id_str"))
            # v1.1 deliveries carry no conversation id; the reply target is the best thread key.
            conversation = _str(tweet.get("conversation_id_str")) or reply_to or tweet_id
            out.append(_tweet(source, tweet_id, conversation, str(raw), author, reply_to,
                              tweet.get("created_at"), _str(tweet.get("lang"))))
        return out
    data = body.get("data")
    tweets = data if isinstance(data, list) else [data]
    raw_includes = body.get("includes")
    includes: Mapping[str, Any] = raw_includes if isinstance(raw_includes, Mapping) else {}
    users = {str(u.get("id")): u for u in includes.get("users") or () if isinstance(u, Mapping)}
    for item in tweets:
        tweet = _mapping(item, "'data' (tweet)")
        tweet_id = _str(tweet.get("id"))
        author_id = _str(tweet.get("author_id"))
        if tweet_id is None or author_id is None:
            raise SkippableError("tweet needs id and author_id")
        role = AuthorRole.AGENT if author_id == own else AuthorRole.CUSTOMER
        found = users.get(author_id)
        author = (_x_user(source, found, role) if found is not None
                  else Party(source=source, id=author_id, role=role))
        reply_to = next((str(r["id"]) for r in tweet.get("referenced_tweets") or ()
                         if isinstance(r, Mapping) and r.get("type") == "replied_to"
                         and r.get("id")), None)
        conversation = _str(tweet.get("conversation_id")) or tweet_id
        out.append(_tweet(source, tweet_id, conversation, str(tweet.get("text") or ""), author,
                          reply_to, tweet.get("created_at"), _str(tweet.get("lang"))))
    return out


def _tweet(source: str, tweet_id: str, conversation: str, raw: str, author: Party,
           reply_to: str | None, created: Any, lang: str | None) -> Interaction:
    text, _ = clean_text(raw)
    return Interaction(
        source=source, native_id=tweet_id, conversation_id=conversation, record_id=conversation,
        channel="social", kind="post", author=author, author_role=author.role,
        customer=author if author.role is AuthorRole.CUSTOMER else None, text=text,
        created_at=_time(created), in_reply_to=reply_to, language=lang)


def _salesforce(source: str, body: Mapping[str, Any]) -> list[Interaction]:
    case = _mapping(body.get("case"), "'case'")
    case_id = _str(case.get("Id"))
    if case_id is None:
        raise SkippableError("salesforce callout needs case.Id")
    contact = _str(case.get("ContactId"))
    customer = Party(source=source, id=contact, role=AuthorRole.CUSTOMER,
                     handle=_str(case.get("SuppliedEmail"))) if contact else None
    if isinstance(body.get("message"), Mapping):
        msg = body["message"]
        native_id = _str(msg.get("Id"))
        incoming = _bool(msg.get("Incoming"), True)
        raw = msg.get("TextBody") or msg.get("HtmlBody") or ""
        is_html = not msg.get("TextBody") and bool(msg.get("HtmlBody"))
        created = msg.get("MessageDate") or msg.get("CreatedDate")
        role = AuthorRole.CUSTOMER if incoming else AuthorRole.AGENT
        author_id = contact if incoming else _str(msg.get("CreatedById"))
        kind, public = "email", True
    elif isinstance(body.get("comment"), Mapping):
        msg = body["comment"]
        native_id = _str(msg.get("Id"))
        raw, is_html = msg.get("CommentBody") or "", False
        created = msg.get("CreatedDate")
        author_id = _str(msg.get("CreatedById"))
        role = AuthorRole.CUSTOMER if author_id and author_id == contact else AuthorRole.AGENT
        kind, public = "comment", _bool(msg.get("IsPublished"), False)
    else:
        # A bare case (new case from the web form): its description is the first message.
        native_id = case_id
        raw, is_html = f"{case.get('Subject') or ''}\n{case.get('Description') or ''}", False
        created = case.get("CreatedDate")
        role, author_id, kind, public = AuthorRole.CUSTOMER, contact, "case", True
    if native_id is None:
        raise SkippableError("salesforce callout message/comment needs an Id")
    text, _ = clean_text(str(raw), is_html=is_html)
    priority = _str(case.get("Priority"))
    return [Interaction(
        source=source, native_id=native_id, conversation_id=case_id, record_id=case_id,
        channel=_CHANNELS.get(_str(case.get("Origin")) or "", "email"), kind=kind,
        author=Party(source=source, id=author_id, role=role) if author_id else None,
        author_role=role, customer=customer,
        visibility=Visibility.PUBLIC if public else Visibility.PRIVATE, text=text.strip(),
        created_at=_time(created), native_status=_str(case.get("Status")),
        native_priority={"low": "low", "medium": "normal", "high": "high",
                         "critical": "urgent"}.get((priority or "").lower()),
    )]


_PLATFORMS: dict[str, Callable[[str, Mapping[str, Any]], list[Interaction]]] = {
    "zendesk": _zendesk,
    "x": _x,
    "salesforce": _salesforce,
}


def interactions_from_event(platform: str, source: str, payload: Any,
                            adapter: Adapter | None = None) -> list[Interaction]:
    """Canonical interactions of one webhook delivery.

    Raises :class:`SkippableError` with a one-line reason for a body that cannot be read (the
    event is then dead-lettered, never retried forever).
    """
    hook = getattr(adapter, "interactions_from_webhook", None)
    try:
        if isinstance(payload, Mapping) and "interactions" in payload:
            return _canonical(source, payload["interactions"])
        if callable(hook):
            found = hook(payload)
            return [i if isinstance(i, Interaction) else Interaction.model_validate(i)
                    for i in found]
        if not isinstance(payload, Mapping):
            raise SkippableError("webhook body must be a JSON object")
        return _PLATFORMS[platform](source, payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SkippableError(f"webhook body is not a valid interaction: {where}: "
                             f"{first['msg']}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SkippableError(f"unreadable {platform} webhook body: {type(exc).__name__}: "
                             f"{exc}") from None
