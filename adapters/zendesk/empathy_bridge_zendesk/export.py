"""Incremental read: changed tickets and their new comments in a few calls per 1,000 tickets.

Two exports are read side by side:

- the cursor-based ticket export (``/incremental/tickets/cursor.json``, 1,000 tickets a page,
  users side-loaded) gives each changed ticket's current state, ordered by
  ``generated_timestamp``;
- the ticket-events export with ``include=comment_events`` gives the comments, 1,000 audits a
  page, instead of one ``/tickets/{id}/comments`` call per ticket.

For a ticket page whose newest ``generated_timestamp`` is ``b``, every not-yet-read comment of
its tickets was created at or before ``b``, so the events are read up to ``b``. Comments in
that window whose ticket comes in a *later* page ("orphans") wait until their ticket arrives
(:class:`~empathy_bridge_zendesk.orphans.OrphanBuffer`: ``orphan_buffer_max`` in memory, the
rest in a scratch file), so each ticket is emitted once per cycle with all its new comments;
the committed events position is held back to the oldest waiting comment, so a crash re-reads
them. Orphans left at the end of the stream are resolved with ``/tickets/show_many.json`` (100
tickets a call).

Satisfaction ratings are read alongside, from ``/satisfaction_ratings.json?start_time=`` (100 a
page) with their own watermark, up to the same ``b`` as the events: rating a ticket updates it,
so a rating waits at most until its ticket's page and travels in that batch. Reading them in
step (not all up front) keeps memory flat however many ratings the backlog holds. The three
positions travel together in one JSON cursor. A cycle stops at tickets changed after it started
(such as the engine's own write-backs, made while the export is read); the next cycle goes on
from there.
"""

from __future__ import annotations

import collections
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import msgspec
from cachetools import LRUCache
from pydantic import ValidationError

from empathy_bridge.adapter import FetchBatch, FetchFailure
from empathy_bridge.errors import FatalError
from empathy_bridge.schemas import AuthorRole, Party
from empathy_bridge_zendesk.config import ZendeskConfig
from empathy_bridge_zendesk.normalize import (
    Comment,
    EventsPage,
    TicketEvent,
    UserInfo,
    comment_from_event,
    comment_from_typed_event,
    parse_time,
    rating_interaction,
    ticket_interactions,
)
from empathy_bridge_zendesk.orphans import OrphanBuffer
from empathy_bridge_zendesk.prefetch import PagePrefetch
from empathy_bridge_zendesk.transport import ZendeskHttp, decode_body

__all__ = ["ExportCursor", "ExportReader", "UserDirectory", "decode_events_page"]

log = logging.getLogger("empathy_bridge_zendesk")

_BAD_RECORD = (KeyError, ValueError, TypeError, ValidationError, OverflowError)
#: Built parties kept for reuse: agents recur on every page, customers rarely repeat, so a
#: small LRU keeps the hits while memory stays flat whatever the backlog.
_PARTY_CACHE_MAX = 2_000


