"""Zendesk payloads -> canonical :class:`~empathy_bridge.schemas.Interaction` objects.

Pure functions over already-decoded JSON, so they are tested without a network. Loop
prevention depends on one property kept here: an unchanged comment always yields the same
text, author and visibility, whatever else changed on its ticket (tags, fields, priority are
metadata, never part of ``text``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from pydantic import JsonValue

from empathy_bridge.schemas import AuthorRole, Interaction, Party, Visibility
from empathy_bridge.text import MAX_STORED_CHARS, clean_text

__all__ = [
    "Comment",
    "CommentEvent",
    "EventVia",
    "EventsPage",
    "TicketEvent",
    "UserInfo",
    "comment_from_api",
    "comment_from_event",
    "comment_from_typed_event",
    "comment_text",
    "parse_time",
    "rating_interaction",
    "ticket_interactions",
]

#: Zendesk ``via.channel`` -> canonical channel.
_CHANNELS = {
    "email": "email", "web": "web", "web_form": "web", "web_widget": "chat", "chat": "chat",
    "native_messaging": "chat", "voice": "voice", "phone": "voice", "api": "api",
    "mobile": "mobile", "mobile_sdk": "mobile", "twitter": "social", "facebook": "social",
    "instagram_dm": "social", "whatsapp": "chat", "sms": "sms",
}


@dataclass(frozen=True, slots=True)
class UserInfo:
    """What we keep about a Zendesk user: enough for the Party and the author role."""

    id: int
    name: str | None
    email: str | None
    role: str | None
    organization_id: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> UserInfo:
        """Build from a ``users[]`` entry (side-load or show_many)."""
        org = data.get("organization_id")
        return cls(id=int(data["id"]), name=data.get("name"), email=data.get("email"),
                   role=data.get("role"), organization_id=int(org) if org else None)


@dataclass(frozen=True, slots=True)
class Comment:
    """One ticket comment, from the ticket-events export or ``/tickets/{id}/comments``."""

    id: int
    ticket_id: int
    author_id: int | None
    public: bool
    body: str | None
    html_body: str | None
    channel: str | None
    created_at: str
    timestamp: int
    is_description: bool = False


def parse_time(value: Any) -> datetime:
    """A Zendesk ISO-8601 timestamp (``2026-11-27T10:00:00Z``) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:  # strings first: the usual case
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        raise ValueError(f"missing or malformed timestamp {value!r}")
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] == "Z" else value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _via_channel(via: Any) -> str | None:
    # Decoded JSON objects are dicts: dict first, as the ABC check costs several times more.
    if isinstance(via, (dict, Mapping)):
        channel = via.get("channel")
        return str(channel) if channel is not None else None
    return None


def _html_fallback(body: Any, data: Mapping[str, Any]) -> Any:
    """``html_body``, kept only when there is no plain body: :func:`comment_text` reads it
    only then, and a held comment would otherwise carry its text twice."""
    return None if body else data.get("html_body")


def comment_from_event(event: Mapping[str, Any], child: Mapping[str, Any]) -> Comment:
    """A ``Comment`` child event of an incremental ticket-events audit."""
    get = child.get
    body = get("body") or get("plain_body")
    author = get("author_id")
    return Comment(
        id=int(child["id"]), ticket_id=int(event["ticket_id"]),
        # An int id (the usual case) is its own _opt_int: skip the call and its try block.
        author_id=author if type(author) is int else _opt_int(author),
        public=bool(get("public", True)),
        body=body, html_body=None if body else get("html_body"),  # as _html_fallback
        channel=_via_channel(get("via")) or _via_channel(event.get("via")),
        created_at=str(get("created_at") or event.get("created_at") or ""),
        timestamp=int(event.get("timestamp") or 0),
        is_description=event.get("event_type") == "Create",
    )


