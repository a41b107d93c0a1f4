"""The X adapter: mentions and recent-search results in, approved public replies out.

Pulls ``GET /2/users/{id}/mentions`` and ``GET /2/tweets/search/recent`` (one stream per
configured query), newest first, with ``since_id`` per stream and pagination tokens in between,
and yields one :class:`~empathy_bridge.adapter.FetchBatch` per page. The cursor is JSON::

    {"v": 1, "streams": {"mentions": {"since_id": "186..", "next_token": null, "newest_id": null},
                         "search:#acme OR acme outage": {...}}}

``newest_id`` and ``next_token`` are set only while a multi-page run is in progress: ``since_id``
advances to the run's newest id only after its last page, so a crash mid-run resumes at the
saved page instead of skipping the older pages.

X has no writable fields, so :meth:`XAdapter.plan_writeback` returns nothing. Replies go out only
through the approval workflow (:mod:`empathy_bridge.social`), which calls
:meth:`XAdapter.post_reply`.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import requests
import tweepy
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from empathy_bridge.adapter import Adapter, Decisions, FetchBatch, FetchFailure, SourceConfig
from empathy_bridge.budget import RateLimit
from empathy_bridge.errors import AuthenticationError, ConfigError
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    FieldUpdate,
    Interaction,
    Party,
    WriteResult,
)
from empathy_bridge.secrets import Secrets
from empathy_bridge.social.posting import PostedReply
from empathy_bridge_x.api import AmbiguousWriteError, XApi, XRequestError
from empathy_bridge_x.normalize import NormalizeError, tweet_to_interaction, tweet_url
from empathy_bridge_x.transport import mount_base_url

__all__ = ["StreamCursor", "XAdapter", "XCursor", "XSourceConfig"]

log = logging.getLogger("empathy_bridge_x")

TWEET_FIELDS = ["id", "text", "author_id", "conversation_id", "created_at", "in_reply_to_user_id",
                "referenced_tweets", "public_metrics", "lang"]
USER_FIELDS = ["id", "name", "username", "public_metrics", "protected"]
EXPANSIONS = ["author_id", "referenced_tweets.id"]
#: X's default weighting for posts: 280 characters.
REPLY_MAX_LENGTH = 280


class XSourceConfig(SourceConfig):
    """``[sources.NAME]`` for ``adapter = "x"``.

    Secrets are named, never given: ``bearer_token_env`` (app-only token, for reading) and the
    four OAuth 1.0a user-context variables (for posting replies as the brand account).
    """

    user_id: str = Field(description="Numeric id of the brand account whose mentions are read.")
    handle: str | None = Field(default=None, description="The brand's @handle (for links).")
    include_mentions: bool = True
    search_queries: list[str] = Field(
        default_factory=list,
        description="Recent-search queries, e.g. '(acme OR #acme) -is:retweet'.")
    page_size: int = Field(default=100, ge=10, le=100, description="max_results per page.")
    max_pages_per_cycle: int = Field(default=50, ge=1, le=10_000)
    max_rate_limit_wait_seconds: float = Field(
        default=960.0, ge=0, description="Wait this long for a 15-minute window to reset; beyond "
        "it the cycle pauses with QuotaExhaustedError.")
    ca_bundle: str | None = Field(default=None, description="CA file for an https base_url.")
    bearer_token_env: str = "X_BEARER_TOKEN"
    consumer_key_env: str = "X_CONSUMER_KEY"
    consumer_secret_env: str = "X_CONSUMER_SECRET"
    access_token_env: str = "X_ACCESS_TOKEN"
    access_token_secret_env: str = "X_ACCESS_TOKEN_SECRET"
    # X has no fields to write; replies go through the approval workflow instead.
    writeback: bool = False

    @field_validator("user_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not value.isdigit():
            raise ValueError("must be the account's numeric id (X ids are strings of digits)")
        return value

    @field_validator("search_queries")
    @classmethod
    def _queries(cls, value: list[str]) -> list[str]:
        for query in value:
            if not query.strip() or len(query) > 512:
                raise ValueError("each query must be non-empty and at most 512 characters")
        return value


class StreamCursor(BaseModel):
    """Position in one stream (mentions or one search query)."""

    model_config = ConfigDict(extra="forbid")

    since_id: str | None = None
    next_token: str | None = None
    newest_id: str | None = None


class XCursor(BaseModel):
    """The adapter's whole cursor: one :class:`StreamCursor` per stream key."""

    model_config = ConfigDict(extra="forbid")

    v: int = 1
    streams: dict[str, StreamCursor] = Field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> XCursor:
        """Read a stored cursor; an unreadable one starts over (logged), it is never fatal."""
        if not raw:
            return cls()
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            log.warning("stored X cursor is unreadable; starting the streams over")
            return cls()

    def dump(self) -> str:
        """Compact JSON for the store."""
        return self.model_dump_json()


