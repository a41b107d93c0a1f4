"""A faithful local emulator of the parts of X API v2 the adapter uses.

Serves, over a real socket: ``GET /2/users/{id}/mentions``, ``GET /2/tweets/search/recent``,
``GET /2/users/{id}/tweets`` and ``POST /2/tweets``, with X's payload shapes (``data``,
``includes.users``, ``includes.tweets``, partial ``errors`` for deleted or protected referenced
posts, ``meta{newest_id, oldest_id, result_count, next_token}``), parameter validation, bearer
and OAuth 1.0a checks, 15-minute rate windows with ``x-rate-limit-*`` headers and X's 429 body.

Inspection and control under ``/_sandbox/``: ``stats``, ``posted`` (replies actually posted),
``tweets/<id>``, ``crc?crc_token=`` (the answer the brand's webhook must give), ``inject/outage``
(a burst of angry "outage" posts) and ``faults`` (answers lost after a post was made).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import unquote

from oauthlib.oauth1.rfc5849 import signature
from werkzeug.exceptions import BadRequest
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from empathy_bridge.sandbox import FaultConfig, LimitClass, SandboxServer, json_response
from empathy_bridge_x.query import QueryError, compile_query
from empathy_bridge_x.seed import BRAND_HANDLE, BRAND_ID, SeedUser, seed_data
from empathy_bridge_x.webhooks import crc_response

__all__ = ["SANDBOX_CREDENTIALS", "XSandbox", "create_sandbox"]

#: Credentials the sandbox accepts (and the demo sets in its own environment).
SANDBOX_CREDENTIALS = {
    "X_BEARER_TOKEN": "sandbox-x-app-bearer",
    "X_CONSUMER_KEY": "sandbox-consumer-key",
    "X_CONSUMER_SECRET": "sandbox-consumer-secret",
    "X_ACCESS_TOKEN": f"{BRAND_ID}-sandbox-access",
    "X_ACCESS_TOKEN_SECRET": "sandbox-access-secret",
}

#: Requests per 15-minute window, per endpoint (X's published app limits).
DEFAULT_LIMITS = {"mentions": 450, "search": 450, "timeline": 1500, "post": 200}

_ID_BASE = 1_860_000_000_000_000_000
_PROBLEM = "https://api.twitter.com/2/problems/"
_OUTAGE_LINES = [
    "@AcmeSupport total outage?? nothing loads and I have a deadline",
    "@AcmeSupport your outage just cost me a sale. Fix it!",
    "@AcmeSupport outage again, this is ridiculous",
    "@AcmeSupport is anyone working on this outage? Furious.",
    "@AcmeSupport outage for an hour now and no update. Terrible.",
    "@AcmeSupport checkout is down, outage everywhere, so frustrated",
]


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    return json_response({"title": title, "detail": detail, "type": kind, "status": status}, status)


def _invalid(parameter: str, value: str, message: str) -> Response:
    return json_response({
        "errors": [{"parameters": {parameter: [value]}, "message": message}],
        "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
        "type": _PROBLEM + "invalid-request"}, 400)


def _as_x_stores(text: str) -> str:
    """The text X gives back for a post: links shortened to t.co, ``& < >`` escaped."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"https?://\S+", lambda m: "https://t.co/" + hashlib.sha256(
        m.group().encode()).hexdigest()[:10], escaped)


def _oauth1_valid(request: Request, header: str) -> bool:
    """Check an OAuth 1.0a HMAC-SHA1 signature as X does, over the public X URL.

    Clients sign ``https://api.twitter.com/<path>``; the request reached us through a transport
    that rewrote the host, so the base string is rebuilt with X's host, not ours.
    """
    params = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
    if (params.get("oauth_consumer_key") != SANDBOX_CREDENTIALS["X_CONSUMER_KEY"]
            or params.get("oauth_token") != SANDBOX_CREDENTIALS["X_ACCESS_TOKEN"]
            or params.get("oauth_signature_method") != "HMAC-SHA1"):
        return False
    query = request.query_string.decode("ascii", "replace")
    collected = signature.collect_parameters(uri_query=query, headers={"Authorization": header},
                                             exclude_oauth_signature=True)
    base = signature.signature_base_string(
        request.method, signature.base_string_uri("https://api.twitter.com" + request.path),
        signature.normalize_parameters(collected))
    client = _SigningClient()
    expected = signature.sign_hmac_sha1_with_client(base, client)
    return hmac.compare_digest(expected, params.get("oauth_signature", ""))