@dataclass
class ExportCursor:
    """Where the next fetch resumes: ticket ``after_cursor``, events and ratings start times."""

    tickets: str | None
    events: int
    ratings: int
    v: int = 1

    def dump(self) -> str:
        """The opaque string the engine stores."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, raw: str | None, start_time: int) -> ExportCursor:
        """Parse a stored cursor; ``None`` starts at ``start_time``."""
        if raw is None:
            return cls(tickets=None, events=start_time, ratings=start_time)
        try:
            data = json.loads(raw)
            return cls(tickets=data["tickets"], events=int(data["events"]),
                       ratings=int(data["ratings"]), v=int(data.get("v", 1)))
        except (ValueError, KeyError, TypeError) as exc:
            raise FatalError(
                "the stored Zendesk cursor is unreadable: reset the source's cursor to sync "
                "again from start_time") from exc


class UserDirectory:
    """Users by id, from side-loads, topped up with ``/users/show_many.json`` (100 a call)."""

    def __init__(self, http: ZendeskHttp, limit: int = 10_000) -> None:
        self.http = http
        self.limit = limit
        # Least recently used first out: agents, seen on every page, stay; a customer is
        # needed for the page of their ticket. Bounded so memory does not follow the backlog.
        self.users: LRUCache[int, UserInfo] = LRUCache(limit)
        self._missing: set[int] = set()

    def add(self, users: Any) -> None:
        """Remember side-loaded users."""
        for data in users or ():
            if isinstance(data, Mapping) and "id" in data:
                try:
                    self.users[int(data["id"])] = UserInfo.from_api(data)
                except (TypeError, ValueError):
                    continue

    def ensure(self, ids: Iterable[int | None]) -> None:
        """Look up the ids not known yet (deleted users are remembered as unknown)."""
        wanted = sorted({i for i in ids if i is not None and i > 0
                         and i not in self.users and i not in self._missing})
        for start in range(0, len(wanted), 100):
            chunk = wanted[start:start + 100]
            page = self.http.get(self.http.url("/users/show_many.json"), "looking up users",
                                 {"ids": ",".join(map(str, chunk))})
            self.add(page.get("users"))
            if len(self._missing) > self.limit:
                self._missing.clear()
            self._missing.update(i for i in chunk if i not in self.users)


class ExportReader:
    """Turns the exports into :class:`FetchBatch` objects, one per ticket page."""

    def __init__(self, http: ZendeskHttp, config: ZendeskConfig, source: str,
                 users: UserDirectory, on_ticket: Callable[[Mapping[str, Any]], None]) -> None:
        self.http = http
        self.config = config
        self.source = source
        self.users = users
        self.on_ticket = on_ticket
        self.bot_channels = frozenset(config.bot_channels)
        self.bot_user_ids = frozenset(config.bot_user_ids)
        self._parties: LRUCache[tuple[int, AuthorRole], Party] = LRUCache(_PARTY_CACHE_MAX)
        self._orphans = OrphanBuffer(config.orphan_buffer_max)
        # Export pages certain to be read next are fetched while this page is worked on.
        self._pages = PagePrefetch(http, limit=3 if config.prefetch_pages else 0,
                                   decoders={_EVENTS_PATH: decode_events_page})
        self._ratings: dict[int, list[dict[str, Any]]] = {}
        self._carry: dict[str, Any] | None = None
        # Ratings read but updated after the current window (at most one page of 100).
        self._rating_queue: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()
        self._rating_url: str | None = None
        self._rating_params: dict[str, Any] | None = None
        self._ratings_mark = 0

    # -- the cycle --------------------------------------------------------------------------

    def batches(self, raw_cursor: str | None) -> Iterator[FetchBatch]:
        """Every batch from ``raw_cursor`` to the end of the export, then ratings."""
        try:
            yield from self._batches(raw_cursor)
        finally:
            self._pages.close()
            self._orphans.close()

    def _batches(self, raw_cursor: str | None) -> Iterator[FetchBatch]:
        state = ExportCursor.load(raw_cursor, self.config.start_time)
        events_pos = state.events
        first: dict[str, Any] = {"per_page": self.config.per_page, "include": "users"}
        if state.tickets:
            first["cursor"] = state.tickets
        else:
            first["start_time"] = self.config.start_time
        params: dict[str, Any] | None = first
        self._ratings_mark = state.ratings
        if self.config.satisfaction_ratings:
            self._rating_url = self.http.url("/satisfaction_ratings.json")
            self._rating_params = {"start_time": state.ratings, "page[size]": 100}
        url = self.http.url("/incremental/tickets/cursor.json")
        # Tickets changed after this cycle started (our own write-backs among them, as the
        # engine writes while we read) are the next cycle's work: stop once the export reaches
        # them. Stopping early is always safe, so clock skew with Zendesk only shifts work.
        cycle_started = int(time.time())
        while True:
            page = self._pages.get(url, "reading the incremental ticket export", params)
            tickets = [t for t in page.get("tickets") or () if isinstance(t, dict) and "id" in t]
            newest = _newest(tickets)
            after = page.get("after_url")
            last = bool(page.get("end_of_stream") or not after or newest >= cycle_started
                        # an empty page pointing at itself: nothing more to read now
                        or (not tickets and after == url))
            if not last:
                # The next page is read whatever this one holds: let it come in meanwhile.
                self._pages.start(after)
            self.users.add(page.get("users"))
            batch = FetchBatch()
            if tickets:
                window = self._read_comments(events_pos, newest, batch)
                events_pos = max(events_pos, newest + 1)
                self._read_ratings(newest)
                # A page's tickets leave in slices of whole tickets, each its own batch (only
                # the last carries the cursor): the engine's working set then follows the
                # slice, not a page's thread lengths, and a ticket still comes in one batch.
                # Measured at 10,000 tickets: slices of 1,000 peak at 225 MB, 500 at 186 MB
                # (~3 % slower), 250 at 165 MB (10-25 % slower: per-batch overheads).
                size = self.config.tickets_per_batch
                for start in range(0, len(tickets), size):
                    if start:
                        yield batch
                        batch = FetchBatch()
                    self._emit(tickets[start:start + size], window, batch)
                for ticket_id, comments in window.items():
                    self._orphans.hold(ticket_id, comments)
            page.pop("tickets", None)  # the batches hold what they need; let the page go
            state.tickets = page.get("after_cursor") or state.tickets
            oldest = self._orphans.oldest()
            state.events = events_pos if oldest is None else min(events_pos, oldest)
            batch.cursor = state.dump()
            if not last:
                self._prefetch_window(after, events_pos)
            yield batch
            if last:
                break
            url, params = after, None
        final = FetchBatch()
        self._resolve_orphans(final)
        self._read_ratings(None)
        self._emit_ratings(list(self._ratings), final)
        state.events = events_pos
        # Only now: a crash before this point re-reads the ratings (the engine skips repeats).
        state.ratings = self._ratings_mark
        final.cursor = state.dump()
        yield final

    # -- comments ---------------------------------------------------------------------------

    def _prefetch_window(self, next_tickets: str, start: int) -> None:
        """Start the first events request of the next page's window, if that page is in.

        Only when the next ticket page has already arrived, as its newest timestamp decides
        which request :meth:`_read_comments` makes first (or whether it makes one at all).
        """
        page = self._pages.peek(next_tickets)
        if page is None:
            return
        newest = _newest([t for t in page.get("tickets") or ()
                          if isinstance(t, dict) and "id" in t])
        url = self.http.url("/incremental/ticket_events.json")
        carry = self._carry
        if carry is None:
            if start <= newest:
                self._pages.start(url, _events_params(start))
            return
        end_time = carry.get("end_time")
        next_page = carry.get("next_page")
        if (end_time is not None and int(end_time) <= newest and not carry.get("end_of_stream")
                and next_page and next_page != url):
            self._pages.start(next_page)

    def _read_comments(self, start: int, newest: int, batch: FetchBatch
                       ) -> dict[int, dict[int, Comment]]:
        """Comments created in ``[start, newest]`` by ticket, from the ticket-events export.

        The last page read usually runs past ``newest``; it is kept for the next window
        instead of being fetched again (in memory only: the committed position is
        ``newest + 1``, so a resumed fetch reads it anew).
        """
        out: dict[int, dict[int, Comment]] = {}
        if start > newest:
            return out
        page, self._carry = self._carry, None
        url = self.http.url("/incremental/ticket_events.json")
        params: dict[str, Any] | None = _events_params(start)
        while True:
            if page is None:
                page = self._pages.get(url, "reading the ticket events export", params)
            # Only the first request of a window takes ``params``; a carried page's next_page
            # already holds its query (sending both repeated start_time in the URL).
            params = None
            end_time = page.get("end_time")
            next_page = page.get("next_page")
            if ((end_time is None or int(end_time) <= newest) and not page.get("end_of_stream")
                    and next_page and next_page != url):
                self._pages.start(next_page)  # read next below: fetch it while this is taken
            self._take_comments(page, start, newest, out, batch)
            if end_time is not None and int(end_time) > newest:
                self._carry = page
                return out
            if page.get("end_of_stream") or not next_page:
                return out
            if next_page == url:
                # More audits in one second than a page holds and a next_page that does not
                # move: stop rather than loop; the ticket export still delivers the tickets.
                log.warning("ticket events export did not advance past %s; window cut short",
                            end_time)
                return out
            url, page = next_page, None

    @staticmethod
    def _take_comments(page: Mapping[str, Any], start: int, newest: int,
                       out: dict[int, dict[int, Comment]], batch: FetchBatch) -> None:
        for event in page.get("ticket_events") or ():
            if isinstance(event, TicketEvent):
                _take_typed(event, start, newest, out, batch)
                continue
            if not isinstance(event, dict):
                continue
            if not start <= int(event.get("timestamp") or 0) <= newest:
                continue
            for child in event.get("child_events") or ():
                # Audits' comment events say ``type``; the events export adds ``event_type``.
                if not isinstance(child, dict) or (child.get("event_type") != "Comment"
                                                   and child.get("type") != "Comment"):
                    continue
                try:
                    comment = comment_from_event(event, child)
                except _BAD_RECORD as exc:
                    batch.failures.append(FetchFailure(
                        native_id=str(child.get("id", event.get("id", "?"))),
                        payload={"ticket_id": event.get("ticket_id"),
                                 "event_id": event.get("id")},
                        error=f"unreadable comment event: {exc}"))
                    continue
                out.setdefault(comment.ticket_id, {})[comment.id] = comment

    def _resolve_orphans(self, batch: FetchBatch) -> None:
        """Fetch the tickets of waiting comments (100 a call) and emit them."""
        pending = self._orphans.ticket_ids()
        for start in range(0, len(pending), 100):
            chunk = pending[start:start + 100]
            page = self.http.get(self.http.url("/tickets/show_many.json"),
                                 "looking up tickets of new comments",
                                 {"ids": ",".join(map(str, chunk)), "include": "users"})
            self.users.add(page.get("users"))
            tickets = [t for t in page.get("tickets") or () if isinstance(t, dict) and "id" in t]
            self._emit(tickets, {}, batch)
            # Tickets show_many did not return were deleted for good: drop their comments.
            self._orphans.take_many(chunk)

    # -- normalisation ----------------------------------------------------------------------

    def _emit(self, tickets: list[dict[str, Any]], window: dict[int, dict[int, Comment]],
              batch: FetchBatch) -> None:
        ready: list[tuple[dict[str, Any], list[Comment]]] = []
        rated: list[int] = []
        held = self._orphans.take_many(
            t["id"] for t in tickets if isinstance(t.get("id"), int))
        for ticket in tickets:
            try:
                ticket_id = int(ticket["id"])
            except _BAD_RECORD:
                continue
            comments = {**held.pop(ticket_id, {}), **window.pop(ticket_id, {})}
            if ticket.get("status") == "deleted":
                batch.deleted_conversations.append(str(ticket_id))
                self._ratings.pop(ticket_id, None)
                continue
            self.on_ticket(ticket)
            if comments:
                ready.append((ticket, list(comments.values())))
            if ticket_id in self._ratings:
                rated.append(ticket_id)
        wanted: list[int | None] = []
        for ticket, thread in ready:
            wanted.append(_as_int(ticket.get("requester_id")))
            wanted.extend(c.author_id for c in thread)
        self.users.ensure(wanted)
        # The batch's users in a plain dict: one LRU lookup per user, not one per comment.
        directory = self.users.users
        known = {uid: directory[uid] for uid in set(wanted)
                 if uid is not None and uid in directory}
        for ticket, thread in ready:
            try:
                batch.interactions.extend(ticket_interactions(
                    self.source, ticket, thread, known,
                    bot_channels=self.bot_channels, bot_user_ids=self.bot_user_ids,
                    parties=self._parties))
            except _BAD_RECORD as exc:
                batch.failures.append(FetchFailure(
                    native_id=str(ticket.get("id")), payload=_summary(ticket),
                    error=f"Zendesk ticket {ticket.get('id')} could not be normalised: "
                          f"{type(exc).__name__}: {str(exc)[:200]}"))
        self._emit_ratings(rated, batch)

    # -- satisfaction ratings ---------------------------------------------------------------

    def _read_ratings(self, until: int | None) -> None:
        """Hold, by ticket, the answered ratings updated up to ``until`` (``None``: all).

        Read before each page's tickets are emitted so a rating travels in the batch of its
        ticket (rating a ticket updates it, so the ticket is in this cycle's export at or after
        the rating): the conversation is then decided and written once, not once for the
        comments and again for the rating. Ratings past ``until`` wait in a one-page queue.
        """
        while True:
            queue = self._rating_queue
            while queue and (until is None or queue[0][0] <= until):
                _, rating = queue.popleft()
                self._ratings.setdefault(int(rating["ticket_id"]), []).append(rating)
            if queue or self._rating_url is None:
                return
            page = self._pages.get(self._rating_url, "reading satisfaction ratings",
                                   self._rating_params)
            for rating in page.get("satisfaction_ratings") or ():
                if not isinstance(rating, dict) or rating.get("score") not in ("good", "bad"):
                    continue
                if _as_int(rating.get("ticket_id")) is None:
                    continue
                rating["ticket_id"] = int(rating["ticket_id"])
                stamp = rating.get("updated_at") or rating.get("created_at")
                try:
                    when = int(parse_time(stamp).timestamp())
                except ValueError:
                    when = 0  # unreadable: hold it at once, as it cannot be placed
                self._ratings_mark = max(self._ratings_mark, when)
                queue.append((when, rating))
            meta = page.get("meta") or {}
            links = page.get("links") or {}
            self._rating_url = links.get("next") if meta.get("has_more") else None
            self._rating_params = None
            if self._rating_url:
                # Read later in this cycle in any case (at the latest by the final batch).
                self._pages.start(self._rating_url)

    def _emit_ratings(self, ticket_ids: Iterable[int], batch: FetchBatch) -> None:
        ratings = [r for tid in ticket_ids for r in self._ratings.pop(tid, ())]
        if not ratings:
            return
        self.users.ensure(_as_int(r.get("requester_id")) for r in ratings)
        for rating in ratings:
            try:
                interaction = rating_interaction(self.source, rating, self.users.users)
            except _BAD_RECORD as exc:
                batch.failures.append(FetchFailure(
                    native_id=f"csat-{rating.get('id')}", payload=_summary(rating),
                    error=f"satisfaction rating could not be normalised: {exc}"))
                continue
            if interaction is not None:
                batch.interactions.append(interaction)


_EVENTS_PATH = "/incremental/ticket_events.json"


def decode_events_page(content: bytes) -> Any:
    """A ticket-events page: its audits as :class:`TicketEvent` structs when the page has the
    documented shape, else (or when it is not JSON) as :func:`decode_body` gives it.

    The page itself stays a dict with the four keys the reader asks for.
    """
    if not content:
        return {}
    try:
        page = msgspec.json.decode(content, type=EventsPage)
    except msgspec.DecodeError:  # another shape (or not JSON): the plain path decides
        return decode_body(content)
    return {"ticket_events": page.ticket_events, "next_page": page.next_page,
            "end_time": page.end_time, "end_of_stream": page.end_of_stream}


def _take_typed(event: TicketEvent, start: int, newest: int,
                out: dict[int, dict[int, Comment]], batch: FetchBatch) -> None:
    """:meth:`ExportReader._take_comments` for one decoded audit (same comments, failures)."""
    if not start <= int(event.timestamp or 0) <= newest:
        return
    for child in event.child_events or ():
        if child.event_type != "Comment" and child.type != "Comment":
            continue
        try:
            comment = comment_from_typed_event(event, child)
        except _BAD_RECORD as exc:
            event_id = None if event.id is msgspec.UNSET else event.id
            native = child.id if child.id is not msgspec.UNSET else (
                "?" if event.id is msgspec.UNSET else event.id)
            batch.failures.append(FetchFailure(
                native_id=str(native),
                payload={"ticket_id": None if event.ticket_id is msgspec.UNSET
                         else event.ticket_id, "event_id": event_id},
                error=f"unreadable comment event: {exc}"))
            continue
        out.setdefault(comment.ticket_id, {})[comment.id] = comment


def _newest(tickets: list[dict[str, Any]]) -> int:
    """Newest ``generated_timestamp`` of a page's tickets (-1 without tickets)."""
    return max((int(t.get("generated_timestamp") or 0) for t in tickets), default=-1)


def _events_params(start: int) -> dict[str, Any]:
    """Query of a window's first ticket-events request."""
    return {"start_time": start, "include": "comment_events", "per_page": 1000}


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """A dead-letter payload without large bodies."""
    return {k: v for k, v in record.items()
            if k in ("id", "ticket_id", "status", "priority", "requester_id", "subject",
                     "created_at", "updated_at", "generated_timestamp", "score")}