_URL = re.compile(r"https?://\S+")


def comparable_text(text: str) -> str:
    """A post's text as it can be compared with what X gives back.

    X replaces every link with a ``https://t.co/...`` link and escapes ``&``, ``<`` and ``>``
    in the text it returns, so links become a placeholder, entities are decoded and whitespace
    is folded.
    """
    return " ".join(_URL.sub("<link>", html.unescape(text)).split())


def _newer(a: str | None, b: str | None) -> str | None:
    """The larger of two numeric ids (X ids grow with time)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if int(a) >= int(b) else b


class XAdapter(Adapter):
    """Adapter for X API v2 (tweepy ``Client``), reaching ``base_url`` over a real socket."""

    name: ClassVar[str] = "x"
    config_model: ClassVar[type[SourceConfig]] = XSourceConfig
    write_batch_size: ClassVar[int] = 100
    reply_max_length: ClassVar[int] = REPLY_MAX_LENGTH
    #: Requests per 15-minute window by endpoint class (see ``classify_request``); the engine's
    #: API budget starts from these and follows each answer's ``x-rate-limit-*`` headers.
    plan_limits: ClassVar[Mapping[str, RateLimit]] = {
        "mentions": RateLimit(450, 900.0), "search": RateLimit(450, 900.0),
        "timeline": RateLimit(1500, 900.0), "post": RateLimit(200, 900.0)}

    def __init__(self, source_name: str, config: SourceConfig, secrets: Secrets, *,
                 sleep: Callable[[float], None] = time.sleep,
                 policy: RetryPolicy | None = None) -> None:
        super().__init__(source_name, config, secrets)
        if not isinstance(config, XSourceConfig):
            config = XSourceConfig.model_validate(config.model_dump())
        self.cfg: XSourceConfig = config
        self._parties: dict[str, Party] = {}
        self.partial_errors: list[dict[str, Any]] = []
        self.api = XApi(
            policy=policy or RetryPolicy(
                attempts=6, max_seconds=config.max_rate_limit_wait_seconds + 120, sleep=sleep),
            max_wait=config.max_rate_limit_wait_seconds, sleep=sleep,
            on_call=self.api_calls.add)
        self._reader: tweepy.Client | None = None
        self._writer: tweepy.Client | None = None

    # -- clients ----------------------------------------------------------------------------

    def _session(self, client: tweepy.Client) -> None:
        if self.cfg.base_url:
            verify: bool | str = self.cfg.ca_bundle or True
            mount_base_url(client.session, self.cfg.base_url, verify=verify)

    @property
    def reader(self) -> tweepy.Client:
        """App-only client for reading (bearer token)."""
        if self._reader is None:
            token = self.secrets.require(self.cfg.bearer_token_env, "X API bearer token")
            client = tweepy.Client(bearer_token=token.get_secret_value(),
                                   return_type=requests.Response)
            self._session(client)
            self._reader = client
        return self._reader

    @property
    def writer(self) -> tweepy.Client:
        """User-context client (OAuth 1.0a) that posts as the brand account."""
        if self._writer is None:
            names = [self.cfg.consumer_key_env, self.cfg.consumer_secret_env,
                     self.cfg.access_token_env, self.cfg.access_token_secret_env]
            missing = [n for n in names if self.secrets.get(n) is None]
            if missing:
                raise AuthenticationError(
                    "posting replies to X needs OAuth 1.0a user credentials: set "
                    + ", ".join(missing))
            values = [self.secrets.require(n, "X OAuth credential").get_secret_value()
                      for n in names]
            client = tweepy.Client(consumer_key=values[0], consumer_secret=values[1],
                                   access_token=values[2], access_token_secret=values[3],
                                   return_type=requests.Response)
            self._session(client)
            self._writer = client
        return self._writer

    def http_sessions(self) -> list[requests.Session]:
        """The tweepy clients' sessions (the engine wraps them with its API budget)."""
        return [self.reader.session] + ([self._writer.session] if self._writer else [])

    def classify_request(self, method: str, url: str) -> str:
        """X limits each endpoint in its own window: mentions, search, timeline, post."""
        path = url.split("?", 1)[0]
        if method.upper() == "POST" and path.endswith("/2/tweets"):
            return "post"
        if path.endswith("/mentions"):
            return "mentions"
        return "search" if "/tweets/search/" in path else "timeline"

    # -- fetch ------------------------------------------------------------------------------

    def _streams(self) -> list[tuple[str, str | None]]:
        streams: list[tuple[str, str | None]] = []
        if self.cfg.include_mentions:
            streams.append(("mentions", None))
        streams.extend((f"search:{query}", query) for query in self.cfg.search_queries)
        return streams

    def _page(self, query: str | None, position: StreamCursor) -> dict[str, Any]:
        common: dict[str, Any] = {
            "max_results": self.cfg.page_size, "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS, "expansions": EXPANSIONS, "since_id": position.since_id,
        }
        if query is None:
            route = f"/2/users/{self.cfg.user_id}/mentions"
            return self.api.call(
                "GET /2/users/:id/mentions", "GET", route,
                lambda: self.reader.get_users_mentions(
                    self.cfg.user_id, pagination_token=position.next_token, **common))
        return self.api.call("GET /2/tweets/search/recent", "GET", "/2/tweets/search/recent",
                             lambda: self.reader.search_recent_tweets(
                                 query, next_token=position.next_token, **common))

    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        """Yield one batch per page of every stream; the cursor moves per page (see module doc)."""
        state = XCursor.parse(cursor)
        seen: set[str] = set()
        for key, query in self._streams():
            position = state.streams.get(key, StreamCursor())
            for _ in range(self.cfg.max_pages_per_cycle):
                try:
                    body = self._page(query, position)
                except XRequestError as exc:
                    if exc.code == "400" and position.next_token:
                        # Pagination tokens expire; restart the run from the last since_id.
                        log.warning("X rejected a saved pagination token for %s; restarting", key)
                        position = StreamCursor(since_id=position.since_id)
                        continue
                    if exc.code == "400":
                        raise ConfigError(f"sources.{self.source_name}: {exc}") from exc
                    raise
                batch = self._batch(body, seen)
                meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
                assert isinstance(meta, dict)
                page_newest = meta.get("newest_id") if meta.get("result_count") else None
                newest = _newer(position.newest_id, page_newest)
                next_token = meta.get("next_token")
                if next_token:
                    position = StreamCursor(since_id=position.since_id, next_token=str(next_token),
                                            newest_id=newest)
                else:
                    position = StreamCursor(since_id=_newer(position.since_id, newest))
                state.streams[key] = position
                batch.cursor = state.dump()
                yield batch
                if not next_token:
                    break

    def _batch(self, body: Mapping[str, Any], seen: set[str]) -> FetchBatch:
        batch = FetchBatch()
        includes = body.get("includes") if isinstance(body.get("includes"), Mapping) else {}
        assert isinstance(includes, Mapping)
        users = {str(u["id"]): u for u in includes.get("users") or () if isinstance(u, Mapping)
                 and u.get("id")}
        for error in body.get("errors") or ():
            if isinstance(error, Mapping):
                self._partial_error(error)
        for tweet in body.get("data") or ():
            if not isinstance(tweet, Mapping):
                batch.failures.append(
                    FetchFailure("?", tweet, "X returned a tweet that is not an object"))
                continue
            tweet_id = str(tweet.get("id") or "?")
            if tweet_id in seen:  # the same post can match mentions and a search
                continue
            try:
                interaction = tweet_to_interaction(self.source_name, tweet, users, self.cfg.user_id)
            except (NormalizeError, ValidationError, KeyError, TypeError) as exc:
                message = str(exc) if isinstance(exc, NormalizeError) else (
                    f"tweet {tweet_id} could not be normalised: {exc.__class__.__name__}")
                batch.failures.append(FetchFailure(tweet_id, dict(tweet), message.splitlines()[0]))
                continue
            seen.add(tweet_id)
            if interaction.author is not None:
                self._parties[interaction.author.id] = interaction.author
            batch.interactions.append(interaction)
        return batch

    def _partial_error(self, error: Mapping[str, Any]) -> None:
        """X reports deleted or protected referenced tweets as partial errors; note and go on."""
        kind = str(error.get("type", ""))
        what = ("deleted" if kind.endswith("resource-not-found") else
                "protected" if kind.endswith("not-authorized-for-resource") else "unavailable")
        self.partial_errors.append({"resource_id": error.get("resource_id"), "kind": what,
                                    "detail": str(error.get("detail", ""))[:200]})
        log.info("X: %s %s %s skipped", what, error.get("resource_type", "resource"),
                 error.get("resource_id"))

    def parties(self) -> Mapping[str, Party]:
        """Authors seen during the last fetch, with handle and follower count."""
        return dict(self._parties)

    # -- write-back -------------------------------------------------------------------------

    def plan_writeback(self, conversation: Conversation, context: EmotionalContext,
                       decisions: Decisions) -> list[FieldUpdate]:
        """Nothing: X has no fields to write. Replies go through ``empathy-bridge replies``."""
        return []

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        """Refuse field updates (a plugin planned some): one failed result per record."""
        records = dict.fromkeys(u.record_id for u in updates)
        return [WriteResult(record_id=r, success=False, error_code="unsupported",
                            error="X has no writable fields; post replies through the approval "
                                  "workflow (`empathy-bridge replies`)") for r in records]

    # -- replies (used by empathy_bridge.social) --------------------------------------------

    def thread_url(self, interaction: Interaction) -> str:
        """Public link of the post ``interaction``."""
        url = interaction.native_fields.get("url")
        return str(url) if isinstance(url, str) else tweet_url(None, interaction.native_id)

    def find_reply(self, in_reply_to: str, text: str) -> PostedReply | None:
        """Our own recent reply to ``in_reply_to`` with this text, if X already has it.

        Reads the brand's timeline (``GET /2/users/{id}/tweets``, newest first, up to 3 pages):
        the check that makes a retried post after a lost answer safe.
        """
        return self._find_reply(in_reply_to, text, self.api.call)

    def _find_reply(self, in_reply_to: str, text: str,
                    call: Callable[..., dict[str, Any]]) -> PostedReply | None:
        token: str | None = None
        wanted = comparable_text(text)
        for _ in range(3):
            body = call(
                "GET /2/users/:id/tweets", "GET", f"/2/users/{self.cfg.user_id}/tweets",
                lambda t=token: self.reader.get_users_tweets(
                    self.cfg.user_id, max_results=100, pagination_token=t,
                    tweet_fields=["id", "text", "referenced_tweets", "created_at"]))
            for tweet in body.get("data") or ():
                refs = tweet.get("referenced_tweets") or ()
                replies_to = any(r.get("type") == "replied_to" and str(r.get("id")) == in_reply_to
                                 for r in refs)
                if replies_to and comparable_text(str(tweet.get("text", ""))) == wanted:
                    return PostedReply(native_id=str(tweet["id"]),
                                       url=tweet_url(self.cfg.handle, str(tweet["id"])))
            meta = body.get("meta") or {}
            token = meta.get("next_token") if isinstance(meta, dict) else None
            if not token:
                return None
        return None

    def post_reply(self, in_reply_to: str, text: str, *, draft_id: str,
                   reconcile: bool = False) -> PostedReply:
        """Post ``text`` as a reply to tweet ``in_reply_to`` exactly once.

        A 429 waits for the window (nothing was posted). After an ambiguous failure (5xx, lost
        connection) the next attempt first looks for the reply on our timeline, so a retry never
        posts twice; pass ``reconcile=True`` when an earlier run may have posted already.

        :raises XRequestError: X refused the reply (deleted or protected tweet, duplicate text).
        """
        check = [reconcile]

        def attempt() -> PostedReply:
            if check[0]:
                found = self._find_reply(in_reply_to, text, self.api.once)
                if found is not None:
                    log.info("draft %s was already posted as %s; not posting again", draft_id,
                             found.native_id)
                    return found
            try:
                body = self.api.once("POST /2/tweets", "POST", "/2/tweets",
                                     lambda: self.writer.create_tweet(
                                         text=text, in_reply_to_tweet_id=in_reply_to),
                                     write=True)
            except AmbiguousWriteError:
                check[0] = True
                raise
            data = body.get("data") or {}
            if not isinstance(data, dict) or not data.get("id"):
                raise XRequestError("X accepted the reply but returned no tweet id", code="201")
            return PostedReply(native_id=str(data["id"]),
                               url=tweet_url(self.cfg.handle, str(data["id"])))

        return self.api.policy.call(attempt)

    def close(self) -> None:
        """Close the HTTP sessions."""
        for client in (self._reader, self._writer):
            if client is not None:
                client.session.close()


def cursor_summary(cursor: str | None) -> dict[str, Any]:
    """The cursor as a dict (for status output)."""
    return XCursor.parse(cursor).model_dump()