# -- the ticket-events export, decoded to the fields read -------------------------------------
#
# A page of 1,000 audits decodes to ~500,000 dicts and lists, most of them parts the reader
# never looks at (metadata, attachments, via.source); decoded to these structs it takes half
# the time and leaves ~60,000 objects for the garbage collector to track (structs with
# gc=False are not tracked). Values are typed ``Any``, so they come out exactly as decoded
# JSON would; only the shapes are typed, and a page of another shape (an audit or a ``via``
# that is not an object, ...) fails to decode here and is read as plain JSON instead.
# ``UNSET`` marks keys the reader requires, so a missing one still fails like ``dict[key]``.


class EventVia(msgspec.Struct, gc=False):
    """The ``via`` object of an audit or of its comment: only its channel is read."""

    channel: Any = None


class CommentEvent(msgspec.Struct, gc=False):
    """A child event of an audit (a comment when its ``event_type`` or ``type`` says so)."""

    id: Any = msgspec.UNSET
    type: Any = None
    event_type: Any = None
    author_id: Any = None
    body: Any = None
    plain_body: Any = None
    html_body: Any = None
    public: Any = True
    created_at: Any = None
    via: EventVia | None = None


class TicketEvent(msgspec.Struct, gc=False):
    """An audit of the ticket-events export, with its child events."""

    id: Any = msgspec.UNSET
    ticket_id: Any = msgspec.UNSET
    timestamp: Any = None
    created_at: Any = None
    event_type: Any = None
    via: EventVia | None = None
    child_events: list[CommentEvent] | None = None


class EventsPage(msgspec.Struct):
    """A page of ``/incremental/ticket_events.json``."""

    ticket_events: list[TicketEvent] | None = None
    next_page: Any = None
    end_time: Any = None
    end_of_stream: Any = None


def _struct_channel(via: EventVia | None) -> str | None:
    """:func:`_via_channel` of a decoded :class:`EventVia`."""
    if via is None or via.channel is None:
        return None
    return str(via.channel)


def comment_from_typed_event(event: TicketEvent, child: CommentEvent) -> Comment:
    """:func:`comment_from_event` of a decoded audit: the same comment, or the same error."""
    body = child.body or child.plain_body
    author = child.author_id
    if child.id is msgspec.UNSET:
        raise KeyError("id")
    comment_id = int(child.id)
    if event.ticket_id is msgspec.UNSET:
        raise KeyError("ticket_id")
    return Comment(
        id=comment_id, ticket_id=int(event.ticket_id),
        author_id=author if type(author) is int else _opt_int(author),
        public=bool(child.public),
        body=body, html_body=None if body else child.html_body,
        channel=_struct_channel(child.via) or _struct_channel(event.via),
        created_at=str(child.created_at or event.created_at or ""),
        timestamp=int(event.timestamp or 0),
        is_description=event.event_type == "Create",
    )


def comment_from_api(ticket_id: int, data: Mapping[str, Any], index: int) -> Comment:
    """An entry of ``GET /api/v2/tickets/{id}/comments``; the first one is the description."""
    created = str(data.get("created_at") or "")
    body = data.get("body") or data.get("plain_body")
    return Comment(
        id=int(data["id"]), ticket_id=ticket_id, author_id=_opt_int(data.get("author_id")),
        public=bool(data.get("public", True)), body=body, html_body=_html_fallback(body, data),
        channel=_via_channel(data.get("via")),
        created_at=created, timestamp=int(parse_time(created).timestamp()) if created else 0,
        is_description=index == 0,
    )


def _opt_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _party(source: str, user: UserInfo | None, user_id: int, role: AuthorRole) -> Party:
    if user is None:
        return Party(source=source, id=str(user_id), role=role)
    return Party(source=source, id=str(user_id), role=role, name=user.name, handle=user.email,
                 organization_id=str(user.organization_id) if user.organization_id else None)


