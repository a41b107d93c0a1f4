"""API budgets: a token bucket per (tenant, platform, endpoint class), so a run sees no 429s.

Buckets are sized from the plan's published limits (:class:`RateLimit`, declared by adapters in
``Adapter.plan_limits``) and corrected from what the platform reports on every answer:

- ``x-rate-limit-remaining`` / ``ratelimit-remaining`` (Zendesk, X): the bucket never holds more
  tokens than the platform says remain;
- ``x-rate-limit-reset`` (X, unix seconds) / ``ratelimit-reset`` (Zendesk, seconds) and
  ``Retry-After``: when nothing remains the bucket is closed until the reset;
- ``Sforce-Limit-Info: api-usage=USED/MAX`` (Salesforce's daily allowance).

The bucket is installed *under* a vendor client by wrapping the transport adapters mounted on its
:class:`requests.Session` (:func:`install_budget`), so zenpy, simple-salesforce and tweepy are
throttled without knowing it. A wait longer than ``max_wait`` raises
:class:`~empathy_bridge.errors.QuotaExhaustedError`, which pauses the cycle until the reset
instead of holding a worker for hours.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from empathy_bridge.errors import QuotaExhaustedError

# BudgetedTransport and install_budget are importable from here too (see __getattr__ below).
__all__ = [
    "ApiBudget",
    "RateLimit",
    "TokenBucket",
    "default_classify",
]

log = logging.getLogger("empathy_bridge.budget")

#: Maps (HTTP method, URL) to an endpoint class name such as ``"read"`` or ``"write"``.
Classify = Callable[[str, str], str]

# A reset value above this is a unix timestamp (X), below it a number of seconds (Zendesk).
_EPOCH_THRESHOLD = 1_000_000_000
# Tokens a closed bucket holds for the moment it reopens: one request goes out right at the
# reset, and its answer's headers tell how much the new window holds (no pacing blind).
_PROBE = 1.0
_SFORCE_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class RateLimit:
    """A plan limit: at most ``requests`` per ``per_seconds`` for one endpoint class."""

    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError("a rate limit needs requests >= 1 and per_seconds > 0")


class TokenBucket:
    """A thread-safe token bucket that also honours the platform's own accounting.

    It is sized so that it cannot exceed the limit even against a *sliding* window: the burst
    plus what refills during one window stays at ``safety`` times the limit.

    :param limit: the plan limit.
    :param safety: share of the limit we allow ourselves (headroom for other clients and clock
        skew between us and the platform).
    :param probe: start with a single token until a platform answer sizes the bucket; ``False``
        for budgets no platform reports on (e.g. a hosted analyzer's requests per minute).
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        safety: float = 0.9,
        clock: Callable[[], float] = time.monotonic,
        probe: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        #: Monotonic time until which no token is issued (0: open).
        self._closed_until = 0.0
        self.resize(limit, safety=safety)
        # Start with a single probe, not a full burst: another process (a restarted daemon)
        # may have used this window already; the first answer's headers size the bucket.
        # A budget of our own (no platform headers to learn from) starts with its full burst.
        self._tokens = min(self.capacity, _PROBE) if probe else self.capacity

    def resize(self, limit: RateLimit, *, safety: float = 0.9) -> None:
        """Adopt a new limit (e.g. the platform reported a different one than the plan)."""
        allowed = max(1.0, limit.requests * safety)
        self.limit = limit
        # A small burst lets a page of reads go out at once; the rest is paced evenly.
        self.capacity = max(1.0, min(allowed * 0.1, 50.0))
        self.rate = max(allowed - self.capacity, 1.0) / limit.per_seconds
        self._updated = self._clock()
        self._tokens = min(getattr(self, "_tokens", self.capacity), self.capacity)

    def _refill(self, now: float) -> None:
        if now < self._closed_until:
            self._updated = now
            return
        if self._tokens < self.capacity:
            # Above capacity only when the platform said so (see correct); never refill there.
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take one token, returning how long the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            start = max(now, self._closed_until)
            self._tokens -= 1.0
            if self._tokens >= 0:
                return start - now
            # The debt is paid back by refill: callers queue up fairly in reservation order.
            return start - now + (-self._tokens) / self.rate

    def refund(self) -> None:
        """Give back a reserved token that will not be used."""
        with self._lock:
            self._tokens += 1.0

    def correct(self, remaining: int | None, reset_in: float | None) -> None:
        """Align with the platform's own count of what is left in its current window.

        The platform's ``remaining`` wins in both directions: it also counts other clients of
        the same account, and it lets a fresh process use a window it has not touched yet.
        At (almost) nothing left, the bucket closes until the reset.
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            if remaining is None:
                return
            # One request of headroom: this answer may be a request or two old already.
            self._tokens = float(remaining) - 1.0
            if remaining <= 1 and reset_in is not None:
                self._closed_until = max(self._closed_until, now + reset_in)
                self._tokens = min(self._tokens, 0.0) + _PROBE

    def close_for(self, seconds: float) -> None:
        """Stop issuing tokens for ``seconds`` (a 429 with ``Retry-After``)."""
        with self._lock:
            now = self._clock()
            self._closed_until = max(self._closed_until, now + seconds)
            self._tokens = min(self._tokens, 0.0) + _PROBE

    @property
    def tokens(self) -> float:
        """Tokens available now (negative: reserved ahead)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens


class ApiBudget:
    """All buckets of a process, keyed by (tenant, platform, endpoint class).

    :param max_wait: longest wait for a token before the cycle is paused with
        :class:`QuotaExhaustedError` (a daily allowance is not worth blocking on).
    :param sleep: the sleep function (tests pass a recorder).
    """

    def __init__(
        self,
        *,
        max_wait: float = 120.0,
        safety: float = 0.9,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_wait = max_wait
        self.safety = safety
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._plans: dict[tuple[str, str], Mapping[str, RateLimit]] = {}
        self.waited = 0.0
        self.throttled = 0

    def set_plan(self, tenant: str, platform: str, limits: Mapping[str, RateLimit]) -> None:
        """Declare the plan limits of a platform for a tenant (endpoint class -> limit)."""
        with self._lock:
            self._plans[(tenant, platform)] = dict(limits)

    def bucket(self, tenant: str, platform: str, endpoint: str) -> TokenBucket | None:
        """The bucket of an endpoint class (``None``: no limit known yet, not throttled)."""
        key = (tenant, platform, endpoint)
        with self._lock:
            found = self._buckets.get(key)
            if found is None:
                plan = self._plans.get((tenant, platform), {})
                limit = plan.get(endpoint) or plan.get("default")
                if limit is None:
                    return None
                found = self._buckets[key] = TokenBucket(
                    limit, safety=self.safety, clock=self._clock
                )
            return found

    def acquire(self, tenant: str, platform: str, endpoint: str) -> float:
        """Wait for a token; returns the seconds waited.

        :raises QuotaExhaustedError: the wait would exceed ``max_wait``.
        """
        bucket = self.bucket(tenant, platform, endpoint)
        if bucket is None:
            return 0.0
        wait = bucket.reserve()
        if wait > self.max_wait:
            bucket.refund()
            resume = datetime.now(UTC) + timedelta(seconds=wait)
            raise QuotaExhaustedError(
                f"{platform} {endpoint} budget of tenant {tenant!r} is spent", resume_at=resume
            )
        if wait > 0:
            self.waited += wait
            self._sleep(wait)
        return wait

    def observe(
        self, tenant: str, platform: str, endpoint: str, status: int, headers: Mapping[str, str]
    ) -> None:
        """Correct the bucket from an answer's rate-limit headers (and count 429s)."""
        limit, remaining, reset_in = parse_rate_headers(headers, self._clock_wall())
        key = (tenant, platform, endpoint)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None and limit is not None:
                # No plan limit declared: learn it from the platform. The first answer's reset
                # is at most one window away (60 s when the platform does not say).
                window = reset_in if reset_in and reset_in >= 1.0 else 60.0
                bucket = self._buckets[key] = TokenBucket(
                    RateLimit(limit, window), safety=self.safety, clock=self._clock
                )
        if bucket is None:
            return
        if limit is not None and limit != bucket.limit.requests:
            bucket.resize(RateLimit(limit, bucket.limit.per_seconds), safety=self.safety)
        if status == 429:
            self.throttled += 1
            retry_after = _seconds(headers.get("retry-after"), self._clock_wall())
            bucket.close_for(retry_after if retry_after is not None else reset_in or 1.0)
            log.warning(
                "%s %s answered 429 for tenant %s; budget closed", platform, endpoint, tenant
            )
            return
        bucket.correct(remaining, reset_in)

    @staticmethod
    def _clock_wall() -> float:
        return time.time()

    def state(self) -> dict[str, dict[str, Any]]:
        """Per bucket: the limit and the tokens available now (for status and metrics)."""
        with self._lock:
            items = list(self._buckets.items())
        return {
            "/".join(key): {
                "limit": b.limit.requests,
                "per_seconds": b.limit.per_seconds,
                "tokens": round(b.tokens, 2),
            }
            for key, b in items
        }


def _seconds(value: str | None, now_wall: float) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number > _EPOCH_THRESHOLD:
        return max(number - now_wall, 0.0)
    return max(number, 0.0)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def parse_rate_headers(
    headers: Mapping[str, str], now_wall: float
) -> tuple[int | None, int | None, float | None]:
    """(limit, remaining, seconds until reset) from any platform's rate-limit headers.

    ``headers`` must be case-insensitive (``requests`` response headers are).
    """
    limit = _int(
        headers.get("x-rate-limit-limit")
        or headers.get("ratelimit-limit")
        or headers.get("x-rate-limit")
    )
    remaining = _int(headers.get("x-rate-limit-remaining") or headers.get("ratelimit-remaining"))
    reset_in = _seconds(
        headers.get("x-rate-limit-reset") or headers.get("ratelimit-reset"), now_wall
    )
    sforce = headers.get("sforce-limit-info")
    if sforce:
        match = _SFORCE_USAGE.search(sforce)
        if match:
            used, total = int(match.group(1)), int(match.group(2))
            # A daily allowance: the bucket's own window stays, only "remaining" is trusted.
            remaining = total - used if remaining is None else min(remaining, total - used)
    return limit, remaining, reset_in


def default_classify(method: str, url: str) -> str:
    """``"read"`` for GET/HEAD, ``"write"`` otherwise."""
    return "read" if method.upper() in ("GET", "HEAD", "OPTIONS") else "write"


def __getattr__(name: str) -> Any:
    """:class:`BudgetedTransport` and :func:`install_budget`, from :mod:`.budget_transport`.

    They subclass and wrap ``requests`` classes, so they live apart and load on first use: every
    start imports this module (adapters declare :class:`RateLimit` plans), few send anything.
    """
    if name in ("BudgetedTransport", "install_budget"):
        from empathy_bridge import budget_transport

        return getattr(budget_transport, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