class _SigningClient:
    """The two secrets oauthlib's signer reads."""

    client_secret = SANDBOX_CREDENTIALS["X_CONSUMER_SECRET"]
    resource_owner_secret = SANDBOX_CREDENTIALS["X_ACCESS_TOKEN_SECRET"]


class XSandbox(SandboxServer):
    """X API v2 emulator (see module docstring). Use as a context manager."""

    name: ClassVar[str] = "x"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 0, records: int = 0,
                 rate_limits: bool = True, error_rate: float = 0.0, latency_ms: float = 0.0,
                 drop_rate: float = 0.0, window_seconds: float = 900.0,
                 limits: dict[str, int] | None = None, **_: Any) -> None:
        super().__init__(host=host, port=port, seed=seed,
                         faults=FaultConfig(error_rate, latency_ms, drop_rate, seed),
                         rate_limits=rate_limits)
        merged = {**DEFAULT_LIMITS, **(limits or {})}
        self.limits = {name: LimitClass(name, merged[name], window_seconds) for name in merged}
        self.started_at = datetime.now(UTC)
        self.users: dict[str, SeedUser] = {}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.posted: list[dict[str, Any]] = []
        self.lost_post_answers = 0
        self._next_id = _ID_BASE
        self._id_lock = threading.Lock()
        self._seed(seed, records)

    # -- data -------------------------------------------------------------------------------

    def _new_id(self) -> str:
        with self._id_lock:
            self._next_id += 1000
            return str(self._next_id)

    def _seed(self, seed: int, records: int) -> None:
        users, tweets = seed_data(seed, records)
        self.users = {u.id: u for u in users}
        by_name = {u.username: u for u in users}
        ids: dict[str, str] = {}
        for item in sorted(tweets, key=lambda t: -t.minutes_ago):
            author = by_name[item.author]
            parent = self.tweets.get(ids[item.reply_to]) if item.reply_to else None
            tweet = self._make_tweet(author, item.text, self.started_at - timedelta(
                minutes=item.minutes_ago), parent=parent, lang=item.lang, metrics=item.metrics)
            tweet["_deleted"] = item.deleted
            ids[item.key] = tweet["id"]
        self.seed_ids = ids

    def _make_tweet(self, author: SeedUser, text: str, created: datetime, *,
                    parent: dict[str, Any] | None = None, lang: str = "en",
                    metrics: dict[str, int] | None = None) -> dict[str, Any]:
        tweet_id = self._new_id()
        tweet: dict[str, Any] = {
            "id": tweet_id, "text": text, "author_id": author.id, "created_at": _iso(created),
            "conversation_id": parent["conversation_id"] if parent else tweet_id, "lang": lang,
            "edit_history_tweet_ids": [tweet_id],
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0,
                               "quote_count": 0, "impression_count": 0, **(metrics or {})},
            "_deleted": False,
        }
        if parent is not None:
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
        with self.lock:
            self.tweets[tweet_id] = tweet
        return tweet

    def inject_outage_spike(self, count: int = 12, term: str = "outage") -> list[str]:
        """Add ``count`` angry posts mentioning ``term`` from different users, in the last minutes.

        Returns the new tweet ids. This is the "outage spike" listening rules should catch.
        """
        # Ordinary customers: a spike is many voices, not one big account.
        customers = [u for u in self.users.values()
                     if u.id != BRAND_ID and not u.protected and u.followers < 10_000]
        now = datetime.now(UTC)
        made = []
        for n in range(count):
            line = _OUTAGE_LINES[n % len(_OUTAGE_LINES)].replace("outage", term)
            tweet = self._make_tweet(customers[n % len(customers)], line,
                                     now - timedelta(seconds=(count - n) * 20))
            made.append(tweet["id"])
        return made

    def delete_tweet(self, tweet_id: str) -> None:
        """Mark a post deleted (it disappears; replies referencing it get partial errors)."""
        with self.lock:
            self.tweets[tweet_id]["_deleted"] = True

    # -- routes -----------------------------------------------------------------------------

    def url_map(self) -> list[Rule]:
        """X API v2 routes plus the sandbox's own inspection/control routes."""
        return [
            Rule("/2/users/<uid>/mentions", endpoint="mentions", methods=["GET"]),
            Rule("/2/users/<uid>/tweets", endpoint="timeline", methods=["GET"]),
            Rule("/2/tweets/search/recent", endpoint="search", methods=["GET"]),
            Rule("/2/tweets", endpoint="post", methods=["POST"]),
            Rule("/_sandbox/posted", endpoint="sandbox_posted", methods=["GET"]),
            Rule("/_sandbox/tweets/<tid>", endpoint="sandbox_tweet", methods=["GET"]),
            Rule("/_sandbox/crc", endpoint="sandbox_crc", methods=["GET"]),
            Rule("/_sandbox/inject/outage", endpoint="sandbox_inject_outage", methods=["POST"]),
            Rule("/_sandbox/faults", endpoint="sandbox_faults", methods=["POST"]),
        ]

    def limit_class(self, request: Request, endpoint: str) -> LimitClass | None:
        """Each API endpoint has its own 15-minute window."""
        return self.limits.get(endpoint)

    def rate_limit_headers(self, limit: LimitClass, remaining: int, reset: float) -> dict[str, str]:
        """``x-rate-limit-limit/remaining/reset`` (reset in unix seconds, as X sends it)."""
        return {"x-rate-limit-limit": str(limit.limit), "x-rate-limit-remaining": str(remaining),
                "x-rate-limit-reset": str(int(time.time() + reset + 0.999))}

    def throttled_response(self, limit: LimitClass, reset: float) -> Response:
        """X's 429 body."""
        return _problem(429, "Too Many Requests", "Too Many Requests")

    def server_error_response(self) -> Response:
        """X's 503 body."""
        return _problem(503, "Service Unavailable", "Service Unavailable")

    def not_found(self, request: Request) -> Response:
        """X's answer for an unknown path."""
        return json_response({"errors": [{"message": "Sorry, that page does not exist",
                                          "code": 34}]}, 404)

    def demo_source_config(self) -> dict[str, Any]:
        """The ``[sources.x]`` table for this sandbox."""
        return {"adapter": "x", "base_url": self.url, "user_id": BRAND_ID, "handle": BRAND_HANDLE,
                "search_queries": ["(acme OR #acmeoutage OR from:AcmeSupport) -is:retweet"]}

    def demo_environment(self) -> dict[str, str]:
        """Sandbox credentials for the demo's environment."""
        return dict(SANDBOX_CREDENTIALS)

    def extra_stats(self) -> dict[str, Any]:
        """Posted replies and tweet counts."""
        with self.lock:
            return {"posted": len(self.posted), "tweets": len(self.tweets)}

    # -- auth -------------------------------------------------------------------------------

    def _auth(self, request: Request, *, user_context: bool) -> Response | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            if header[7:] != SANDBOX_CREDENTIALS["X_BEARER_TOKEN"]:
                return _problem(401, "Unauthorized", "Unauthorized")
            if user_context:
                return _problem(
                    403, "Unsupported Authentication",
                    "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
                    "endpoint.  Supported authentication types are [OAuth 1.0a User Context, "
                    "OAuth 2.0 User Context].", _PROBLEM + "unsupported-authentication")
            return None
        if header.startswith("OAuth "):
            if not _oauth1_valid(request, header):
                return _problem(401, "Unauthorized", "Unauthorized")
            return None
        return _problem(401, "Unauthorized", "Unauthorized")

    # -- reading ----------------------------------------------------------------------------

    def _visible(self, tweet: dict[str, Any]) -> bool:
        return not tweet["_deleted"] and not self.users[tweet["author_id"]].protected

    def _render(self, tweet: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        out = {"id": tweet["id"], "text": tweet["text"],
               "edit_history_tweet_ids": tweet["edit_history_tweet_ids"]}
        for name in fields:
            if name in tweet and not name.startswith("_"):
                out[name] = tweet[name]
        return out

    def _user_json(self, user: SeedUser, fields: set[str]) -> dict[str, Any]:
        full = user.to_json()
        return {k: v for k, v in full.items() if k in {"id", "name", "username"} | fields}

    def _list(self, request: Request, tweets: list[dict[str, Any]], *, low: int,
              token_param: str) -> Response:
        args = request.args
        raw_max = args.get("max_results", "10")
        if not raw_max.isdigit() or not low <= int(raw_max) <= 100:
            return _invalid("max_results", raw_max, f"The `max_results` query parameter value "
                            f"[{raw_max}] is not between {low} and 100")
        for name in ("since_id", "until_id"):
            value = args.get(name)
            if value is not None and not value.isdigit():
                return _invalid(name, value, f"The `{name}` query parameter value [{value}] is "
                                "not valid")
        since, until = args.get("since_id"), args.get("until_id")
        token = args.get(token_param)
        before: int | None = None
        if token:
            try:
                before = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("p"))
            except ValueError:
                return _invalid(token_param, token, f"The `{token_param}` query parameter value "
                                f"[{token}] is not valid")
        rows = sorted((t for t in tweets if self._visible(t)), key=lambda t: -int(t["id"]))
        if since:
            rows = [t for t in rows if int(t["id"]) > int(since)]
        if until:
            rows = [t for t in rows if int(t["id"]) < int(until)]
        if before is not None:
            rows = [t for t in rows if int(t["id"]) < before]
        size = int(raw_max)
        page, more = rows[:size], len(rows) > size
        fields = set(filter(None, args.get("tweet.fields", "").split(",")))
        user_fields = set(filter(None, args.get("user.fields", "").split(",")))
        expansions = set(filter(None, args.get("expansions", "").split(",")))
        body: dict[str, Any] = {}
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            body["data"] = [self._render(t, fields) for t in page]
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if more:
            meta["next_token"] = base64.urlsafe_b64encode(f"p{page[-1]['id']}".encode()).decode()
        includes: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        if "author_id" in expansions and page:
            authors = dict.fromkeys(t["author_id"] for t in page)
            includes["users"] = [self._user_json(self.users[a], user_fields) for a in authors]
        if "referenced_tweets.id" in expansions:
            refs: list[dict[str, Any]] = []
            for t in page:
                for ref in t.get("referenced_tweets", ()):
                    target = self.tweets.get(ref["id"])
                    if target is None or target["_deleted"]:
                        errors.append({
                            "value": ref["id"], "detail": "Could not find tweet with "
                            f"referenced_tweets.id: [{ref['id']}].", "title": "Not Found Error",
                            "resource_type": "tweet", "parameter": "referenced_tweets.id",
                            "resource_id": ref["id"], "type": _PROBLEM + "resource-not-found"})
                    elif self.users[target["author_id"]].protected:
                        errors.append({
                            "value": ref["id"], "detail": "Sorry, you are not authorized to see "
                            f"the Tweet with referenced_tweets.id: [{ref['id']}].",
                            "title": "Authorization Error", "resource_type": "tweet",
                            "parameter": "referenced_tweets.id", "resource_id": ref["id"],
                            "type": _PROBLEM + "not-authorized-for-resource"})
                    else:
                        refs.append(self._render(target, fields))
            if refs:
                includes["tweets"] = refs
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = errors
        body["meta"] = meta
        return json_response(body)

    def on_mentions(self, request: Request, uid: str) -> Response:
        denied = self._auth(request, user_context=False)
        if denied is not None:
            return denied
        user = self.users.get(uid)
        if user is None:
            return _invalid("id", uid, f"The `id` query parameter value [{uid}] is not valid")
        handle = "@" + user.username.lower()
        with self.lock:
            tweets = [t for t in self.tweets.values() if t["author_id"] != uid and (
                handle in t["text"].lower() or t.get("in_reply_to_user_id") == uid)]
        return self._list(request, tweets, low=5, token_param="pagination_token")

    def on_timeline(self, request: Request, uid: str) -> Response:
        denied = self._auth(request, user_context=False)
        if denied is not None:
            return denied
        with self.lock:
            tweets = [t for t in self.tweets.values() if t["author_id"] == uid]
        return self._list(request, tweets, low=5, token_param="pagination_token")

    def on_search(self, request: Request) -> Response:
        denied = self._auth(request, user_context=False)
        if denied is not None:
            return denied
        query = request.args.get("query", "")
        try:
            predicate = compile_query(query)
        except QueryError as exc:
            return _invalid("query", query, f"There were errors processing your request: {exc}")
        week_ago = _iso(datetime.now(UTC) - timedelta(days=7))
        with self.lock:
            tweets = [t for t in self.tweets.values() if t["created_at"] >= week_ago
                      and predicate(t, self.users[t["author_id"]].to_json())]
        return self._list(request, tweets, low=10, token_param="next_token")

    # -- posting ----------------------------------------------------------------------------

    def on_post(self, request: Request) -> Response:
        denied = self._auth(request, user_context=True)
        if denied is not None:
            return denied
        try:
            body = request.get_json(force=True)
        except BadRequest:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return _invalid("text", "", "The `text` field is required")
        text: str = body["text"]
        if len(text) > 280:
            return _problem(403, "Forbidden", "Your Tweet text is too long. For more information "
                            "on how X determines text length see https://github.com/twitter/"
                            "twitter-text.")
        reply = body.get("reply") or {}
        parent_id = str(reply.get("in_reply_to_tweet_id", "")) if isinstance(reply, dict) else ""
        with self.lock:
            parent = self.tweets.get(parent_id) if parent_id else None
            if parent_id and (parent is None or not self._visible(parent)):
                return _problem(403, "Forbidden", "You attempted to reply to a Tweet that is "
                                "deleted or not visible to you.")
            if any(p["text"] == text for p in self.posted):
                return _problem(403, "Forbidden", "You are not allowed to create a Tweet with "
                                "duplicate content.")
            tweet = self._make_tweet(self.users[BRAND_ID], _as_x_stores(text), datetime.now(UTC),
                                     parent=parent)
            self.posted.append({"id": tweet["id"], "text": text, "in_reply_to_tweet_id":
                                parent_id or None, "created_at": tweet["created_at"]})
            lose = self.lost_post_answers > 0
            if lose:
                self.lost_post_answers -= 1
        if lose:
            # The post exists, but the client never learns it: the case idempotency guards.
            return self.server_error_response()
        return json_response({"data": {"id": tweet["id"], "text": tweet["text"],
                                       "edit_history_tweet_ids": [tweet["id"]]}}, 201)

    # -- inspection and control -------------------------------------------------------------

    def on_sandbox_posted(self, request: Request) -> Response:
        with self.lock:
            return json_response({"posted": list(self.posted)})

    def on_sandbox_tweet(self, request: Request, tid: str) -> Response:
        with self.lock:
            tweet = self.tweets.get(tid)
        if tweet is None:
            return json_response({"error": "no such tweet"}, 404)
        return json_response(tweet)

    def on_sandbox_crc(self, request: Request) -> Response:
        token = request.args.get("crc_token", "")
        if not token:
            return json_response({"error": "crc_token is required"}, 400)
        return json_response(crc_response(SANDBOX_CREDENTIALS["X_CONSUMER_SECRET"], token))

    def on_sandbox_inject_outage(self, request: Request) -> Response:
        count = request.args.get("count", "12")
        if not count.isdigit() or not 0 < int(count) <= 10_000:
            return json_response({"error": "count must be 1..10000"}, 400)
        ids = self.inject_outage_spike(int(count), request.args.get("term", "outage"))
        return json_response({"injected": ids})

    def on_sandbox_faults(self, request: Request) -> Response:
        lost = request.args.get("lose_post_answers", "0")
        if not lost.isdigit():
            return json_response({"error": "lose_post_answers must be a number"}, 400)
        with self.lock:
            self.lost_post_answers = int(lost)
        return json_response({"lose_post_answers": self.lost_post_answers})


def create_sandbox(**options: Any) -> XSandbox:
    """Factory registered as the ``x`` sandbox (accepts the standard sandbox options)."""
    return XSandbox(**options)