def author_role(comment: Comment, requester_id: int | None, user: UserInfo | None,
                bot_channels: frozenset[str], bot_user_ids: frozenset[int]) -> AuthorRole:
    """Who wrote a comment: bot (by ``via`` or configured id), customer, or agent.

    End users cannot write private notes, so a private comment by an unknown author is an
    agent's; a public one by an unknown author counts as the customer's only if they requested
    the ticket.
    """
    if (comment.channel in bot_channels) or (comment.author_id in bot_user_ids):
        return AuthorRole.BOT
    if comment.author_id is None or comment.author_id < 0:
        return AuthorRole.SYSTEM
    if user is not None and user.role is not None:
        return AuthorRole.CUSTOMER if user.role == "end-user" else AuthorRole.AGENT
    if comment.author_id == requester_id and comment.public:
        return AuthorRole.CUSTOMER
    return AuthorRole.AGENT


_MARKUP = re.compile(r"</?(?:p|div|br|table|tr|td|span|a|b|i|ul|ol|li|html|body)\b", re.I)
#: What :func:`clean_text` would change in an ASCII text: characters other than printable ones
#: and newlines, runs of two spaces, and blank lines it folds (a line break followed by
#: whitespace holding another break, other than exactly two breaks). Kept as separate scans:
#: one regex alternating all four tests every character and cost three times as much.
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\n]")
_FOLDED_BREAKS = re.compile(r"\n(?: +\n|\n *\n)")


def _is_clean(text: str) -> bool:
    """True when ``clean_text(text)`` would return ``text`` itself: most comments are plain
    ASCII already, and these scans cost a fraction of the cleaning passes."""
    if not (text.isascii() and len(text) <= MAX_STORED_CHARS
            and text[0] not in " \n" and text[-1] not in " \n" and "  " not in text):
        return False
    if "\n" not in text:
        # One line of ASCII: printable exactly when every character is in \x20-\x7e.
        return text.isprintable()
    return _UNPRINTABLE.search(text) is None and _FOLDED_BREAKS.search(text) is None


def comment_text(comment: Comment) -> str:
    """Plain text of a comment, capped at the stored maximum.

    Zendesk's ``body`` is already plain text, so the costly HTML parse runs only when there
    is no ``body`` or when the body itself carries markup (mail integrations that paste HTML).
    """
    body = comment.body
    if body and not ("<" in body and _MARKUP.search(body)):
        if not isinstance(body, str):
            # A JSON object or array without "<" got this far: refuse it as a bad record
            # (its ticket is dead-lettered) instead of failing the sync on a missing method.
            raise TypeError(f"comment body is a {type(body).__name__}, not text")
        return body if _is_clean(body) else clean_text(body)[0]
    if body:
        return clean_text(body, is_html=True)[0]
    return clean_text(_text_or_none(comment.html_body, "comment html_body"), is_html=True)[0]


