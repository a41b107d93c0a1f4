"""A local emulator of the Zendesk Support API paths the adapter uses, over a real socket.

Serves the real paths and payload shapes: the cursor-based incremental ticket export (absolute
``after_url`` on its own host, ``end_of_stream``, pages grown to keep same-second tickets
together), the ticket-events export with ``include=comment_events``, tickets, comments,
``show_many``, users, ticket fields (list/create), satisfaction ratings (cursor pagination),
``update_many`` with job statuses queued -> completed, and the errors ``TooManyValues`` (400),
``RecordNotFound`` (404) and 401. Updating a ticket bumps its ``updated_at`` and
``generated_timestamp``, so it reappears in the export exactly as on Zendesk.

Rate limits follow the plan (requests per minute), 10 a minute on the incremental exports
(30 on High Volume), with 429 + ``Retry-After`` and both header families. Inspection:
``/_sandbox/stats`` and ``/_sandbox/tickets/{id}``.
"""

from __future__ import annotations

import base64
import bisect
import collections
import gc
import itertools
import json
import logging
import threading
import time
from typing import Any, ClassVar
from urllib.parse import urlencode

from cachetools import LRUCache
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from empathy_bridge.sandbox import FaultConfig, LimitClass, SandboxServer, json_response
from empathy_bridge_zendesk.config import PLAN_REQUESTS_PER_MINUTE, Plan
from empathy_bridge_zendesk.seed import SeedData, build, iso

__all__ = ["PLAN_LIMITS", "SANDBOX_EMAIL", "SANDBOX_FIELD_IDS", "SANDBOX_TOKEN", "ZendeskSandbox"]

#: Requests per minute by Zendesk Suite plan.
PLAN_LIMITS = PLAN_REQUESTS_PER_MINUTE
SANDBOX_EMAIL = "agent@sandbox.example.com"
SANDBOX_TOKEN = "sandbox-token"
#: Ids of the empathy fields a sandbox created with ``with_fields=True`` already has.
SANDBOX_FIELD_IDS = {"sentiment": 36000101, "state": 36000102, "intensity": 36000103,
                     "tier": 36000104}
_SYSTEM_FIELDS = [
    (10001, "subject", "Subject"), (10002, "description", "Description"),
    (10003, "status", "Status"), (10004, "tickettype", "Type"),
    (10005, "priority", "Priority"), (10006, "group", "Group"), (10007, "assignee", "Assignee"),
]
_PRIORITIES = {"low", "normal", "high", "urgent", None}
_STATUSES = {"new", "open", "pending", "hold", "solved", "closed"}
_EXPORT_ENDPOINTS = {"ticket_export", "event_export"}
#: Serialised audits and tickets kept for re-reads (each is rebuilt from the data on a miss).
_JSON_CACHE_SIZE = 50_000


def _error(code: str, description: str, status: int, **extra: Any) -> Response:
    return json_response({"error": code, "description": description, **extra}, status)


def _not_found() -> Response:
    return _error("RecordNotFound", "Not found", 404)


def _encode_cursor(ts: int, tid: int) -> str:
    return base64.urlsafe_b64encode(f"{ts}:{tid}".encode()).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[int, int]:
    padded = value + "=" * (-len(value) % 4)
    ts, tid = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
    return int(ts), int(tid)


