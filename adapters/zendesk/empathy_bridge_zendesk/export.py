"""Incremental read: changed tickets and their new comments in a few calls per 1,000 tickets.

Two exports are read side by side:

- the cursor-based ticket export (``/incremental/tickets/cursor.json``, 1,000 tickets a page,
  users side-loaded) gives each changed ticket's current state, ordered by
  ``generated_timestamp``;
- the ticket-events export with ``include=comment_events`` gives the comments, 1,000 audits a
  page, instead of one ``/tickets/{id}/comments`` call per ticket.

For a ticket page whose newest ``generated_timestamp`` is ``b``, every not-yet-read comment of
its tickets was created at or before ``b``, so the events are read up to ``b``. Comments in
that window whose ticket comes in a *later* page ("orphans") wait in memory until their ticket
arrives; the committed events position is held back to the oldest waiting comment, so a crash
re-reads them. Orphans left at the end of the stream (or above ``orphan_buffer_max``) are
resolved with ``/tickets/show_many.json`` (100 tickets a call).

Satisfaction ratings are read first, from ``/satisfaction_ratings.json?start_time=`` (100 a
page) with their own watermark, and travel in the batch of their ticket. The three positions
travel together in one JSON cursor. A cycle stops at tickets changed after it started (such as
the engine's own write-backs, made while the export is read); the next cycle goes on from there.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError

from empathy_bridge.adapter import FetchBatch, FetchFailure
from empathy_bridge.errors import FatalError
from empathy_bridge.schemas import AuthorRole, Party
from empathy_bridge_zendesk.config import ZendeskConfig
from empathy_bridge_zendesk.normalize import (
    Comment,
    UserInfo,
    comment_from_event,
    parse_time,
    rating_interaction,
    ticket_interactions,
)
from empathy_bridge_zendesk.transport import ZendeskHttp

__all__ = ["ExportCursor", "ExportReader", "UserDirectory"]

log = logging.getLogger("empathy_bridge_zendesk")

_BAD_RECORD = (KeyError, ValueError, TypeError, ValidationError, OverflowError)
_PARTY_CACHE_MAX = 20_000


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

    def __init__(self, http: ZendeskHttp, limit: int = 50_000) -> None:
        self.http = http
        self.limit = limit
        self.users: dict[int, UserInfo] = {}
        self._missing: set[int] = set()

    def add(self, users: Any) -> None:
        """Remember side-loaded users."""
        if len(self.users) > self.limit:
            self.users.clear()  # bounded memory; agents come back with the next side-load
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
        self._parties: dict[tuple[int, AuthorRole], Party] = {}
        self._orphans: dict[int, dict[int, Comment]] = {}
        self._orphan_count = 0
        self._ratings: dict[int, list[dict[str, Any]]] = {}
        self._carry: dict[str, Any] | None = None

    # -- the cycle --------------------------------------------------------------------------

    def batches(self, raw_cursor: str | None) -> Iterator[FetchBatch]:
        """Every batch from ``raw_cursor`` to the end of the export, then ratings."""
        state = ExportCursor.load(raw_cursor, self.config.start_time)
        events_pos = state.events
        first: dict[str, Any] = {"per_page": self.config.per_page, "include": "users"}
        if state.tickets:
            first["cursor"] = state.tickets
        else:
            first["start_time"] = self.config.start_time
        params: dict[str, Any] | None = first
        ratings_mark = state.ratings
        if self.config.satisfaction_ratings:
            ratings_mark = self._read_ratings(state.ratings)
        url = self.http.url("/incremental/tickets/cursor.json")
        # Tickets changed after this cycle started (our own write-backs among them, as the
        # engine writes while we read) are the next cycle's work: stop once the export reaches
        # them. Stopping early is always safe, so clock skew with Zendesk only shifts work.
        cycle_started = int(time.time())
        while True:
            page = self.http.get(url, "reading the incremental ticket export", params)
            tickets = [t for t in page.get("tickets") or () if isinstance(t, dict) and "id" in t]
            self.users.add(page.get("users"))
            batch = FetchBatch()
            newest = -1
            if tickets:
                newest = max(int(t.get("generated_timestamp") or 0) for t in tickets)
                window = self._read_comments(events_pos, newest, batch)
                events_pos = max(events_pos, newest + 1)
                self._emit(tickets, window, batch)
                for ticket_id, comments in window.items():
                    self._hold(ticket_id, comments)
                if self._orphan_count > self.config.orphan_buffer_max:
                    self._resolve_orphans(batch)
            state.tickets = page.get("after_cursor") or state.tickets
            state.events = min([events_pos, *self._oldest_orphans()])
            batch.cursor = state.dump()
            yield batch
            after = page.get("after_url")
            if page.get("end_of_stream") or not after or newest >= cycle_started:
                break
            if not tickets and after == url:
                break  # an empty page pointing at itself: nothing more to read now
            url, params = after, None
        final = FetchBatch()
        self._resolve_orphans(final)
        self._emit_ratings(list(self._ratings), final)
        state.events = events_pos
        # Only now: a crash before this point re-reads the ratings (the engine skips repeats).
        state.ratings = ratings_mark
        final.cursor = state.dump()
        yield final

    # -- comments ---------------------------------------------------------------------------

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
        params: dict[str, Any] | None = {"start_time": start, "include": "comment_events",
                                         "per_page": 1000}
        while True:
            if page is None:
                page = self.http.get(url, "reading the ticket events export", params)
                params = None
            self._take_comments(page, start, newest, out, batch)
            end_time = page.get("end_time")
            next_page = page.get("next_page")
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
            if not isinstance(event, dict):
                continue
            if not start <= int(event.get("timestamp") or 0) <= newest:
                continue
            for child in event.get("child_events") or ():
                # Audits' comment events say ``type``; the events export adds ``event_type``.
                if not isinstance(child, dict) or "Comment" not in (child.get("event_type"),
                                                                    child.get("type")):
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

    def _hold(self, ticket_id: int, comments: dict[int, Comment]) -> None:
        held = self._orphans.setdefault(ticket_id, {})
        before = len(held)
        held.update(comments)
        self._orphan_count += len(held) - before

    def _take_orphans(self, ticket_id: int) -> dict[int, Comment]:
        held = self._orphans.pop(ticket_id, None)
        if not held:
            return {}
        self._orphan_count -= len(held)
        return held

    def _oldest_orphans(self) -> list[int]:
        if not self._orphans:
            return []
        return [min(c.timestamp for held in self._orphans.values() for c in held.values())]

    def _resolve_orphans(self, batch: FetchBatch) -> None:
        """Fetch the tickets of waiting comments (100 a call) and emit them."""
        while self._orphans:
            chunk = list(self._orphans)[:100]
            page = self.http.get(self.http.url("/tickets/show_many.json"),
                                 "looking up tickets of new comments",
                                 {"ids": ",".join(map(str, chunk)), "include": "users"})
            self.users.add(page.get("users"))
            tickets = [t for t in page.get("tickets") or () if isinstance(t, dict) and "id" in t]
            window = {tid: self._take_orphans(tid) for tid in chunk}
            self._emit(tickets, window, batch)
            # Tickets show_many did not return were deleted for good: drop their comments.

    # -- normalisation ----------------------------------------------------------------------

    def _emit(self, tickets: list[dict[str, Any]], window: dict[int, dict[int, Comment]],
              batch: FetchBatch) -> None:
        ready: list[tuple[dict[str, Any], list[Comment]]] = []
        rated: list[int] = []
        for ticket in tickets:
            try:
                ticket_id = int(ticket["id"])
            except _BAD_RECORD:
                continue
            comments = {**self._take_orphans(ticket_id), **window.pop(ticket_id, {})}
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
        if len(self._parties) > _PARTY_CACHE_MAX:
            self._parties.clear()  # bounded: customers are many, agents come back at once
        for ticket, thread in ready:
            try:
                batch.interactions.extend(ticket_interactions(
                    self.source, ticket, thread, self.users.users,
                    bot_channels=self.bot_channels, bot_user_ids=self.bot_user_ids,
                    parties=self._parties))
            except _BAD_RECORD as exc:
                batch.failures.append(FetchFailure(
                    native_id=str(ticket.get("id")), payload=_summary(ticket),
                    error=f"Zendesk ticket {ticket.get('id')} could not be normalised: "
                          f"{type(exc).__name__}: {str(exc)[:200]}"))
        self._emit_ratings(rated, batch)

    # -- satisfaction ratings ---------------------------------------------------------------

    def _read_ratings(self, start: int) -> int:
        """Hold answered ratings updated since ``start`` by ticket; returns the next start.

        Read before the tickets so each rating travels in the batch of its ticket (rating a
        ticket updates it, so the ticket is in this cycle's export): the conversation is then
        decided and written once, not once for the comments and again for the rating.
        """
        newest = start
        url: str | None = self.http.url("/satisfaction_ratings.json")
        params: dict[str, Any] | None = {"start_time": start, "page[size]": 100}
        while url:
            page = self.http.get(url, "reading satisfaction ratings", params)
            for rating in page.get("satisfaction_ratings") or ():
                if not isinstance(rating, dict) or rating.get("score") not in ("good", "bad"):
                    continue
                ticket_id = _as_int(rating.get("ticket_id"))
                if ticket_id is None:
                    continue
                self._ratings.setdefault(ticket_id, []).append(rating)
                stamp = rating.get("updated_at") or rating.get("created_at")
                try:
                    newest = max(newest, int(parse_time(stamp).timestamp()))
                except ValueError:
                    continue
            meta = page.get("meta") or {}
            links = page.get("links") or {}
            url = links.get("next") if meta.get("has_more") else None
            params = None
        return newest

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