def _text_or_none(value: Any, what: str) -> str | None:
    """``value`` when it is text or absent; a ``TypeError`` (a bad record) otherwise."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{what} is a {type(value).__name__}, not text")


def _native_fields(ticket: Mapping[str, Any]) -> dict[str, JsonValue]:
    fields: dict[str, JsonValue] = {}
    for item in ticket.get("custom_fields") or ():
        if isinstance(item, Mapping) and "id" in item:
            value = item.get("value")
            fields[f"custom_fields.{item['id']}"] = (
                value if isinstance(value, str | int | float | bool) or value is None
                else str(value))
    for key in ("group_id", "assignee_id", "organization_id", "type"):
        if ticket.get(key) is not None:
            fields[key] = ticket[key]
    fields["subject"] = str(ticket.get("subject") or "")[:500]
    return fields


def _thread_order(comment: Comment) -> tuple[int, int]:
    return comment.timestamp, comment.id


def ticket_interactions(
    source: str,
    ticket: Mapping[str, Any],
    comments: Iterable[Comment],
    users: Mapping[int, UserInfo],
    *,
    bot_channels: frozenset[str],
    bot_user_ids: frozenset[int],
    parties: MutableMapping[tuple[int, AuthorRole], Party] | None = None,
) -> list[Interaction]:
    """The canonical interactions for ``comments`` of ``ticket``, oldest first.

    ``parties`` is a cache of built :class:`Party` objects shared across calls (they are
    immutable), which saves validating the same agent thousands of times.

    Raises ``ValueError``/``KeyError`` on a malformed record; the caller dead-letters it.
    """
    if parties is None:
        parties = {}
    ticket_id = int(ticket["id"])
    requester_id = _opt_int(ticket.get("requester_id"))
    requester = users.get(requester_id) if requester_id is not None else None
    customer = (_party(source, requester, requester_id, AuthorRole.CUSTOMER)
                if requester_id is not None else None)
    priority = ticket.get("priority")
    tags = tuple(map(str, ticket.get("tags") or ()))
    native_fields = _native_fields(ticket)
    ticket_channel = _CHANNELS.get(_via_channel(ticket.get("via")) or "", "web")
    updated = ticket.get("updated_at")
    updated_at = parse_time(updated) if updated else None
    group = ticket.get("group_id")
    out: list[Interaction] = []
    first: Interaction | None = None
    # This ticket's authors: a thread goes back and forth between two or three people, and a
    # plain dict answers the repeats for less than the shared LRU cache.
    authors: dict[tuple[int, AuthorRole], Party] = {}
    for comment in sorted(comments, key=_thread_order):
        author_id = comment.author_id
        user = users.get(author_id) if author_id is not None else None
        role = author_role(comment, requester_id, user, bot_channels, bot_user_ids)
        text = comment_text(comment)
        author = None
        if author_id is not None:
            key = (author_id, role)
            author = authors.get(key)
            if author is None:
                author = parties.get(key)
                if author is None:
                    author = parties[key] = _party(source, user, author_id, role)
                authors[key] = author
        own: dict[str, Any] = {
            "native_id": str(comment.id),
            "channel": _CHANNELS.get(comment.channel or "", ticket_channel),
            "kind": "ticket" if comment.is_description else "comment",
            "author": author, "author_role": role,
            "visibility": Visibility.PUBLIC if comment.public else Visibility.PRIVATE,
            "text": text, "created_at": parse_time(comment.created_at or comment.timestamp),
        }
        if first is None:
            # The ticket's shared values (raw API data) are validated with its first comment.
            first = Interaction(
                source=source, conversation_id=str(ticket_id), record_id=str(ticket_id),
                customer=customer, updated_at=updated_at, native_status=ticket.get("status"),
                native_priority=str(priority) if priority else None, native_tags=tags,
                native_fields=native_fields, team=str(group) if group is not None else None,
                **own)
            out.append(first)
        else:
            # The rest copy it: their own values are of the model's types already (str, a
            # cached Party, enums, cleaned text, an aware UTC datetime), and copying costs
            # less than validating. The same fields are set, so model_fields_set matches too;
            # native_fields is copied so no two interactions share a mutable dict.
            own["native_fields"] = dict(first.native_fields)
            out.append(first.model_copy(update=own))
    return out


def rating_interaction(source: str, rating: Mapping[str, Any],
                       users: Mapping[int, UserInfo]) -> Interaction | None:
    """A satisfaction rating as a survey interaction of its ticket; ``None`` if unanswered."""
    score = rating.get("score")
    if score not in ("good", "bad"):
        return None  # "offered"/"unoffered": the customer has not answered
    requester_id = _opt_int(rating.get("requester_id"))
    user = users.get(requester_id) if requester_id is not None else None
    party = (_party(source, user, requester_id, AuthorRole.CUSTOMER)
             if requester_id is not None else None)
    comment, _ = clean_text(_text_or_none(rating.get("comment"), "rating comment"))
    text = comment or ("Rated the support good" if score == "good" else "Rated the support bad")
    fields: dict[str, JsonValue] = {"score": score}
    if rating.get("reason"):
        fields["reason"] = str(rating["reason"])
    return Interaction(
        source=source, native_id=f"csat-{rating['id']}", conversation_id=str(rating["ticket_id"]),
        record_id=str(rating["ticket_id"]), channel="survey", kind="survey", author=party,
        author_role=AuthorRole.CUSTOMER, customer=party, visibility=Visibility.PRIVATE,
        text=text, created_at=parse_time(rating.get("created_at")),
        updated_at=parse_time(rating["updated_at"]) if rating.get("updated_at") else None,
        native_fields=fields,
    )