class ZendeskSandbox(SandboxServer):
    """The Zendesk sandbox; ``ZendeskSandbox(records=1000, seed=7).start()`` returns its URL.

    :param records: tickets to seed (alias ``tickets``).
    :param plan: Suite plan whose per-minute limit applies.
    :param rate_window_seconds: length of the rate-limit window (60 on Zendesk; tests shorten
        it so a throttled run stays quick).
    :param with_fields: whether the account already has the four empathy custom fields.
    :param job_polls_until_done: polls a job answers ``queued`` before ``completed``.
    :param export_delay_seconds: changes younger than this are left out of the incremental
        exports (Zendesk: 60 since October 2024; 0 by default so tests see changes at once).
    """

    name: ClassVar[str] = "zendesk"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        records: int = 200,
        tickets: int | None = None,
        rate_limits: bool = True,
        error_rate: float = 0.0,
        latency_ms: float = 0.0,
        drop_rate: float = 0.0,
        plan: Plan = "professional",
        rate_window_seconds: float = 60.0,
        export_limit: int | None = None,
        with_fields: bool = True,
        job_polls_until_done: int = 0,
        export_delay_seconds: int = 0,
        tls: bool = False,
        subdomain: str = "sandbox",
        **_: Any,
    ) -> None:
        self.records = int(tickets if tickets is not None else records)
        self.plan = plan
        self.subdomain = subdomain
        self.with_fields = with_fields
        self.job_polls_until_done = job_polls_until_done
        self.export_delay = export_delay_seconds
        limit = PLAN_LIMITS[plan]
        self.api_limit = LimitClass("api", limit, rate_window_seconds)
        export = export_limit or (30 if plan == "high_volume" else 10)
        self.export_limit = LimitClass("incremental_export", export, rate_window_seconds)
        super().__init__(host=host, port=port, seed=seed, tls=tls, rate_limits=rate_limits,
                         faults=FaultConfig(error_rate=error_rate, latency_ms=latency_ms,
                                            drop_rate=drop_rate, seed=seed))
        self._data: SeedData | None = None
        self._data_lock = threading.Lock()
        self._order: list[tuple[int, int]] = []
        self._event_ts: list[int] = []
        #: Audits in time order: (ticket id, timestamp, updater, channel, kind, child events).
        self._events: list[tuple[int, int, int | None, str, str, list[dict[str, Any]]]] = []
        self._fields: list[dict[str, Any]] = []
        self._jobs: dict[str, dict[str, Any]] = {}
        self._job_ids = itertools.count(1)
        self._orgs: dict[int, dict[str, Any]] | None = None
        self._last_ts = 0
        self._rating_keys: list[tuple[str, int]] = []
        self._event_json: LRUCache[tuple[int, bool], bytes] = LRUCache(_JSON_CACHE_SIZE)
        self._ticket_json: LRUCache[int, bytes] = LRUCache(_JSON_CACHE_SIZE)
        self.updates_applied = 0
        #: Updates applied per ticket id (``/_sandbox/tickets/{id}`` shows it as update_count).
        self.update_counts: collections.Counter[int] = collections.Counter()

    # -- data -------------------------------------------------------------------------------

    @property
    def data(self) -> SeedData:
        """The seeded account, built on first use (so constructing a sandbox is cheap)."""
        if self._data is None:
            with self._data_lock:
                if self._data is None:
                    self._load(build(self.seed, self.records))
        assert self._data is not None
        return self._data

    def _load(self, data: SeedData) -> None:
        self._order = sorted((int(t["generated_timestamp"]), tid)
                             for tid, t in data.tickets.items())
        for ts, tid, kind, children, author in data.events:
            self._append_event(ts, tid, kind, children, author)
        data.events.clear()  # held as self._events from here on (one copy, not two)
        stamp = iso(data.anchor - 400 * 86400)
        self._fields = [{"id": fid, "type": kind, "title": title, "active": True,
                         "required": False, "created_at": stamp, "updated_at": stamp}
                        for fid, kind, title in _SYSTEM_FIELDS]
        if self.with_fields:
            from empathy_bridge_zendesk.fields import FIELD_TITLES

            kinds = {"sentiment": "decimal", "state": "text", "intensity": "decimal",
                     "tier": "text"}
            for name, fid in SANDBOX_FIELD_IDS.items():
                self._fields.append({"id": fid, "type": kinds[name], "title": FIELD_TITLES[name],
                                     "active": True, "required": False, "created_at": stamp,
                                     "updated_at": stamp})
        self._rating_keys = [(r["updated_at"], r["id"]) for r in data.ratings]
        self._last_ts = data.anchor
        self._data = data
        # The seeded account is hundreds of thousands of long-lived dicts. Left to the cyclic
        # GC, every full collection in this process (the sync under test shares it) walks them
        # all; freezing moves them out of its way. They are still freed by reference counting.
        gc.freeze()

    def _append_event(self, ts: int, tid: int, kind: str, children: list[dict[str, Any]],
                      author: int | None) -> None:
        # A compact tuple per audit (a million-ticket account has ~7 million): the export's
        # dict is built when a page is rendered (_render_event).
        channel = "web"
        if children and isinstance(children[0].get("via"), dict):
            channel = children[0]["via"].get("channel", "web")
        self._events.append((tid, ts, author, channel, kind, children))
        self._event_ts.append(ts)

    def _now(self) -> int:
        # Monotonic seconds, never behind the seeded data: updates sort after everything seen.
        self._last_ts = max(int(time.time()), self._last_ts)
        return self._last_ts

    # -- base-class hooks -------------------------------------------------------------------

    def url_map(self) -> list[Rule]:
        """The Zendesk routes served."""
        api = "/api/v2"
        return [
            Rule(f"{api}/incremental/tickets/cursor.json", endpoint="ticket_export",
                 methods=["GET"]),
            Rule(f"{api}/incremental/ticket_events.json", endpoint="event_export",
                 methods=["GET"]),
            Rule(f"{api}/tickets.json", endpoint="tickets", methods=["GET", "POST"]),
            Rule(f"{api}/tickets/show_many.json", endpoint="tickets_show_many", methods=["GET"]),
            Rule(f"{api}/tickets/update_many.json", endpoint="update_many", methods=["PUT"]),
            Rule(f"{api}/tickets/<int:ticket_id>.json", endpoint="ticket",
                 methods=["GET", "PUT"]),
            Rule(f"{api}/tickets/<int:ticket_id>/comments.json", endpoint="comments",
                 methods=["GET"]),
            Rule(f"{api}/users/show_many.json", endpoint="users_show_many", methods=["GET"]),
            Rule(f"{api}/users/<int:user_id>.json", endpoint="user", methods=["GET"]),
            Rule(f"{api}/users/update_many.json", endpoint="users_update_many", methods=["PUT"]),
            Rule(f"{api}/organizations/<int:org_id>.json", endpoint="organization",
                 methods=["GET"]),
            Rule(f"{api}/organizations/update_many.json", endpoint="organizations_update_many",
                 methods=["PUT"]),
            Rule(f"{api}/ticket_fields.json", endpoint="ticket_fields", methods=["GET", "POST"]),
            Rule(f"{api}/satisfaction_ratings.json", endpoint="ratings", methods=["GET"]),
            Rule(f"{api}/job_statuses/<job_id>.json", endpoint="job_status", methods=["GET"]),
            Rule("/_sandbox/tickets/<int:ticket_id>", endpoint="sandbox_ticket",
                 methods=["GET"]),
        ]

    def limit_class(self, request: Request, endpoint: str) -> LimitClass | None:
        """Incremental exports have their own, much lower, limit."""
        return self.export_limit if endpoint in _EXPORT_ENDPOINTS else self.api_limit

    def rate_limit_headers(self, limit: LimitClass, remaining: int, reset: float
                           ) -> dict[str, str]:
        """Both header families Zendesk sends."""
        return {"x-rate-limit": str(limit.limit), "x-rate-limit-remaining": str(remaining),
                "ratelimit-limit": str(limit.limit), "ratelimit-remaining": str(remaining),
                "ratelimit-reset": str(max(1, int(reset + 0.999)))}

    def throttled_response(self, limit: LimitClass, reset: float) -> Response:
        """Zendesk's 429."""
        return json_response(
            {"error": "APIRateLimitExceeded",
             "description": f"Number of allowed {limit.name} requests per minute exceeded"},
            429, {"Retry-After": str(max(1, int(reset + 0.999)))})

    def server_error_response(self) -> Response:
        """Zendesk's 503 during incidents."""
        return json_response({"error": "ServiceUnavailable",
                              "description": "Server temporarily unavailable"}, 503)

    def not_found(self, request: Request) -> Response:
        """Zendesk answers unknown API paths with its InvalidEndpoint error."""
        return _error("InvalidEndpoint", "Not found", 404)

    def demo_source_config(self) -> dict[str, Any]:
        """The ``[sources.zendesk]`` table pointing at this sandbox."""
        return {"adapter": "zendesk", "base_url": self.url, "subdomain": self.subdomain,
                "plan": self.plan if self.rate_limits_enabled else None,
                "email": SANDBOX_EMAIL, "token_env": "ZENDESK_API_TOKEN",
                "fields": dict(SANDBOX_FIELD_IDS) if self.with_fields else {}}

    def demo_environment(self) -> dict[str, str]:
        """The sandbox's API token under the variable the demo config names."""
        return {"ZENDESK_API_TOKEN": SANDBOX_TOKEN}

    def extra_stats(self) -> dict[str, Any]:
        """Zendesk-specific counters."""
        return {"plan": self.plan, "tickets": self.records, "updates_applied":
                self.updates_applied, "jobs": len(self._jobs)}

    # -- auth -------------------------------------------------------------------------------

    def _unauthorised(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and header[7:] == SANDBOX_TOKEN:
            return None
        if header.startswith("Basic "):
            try:
                user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                user, secret = "", ""
            if user.endswith("/token") and secret == SANDBOX_TOKEN:
                return None
        return json_response({"error": "Couldn't authenticate you"}, 401)

    # -- exports ----------------------------------------------------------------------------

    def on_ticket_export(self, request: Request) -> Response:
        """``GET /api/v2/incremental/tickets/cursor.json`` (start_time or cursor)."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        self.data  # noqa: B018 - build the account before reading the order
        args = request.args
        per_page = min(max(args.get("per_page", 1000, type=int) or 1000, 1), 1000)
        include = args.get("include", "")
        with self.lock:
            if "cursor" in args:
                try:
                    after = _decode_cursor(args["cursor"])
                except (ValueError, UnicodeDecodeError):
                    return _error("InvalidPaginationParameter", "cursor is invalid", 400)
                start = bisect.bisect_right(self._order, after)
            elif "start_time" in args:
                start_time = args.get("start_time", type=int)
                if start_time is None or start_time < 0:
                    return _error("InvalidValue", "start_time must be a unix time", 400)
                if start_time > self._now():
                    return _error("InvalidValue", "start_time is in the future", 400)
                after = (start_time, -1)
                start = bisect.bisect_left(self._order, after)
            else:
                return _error("InvalidValue", "start_time or cursor is required", 400)
            # Zendesk leaves out the last minute (export_delay_seconds) to avoid racing writes.
            horizon = bisect.bisect_right(self._order, (self._now() - self.export_delay, 2**62))
            # The cursor holds (second, ticket id), so unlike the time-based exports a page
            # never grows past per_page when many tickets share a second (automation runs).
            end = min(start + per_page, horizon)
            start = min(start, end)
            keys = self._order[start:end]
            tickets = [self._ticket_bytes(tid) for _, tid in keys]
            last = keys[-1] if keys else after
            users = (self._side_users([self.data.tickets[tid] for _, tid in keys])
                     if "users" in include else None)
            end_of_stream = end >= horizon
        cursor = _encode_cursor(*last)
        query = {"cursor": cursor, "per_page": per_page, **({"include": include} if include
                                                             else {})}
        rest: dict[str, Any] = {
            "after_url": f"{self.url}/api/v2/incremental/tickets/cursor.json?{urlencode(query)}",
            "after_cursor": cursor, "before_url": None, "before_cursor": None,
            "end_of_stream": end_of_stream,
        }
        if users is not None:
            rest["users"] = users
        return _json_page("tickets", tickets, rest)

    def on_event_export(self, request: Request) -> Response:
        """``GET /api/v2/incremental/ticket_events.json`` (time based)."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        self.data  # noqa: B018
        args = request.args
        start_time = args.get("start_time", type=int)
        if start_time is None or start_time < 0:
            return _error("InvalidValue", "start_time is required", 400)
        per_page = min(max(args.get("per_page", 1000, type=int) or 1000, 1), 1000)
        include = args.get("include", "")
        with_comments = "comment_events" in include
        with self.lock:
            horizon = bisect.bisect_right(self._event_ts, self._now() - self.export_delay)
            start = min(bisect.bisect_left(self._event_ts, start_time), horizon)
            end = min(start + per_page, horizon)
            while 0 < end < horizon and self._event_ts[end] == self._event_ts[end - 1]:
                end += 1
            events = [self._event_bytes(n, with_comments) for n in range(start, end)]
            end_of_stream = end >= horizon
            end_time = self._event_ts[end - 1] if events else start_time
        query = {"start_time": end_time + 1 if events else start_time, "per_page": per_page,
                 **({"include": include} if include else {})}
        return _json_page("ticket_events", events, {
            "count": len(events), "end_time": end_time, "end_of_stream": end_of_stream,
            "next_page": f"{self.url}/api/v2/incremental/ticket_events.json?{urlencode(query)}",
        })

    def _event_bytes(self, index: int, with_comments: bool) -> bytes:
        # Audits never change once written: serialise each once, so a re-read page costs a
        # join. Bounded: one sync reads each audit once, and a million-ticket account's
        # serialised audits alone would take gigabytes.
        key = (index, with_comments)
        cached = self._event_json.get(key)
        if cached is None:
            cached = self._event_json[key] = json.dumps(
                self._render_event(index, self._events[index], with_comments),
                separators=(",", ":")).encode()
        return cached

    def _ticket_bytes(self, tid: int) -> bytes:
        cached = self._ticket_json.get(tid)
        if cached is None:
            cached = self._ticket_json[tid] = json.dumps(
                self._data_ticket(tid), separators=(",", ":")).encode()
        return cached

    @staticmethod
    def _render_event(index: int, event: tuple[int, int, int | None, str, str,
                                               list[dict[str, Any]]],
                      with_comments: bool) -> dict[str, Any]:
        tid, ts, author, channel, kind, child_events = event
        children = []
        for child in child_events:
            if child.get("type") == "Comment":
                if with_comments:
                    children.append({**child, "event_type": "Comment"})
            else:
                children.append(child)
        return {
            "id": index + 1, "ticket_id": tid, "timestamp": ts, "created_at": iso(ts),
            "updater_id": author if author is not None else -1, "via": {"channel": channel},
            "system": {}, "event_type": kind, "merged_ticket_ids": [], "child_events": children,
        }

    # -- tickets ----------------------------------------------------------------------------

    def _data_ticket(self, tid: int) -> dict[str, Any]:
        ticket = self.data.tickets[tid]
        return {**ticket, "url": f"{self.url}/api/v2/tickets/{tid}.json"}

    def _side_users(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        users = self.data.users
        ids: dict[int, None] = {}
        for record in records:
            for key in ("requester_id", "submitter_id", "assignee_id"):
                uid = record.get(key)
                if uid is not None and uid in users:
                    ids[uid] = None
        return [users[uid] for uid in ids]

    def _live_ticket(self, tid: int) -> dict[str, Any] | None:
        ticket = self.data.tickets.get(tid)
        if ticket is None or ticket.get("status") == "deleted":
            return None
        return ticket

    def on_ticket(self, request: Request, ticket_id: int) -> Response:
        """``GET`` / ``PUT /api/v2/tickets/{id}.json``."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        with self.lock:
            if self._live_ticket(ticket_id) is None:
                return _not_found()
            if request.method == "PUT":
                body = request.get_json(silent=True) or {}
                change = body.get("ticket") if isinstance(body, dict) else None
                if not isinstance(change, dict):
                    return _error("InvalidValue", "expected {\"ticket\": {...}}", 400)
                error = self._apply(ticket_id, change)
                if error is not None:
                    return _error(error[0], error[1], 422)
            return json_response({"ticket": self._data_ticket(ticket_id)})

    def on_tickets(self, request: Request) -> Response:
        """``GET /api/v2/tickets.json?external_id=`` and ``POST`` (create) a ticket."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        with self.lock:
            if request.method == "GET":
                external = request.args.get("external_id")
                if external is None:
                    return _error("InvalidValue", "the sandbox lists tickets by external_id",
                                  400)
                found = [self._data_ticket(tid) for tid, t in self.data.tickets.items()
                         if t.get("external_id") == external and t["status"] != "deleted"]
                return json_response({"tickets": found, "count": len(found),
                                      "next_page": None})
            body = request.get_json(silent=True) or {}
            spec = body.get("ticket") if isinstance(body, dict) else None
            comment = spec.get("comment") if isinstance(spec, dict) else None
            if not isinstance(spec, dict) or not isinstance(comment, dict) or not (
                    comment.get("body") or comment.get("html_body")):
                return _error("RecordInvalid", "Record validation errors", 422,
                              details={"description": [{"description": "cannot be blank"}]})
            if spec.get("priority") not in _PRIORITIES:
                return _error("RecordInvalid", f"Priority {spec['priority']!r} is not valid",
                              422)
            tid = max(self.data.tickets) + 1
            ts = self._now()
            body_text = str(comment.get("body") or "")
            self.data.tickets[tid] = {
                "id": tid, "external_id": spec.get("external_id"), "type": None,
                "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
                "created_at": iso(ts), "updated_at": iso(ts), "generated_timestamp": ts,
                "subject": spec.get("subject") or body_text[:80],
                "raw_subject": spec.get("subject") or body_text[:80],
                "description": body_text, "priority": spec.get("priority"), "status": "new",
                "requester_id": AGENT_FALLBACK, "submitter_id": AGENT_FALLBACK,
                "assignee_id": None, "organization_id": None, "group_id": None,
                "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
                "has_incidents": False, "is_public": bool(comment.get("public", True)),
                "tags": sorted({str(t) for t in spec.get("tags") or ()}),
                "custom_fields": [f for f in spec.get("custom_fields") or ()
                                  if isinstance(f, dict)],
                "satisfaction_rating": None, "brand_id": 1, "allow_channelback": False,
                "allow_attachments": True,
            }
            new: dict[str, Any] = {
                "id": self.data.next_comment_id, "type": "Comment",
                "author_id": AGENT_FALLBACK, "body": body_text,
                "html_body": comment.get("html_body") or f"<p>{body_text}</p>",
                "plain_body": body_text, "public": bool(comment.get("public", True)),
                "attachments": [], "via": {"channel": "api"}, "metadata": {},
                "created_at": iso(ts)}
            self.data.next_comment_id += 1
            self.data.comments[tid] = [new]
            bisect.insort(self._order, (ts, tid))
            self._append_event(ts, tid, "Create", [new], AGENT_FALLBACK)
            self.records = len(self.data.tickets)
            return json_response({"ticket": self._data_ticket(tid)}, 201)

    def on_tickets_show_many(self, request: Request) -> Response:
        """``GET /api/v2/tickets/show_many.json?ids=1,2``."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        ids = _ids(request.args.get("ids", ""))
        if ids is None:
            return _error("InvalidValue", "ids must be comma-separated integers", 400)
        if len(ids) > 100:
            return _error("TooManyValues", "You can only request up to 100 ids", 400,
                          max_count=100)
        with self.lock:
            tickets = [self._data_ticket(t) for t in ids if t in self.data.tickets]
            body: dict[str, Any] = {"tickets": tickets, "count": len(tickets),
                                    "next_page": None, "previous_page": None}
            if "users" in request.args.get("include", ""):
                body["users"] = self._side_users(tickets)
        return json_response(body)

    def on_comments(self, request: Request, ticket_id: int) -> Response:
        """``GET /api/v2/tickets/{id}/comments.json`` (one page: sandbox threads are short)."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        with self.lock:
            if self._live_ticket(ticket_id) is None:
                return _not_found()
            comments = list(self.data.comments.get(ticket_id, []))
        return json_response({"comments": comments, "count": len(comments), "next_page": None,
                              "previous_page": None})

    # -- users ------------------------------------------------------------------------------

    def on_users_show_many(self, request: Request) -> Response:
        """``GET /api/v2/users/show_many.json?ids=``."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        ids = _ids(request.args.get("ids", ""))
        if ids is None:
            return _error("InvalidValue", "ids must be comma-separated integers", 400)
        if len(ids) > 100:
            return _error("TooManyValues", "You can only request up to 100 ids", 400,
                          max_count=100)
        users = [self.data.users[u] for u in ids if u in self.data.users]
        return json_response({"users": users, "count": len(users), "next_page": None})

    def on_user(self, request: Request, user_id: int) -> Response:
        """``GET /api/v2/users/{id}.json``."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        user = self.data.users.get(user_id)
        return json_response({"user": user}) if user else _not_found()

    # -- fields -----------------------------------------------------------------------------

    def on_ticket_fields(self, request: Request) -> Response:
        """``GET`` (list) and ``POST`` (create) ``/api/v2/ticket_fields.json``."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        self.data  # noqa: B018
        with self.lock:
            if request.method == "GET":
                return json_response({"ticket_fields": list(self._fields),
                                      "count": len(self._fields), "next_page": None})
            body = request.get_json(silent=True) or {}
            spec = body.get("ticket_field") if isinstance(body, dict) else None
            if not isinstance(spec, dict) or not spec.get("title") or not spec.get("type"):
                return _error("RecordInvalid", "Record validation errors", 422,
                              details={"title": [{"description": "Title: cannot be blank"}]})
            if spec["type"] not in ("text", "textarea", "decimal", "integer", "checkbox",
                                    "date", "tagger", "regexp"):
                return _error("RecordInvalid", f"type {spec['type']!r} is not valid", 422)
            new_id = max(f["id"] for f in self._fields) + 1
            stamp = iso(self._now())
            field = {"id": new_id, "type": spec["type"], "title": spec["title"],
                     "description": spec.get("description", ""), "active": True,
                     "required": False, "created_at": stamp, "updated_at": stamp}
            self._fields.append(field)
        return json_response({"ticket_field": field}, 201)

    # -- satisfaction ratings ---------------------------------------------------------------

    def on_ratings(self, request: Request) -> Response:
        """``GET /api/v2/satisfaction_ratings.json`` with ``start_time`` and cursor paging."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        args = request.args
        size = min(max(args.get("page[size]", 100, type=int) or 100, 1), 100)
        start_time = args.get("start_time", 0, type=int) or 0
        ratings = self.data.ratings
        with self.lock:
            keys = self._rating_keys
            if "page[after]" in args:
                try:
                    stamp, rid = _decode_cursor(args["page[after]"])
                except (ValueError, UnicodeDecodeError):
                    return _error("InvalidPaginationParameter", "page[after] is invalid", 400)
                start = bisect.bisect_right(keys, (iso(stamp), rid))
            else:
                start = bisect.bisect_left(keys, (iso(start_time), -1))
            page = ratings[start:start + size]
            has_more = start + size < len(ratings)
        after = None
        if page:
            stamp = int(_parse_iso(page[-1]["updated_at"]))
            after = _encode_cursor(stamp, page[-1]["id"])
        query = {"page[size]": size, "page[after]": after or ""}
        return json_response({
            "satisfaction_ratings": [{**r, "url": f"{self.url}/api/v2/satisfaction_ratings/"
                                             f"{r['id']}.json"} for r in page],
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": None},
            "links": {"next": f"{self.url}/api/v2/satisfaction_ratings.json?{urlencode(query)}"
                      if has_more else None, "prev": None},
        })

    # -- bulk update and jobs ---------------------------------------------------------------

    def on_update_many(self, request: Request) -> Response:
        """``PUT /api/v2/tickets/update_many.json``: ``{"tickets": [...]}`` or ``?ids=``."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error("InvalidValue", "expected a JSON object", 400)
        if "ids" in request.args:
            ids = _ids(request.args["ids"])
            change = body.get("ticket")
            if ids is None or not isinstance(change, dict):
                return _error("InvalidValue", "expected ?ids=1,2 and {\"ticket\": {...}}", 400)
            entries: list[Any] = [{**change, "id": tid} for tid in ids]
        else:
            listed = body.get("tickets")
            if not isinstance(listed, list):
                return _error("InvalidValue", "expected {\"tickets\": [...]}", 400)
            entries = listed
        if len(entries) > 100:
            return _error("TooManyValues", "You can only update up to 100 tickets at once",
                          400, max_count=100)
        self.data  # noqa: B018
        results = []
        with self.lock:
            for index, entry in enumerate(entries):
                tid = entry.get("id") if isinstance(entry, dict) else None
                if not isinstance(tid, int) or self._live_ticket(tid) is None:
                    results.append({"index": index, "id": tid, "success": False,
                                    "error": "RecordNotFound", "details": "Ticket not found"})
                    continue
                error = self._apply(tid, {k: v for k, v in entry.items() if k != "id"})
                if error is None:
                    results.append({"index": index, "id": tid, "action": "update",
                                    "success": True, "status": "Updated"})
                else:
                    results.append({"index": index, "id": tid, "success": False,
                                    "error": error[0], "details": error[1]})
            job_id = f"V3-{next(self._job_ids):08x}"
            job = {"id": job_id, "job_type": "bulk_update", "status": "queued", "total":
                   len(entries), "progress": 0, "message": None, "results": None,
                   "url": f"{self.url}/api/v2/job_statuses/{job_id}.json"}
            self._jobs[job_id] = {"job": job, "results": results, "polls": 0}
        return json_response({"job_status": job})

    # -- organisations and user fields (metrics push-back) ----------------------------------

    def _organizations(self) -> dict[int, dict[str, Any]]:
        """Organisations of the seeded users (built on first use, kept under the lock)."""
        if self._orgs is None:
            self._orgs = {}
            for user in self.data.users.values():
                oid = user.get("organization_id")
                if isinstance(oid, int) and oid not in self._orgs:
                    self._orgs[oid] = {"id": oid, "name": f"Organisation {oid}",
                                       "organization_fields": {}}
        return self._orgs

    def on_organization(self, request: Request, org_id: int) -> Response:
        """``GET /api/v2/organizations/{id}.json``."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        with self.lock:
            org = self._organizations().get(org_id)
            return json_response({"organization": org}) if org else _not_found()

    def on_organizations_update_many(self, request: Request) -> Response:
        """``PUT /api/v2/organizations/update_many.json``: ``{"organizations": [...]}``."""
        with self.lock:
            return self._fields_update_many(request, "organizations", "organization_fields",
                                            self._organizations())

    def on_users_update_many(self, request: Request) -> Response:
        """``PUT /api/v2/users/update_many.json``: ``{"users": [...]}``."""
        with self.lock:
            return self._fields_update_many(request, "users", "user_fields", self.data.users)

    def _fields_update_many(self, request: Request, resource: str, attribute: str,
                            records: dict[int, dict[str, Any]]) -> Response:
        # Only the custom-field attribute is honoured: that is all empathy-bridge writes.
        if (denied := self._unauthorised(request)) is not None:
            return denied
        body = request.get_json(silent=True)
        entries = body.get(resource) if isinstance(body, dict) else None
        if not isinstance(entries, list):
            return _error("InvalidValue", f"expected {{\"{resource}\": [...]}}", 400)
        if len(entries) > 100:
            return _error("TooManyValues", f"You can only update up to 100 {resource} at once",
                          400, max_count=100)
        results = []
        for index, entry in enumerate(entries):
            rid = entry.get("id") if isinstance(entry, dict) else None
            record = records.get(rid) if isinstance(rid, int) else None
            if record is None:
                results.append({"index": index, "id": rid, "success": False,
                                "error": "RecordNotFound", "details": "Not found"})
                continue
            record.setdefault(attribute, {}).update(entry.get(attribute) or {})
            results.append({"index": index, "id": rid, "action": "update", "success": True,
                            "status": "Updated"})
        job_id = f"V3-{next(self._job_ids):08x}"
        job = {"id": job_id, "job_type": "bulk_update", "status": "queued",
               "total": len(entries), "progress": 0, "message": None, "results": None,
               "url": f"{self.url}/api/v2/job_statuses/{job_id}.json"}
        self._jobs[job_id] = {"job": job, "results": results, "polls": 0}
        return json_response({"job_status": job})

    def on_job_status(self, request: Request, job_id: str) -> Response:
        """``GET /api/v2/job_statuses/{id}.json``: queued until polled enough, then completed."""
        if (denied := self._unauthorised(request)) is not None:
            return denied
        with self.lock:
            entry = self._jobs.get(job_id)
            if entry is None:
                return _not_found()
            entry["polls"] += 1
            job = dict(entry["job"])
            if entry["polls"] > self.job_polls_until_done:
                job.update(status="completed", progress=job["total"], results=entry["results"],
                           message="Completed at " + iso(self._now()))
            else:
                job.update(status="working" if entry["polls"] > 1 else "queued")
        return json_response({"job_status": job})

    def _apply(self, tid: int, change: dict[str, Any], *, by_api: bool = True
               ) -> tuple[str, str] | None:
        """Apply one ticket's changes (under ``self.lock``); returns ``(error, details)``.

        ``by_api=False`` marks a change a person made in the UI (not counted in update_count).
        """
        ticket = self.data.tickets[tid]
        for key in ("custom_fields", "additional_tags", "remove_tags", "tags"):
            if key in change and not isinstance(change[key], list):
                return "InvalidValue", f"{key} must be a list"
        known = {f["id"] for f in self._fields}
        updates: dict[str, Any] = {}
        fields = {f["id"]: f["value"] for f in ticket["custom_fields"]}
        for item in change.get("custom_fields") or []:
            if not isinstance(item, dict) or item.get("id") not in known:
                fid = item.get("id") if isinstance(item, dict) else item
                return "InvalidValue", f"Custom field {fid} does not exist"
            fields[item["id"]] = item.get("value")
        if "priority" in change:
            if change["priority"] not in _PRIORITIES:
                return "InvalidValue", f"Priority {change['priority']!r} is not valid"
            updates["priority"] = change["priority"]
        if "status" in change:
            if change["status"] not in _STATUSES:
                return "InvalidValue", f"Status {change['status']!r} is not valid"
            updates["status"] = change["status"]
        tags = list(ticket["tags"])
        if "tags" in change and isinstance(change["tags"], list):
            tags = [str(t) for t in change["tags"]]
        for tag in change.get("additional_tags") or []:
            if str(tag) not in tags:
                tags.append(str(tag))
        removed = {str(t) for t in change.get("remove_tags") or []}
        tags = sorted(t for t in tags if t not in removed)
        custom = [{"id": k, "value": v} for k, v in fields.items()]
        children: list[dict[str, Any]] = []
        for key, value in updates.items():
            if ticket.get(key) != value:
                children.append({"event_type": "Change", "field_name": key, "value": value,
                                 "previous_value": ticket.get(key)})
        if tags != ticket["tags"]:
            children.append({"event_type": "Change", "field_name": "tags", "value": tags,
                             "previous_value": ticket["tags"]})
        if custom != ticket["custom_fields"]:
            children.append({"event_type": "Change", "field_name": "custom_fields",
                             "value": custom})
        comment = change.get("comment")
        ts = self._now()
        if isinstance(comment, dict) and (comment.get("body") or comment.get("html_body")):
            body = str(comment.get("body") or "")
            author = comment.get("author_id") or ticket.get("requester_id") or AGENT_FALLBACK
            new: dict[str, Any] = {
                   "id": self.data.next_comment_id, "type": "Comment", "author_id": author,
                   "body": body, "html_body": comment.get("html_body") or f"<p>{body}</p>",
                   "plain_body": body, "public": bool(comment.get("public", True)),
                   "attachments": [], "via": {"channel": comment.get("channel", "web")},
                   "metadata": {}, "created_at": iso(ts)}
            self.data.next_comment_id += 1
            self.data.comments.setdefault(tid, []).append(new)
            children.append(new)
        if not children:
            return None
        old_key = (int(ticket["generated_timestamp"]), tid)
        self._ticket_json.pop(tid, None)
        ticket.update(updates)
        ticket["tags"] = tags
        ticket["custom_fields"] = custom
        ticket["updated_at"] = iso(ts)
        ticket["generated_timestamp"] = ts
        position = bisect.bisect_left(self._order, old_key)
        if position < len(self._order) and self._order[position] == old_key:
            del self._order[position]
        bisect.insort(self._order, (ts, tid))
        author_id = comment.get("author_id") if isinstance(comment, dict) else None
        self._append_event(ts, tid, "Update", children, author_id or AGENT_FALLBACK)
        if by_api:
            self.updates_applied += 1
            self.update_counts[tid] += 1
        return None

    # -- inspection -------------------------------------------------------------------------

    def ticket_state(self, ticket_id: int) -> dict[str, Any] | None:
        """Current state of a ticket incl. custom fields (by id), tags and comment count."""
        with self.lock:
            ticket = self.data.tickets.get(ticket_id)
            if ticket is None:
                return None
            return {**ticket, "custom_field_values": {str(f["id"]): f["value"]
                                                      for f in ticket["custom_fields"]},
                    "comment_count": len(self.data.comments.get(ticket_id, [])),
                    "update_count": self.update_counts[ticket_id]}

    def add_comment(self, ticket_id: int, body: str, *, author_id: int | None = None,
                    public: bool = True) -> None:
        """Add a comment as a person would in Zendesk (the requester unless ``author_id``)."""
        with self.lock:
            if self._live_ticket(ticket_id) is None:
                raise KeyError(ticket_id)
            self._apply(ticket_id, {"comment": {"body": body, "public": public,
                                                "author_id": author_id}}, by_api=False)

    def set_priority(self, ticket_id: int, priority: str | None) -> None:
        """Change a ticket's priority as a human agent would."""
        with self.lock:
            self._apply(ticket_id, {"priority": priority}, by_api=False)

    def delete_ticket(self, ticket_id: int) -> None:
        """Soft-delete a ticket: it stays in the export with status ``deleted``, 404 elsewhere."""
        with self.lock:
            ticket = self.data.tickets[ticket_id]
            old_key = (int(ticket["generated_timestamp"]), ticket_id)
            ts = self._now()
            self._ticket_json.pop(ticket_id, None)
            ticket.update(status="deleted", updated_at=iso(ts), generated_timestamp=ts)
            self._order.remove(old_key)
            bisect.insort(self._order, (ts, ticket_id))
            self._append_event(ts, ticket_id, "Update", [
                {"event_type": "Change", "field_name": "status", "value": "deleted"}],
                AGENT_FALLBACK)

    def start(self) -> str:
        """Start serving; werkzeug's per-request access log is silenced unless configured."""
        access_log = logging.getLogger("werkzeug")
        if access_log.level == logging.NOTSET:
            access_log.setLevel(logging.WARNING)
        self.data  # noqa: B018 - build the account before the first request, not during it
        return super().start()

    def on_sandbox_ticket(self, request: Request, ticket_id: int) -> Response:
        """``GET /_sandbox/tickets/{id}``."""
        state = self.ticket_state(ticket_id)
        return json_response(state) if state is not None else _not_found()


#: Author of updates sent without a comment author: the sandbox's API agent.
AGENT_FALLBACK = 1001


def _json_page(key: str, items: list[bytes], rest: dict[str, Any]) -> Response:
    """A JSON object ``{key: [items...], **rest}`` from pre-serialised items."""
    tail = json.dumps(rest, separators=(",", ":"))
    body = b"".join([b'{"', key.encode(), b'":[', b",".join(items), b"]",
                     b"," if rest else b"", tail[1:].encode()])
    return Response(body, status=200, mimetype="application/json")


def _ids(raw: str) -> list[int] | None:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        return None


def _parse_iso(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
