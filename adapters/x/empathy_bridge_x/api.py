"""Calls to X API v2 through tweepy, with rate limits honoured and errors translated.

Every call goes through :meth:`XApi.call`, which

- waits pre-emptively when the last answer of the same endpoint said ``x-rate-limit-remaining: 0``
  (until ``x-rate-limit-reset``), instead of spending a request on a certain 429;
- turns a 429 into :class:`RetriableError` with ``retry_after`` = seconds to the reset, so the
  shared :class:`~empathy_bridge.retry.RetryPolicy` waits for the window rather than failing;
- turns a reset further away than ``max_wait`` into :class:`QuotaExhaustedError` (pause the cycle);
- translates every tweepy / requests error into :mod:`empathy_bridge.errors` at this boundary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from empathy_bridge.errors import (
    AuthenticationError,
    FatalError,
    QuotaExhaustedError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.retry import RetryPolicy

__all__ = ["AmbiguousWriteError", "RateWindow", "XApi", "XRequestError"]

log = logging.getLogger("empathy_bridge_x.api")


class XRequestError(SkippableError):
    """X refused one request (400/403/404); ``code`` is the HTTP status, ``detail`` X's words."""


class AmbiguousWriteError(RetriableError):
    """A write may or may not have reached X (5xx, dropped connection): check before retrying."""


@dataclass
class RateWindow:
    """What X last said about one endpoint's 15-minute window."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None


def _detail(response: requests.Response | None) -> str:
    """X's own one-line explanation from an error body (problem ``detail`` or first error)."""
    if response is None:
        return "no response"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message") or errors[0].get("detail")
            if message:
                return str(message)[:300]
        for key in ("detail", "title"):
            if body.get(key):
                return str(body[key])[:300]
    return f"HTTP {response.status_code}"


class XApi:
    """Rate-limit aware calls through one or two tweepy clients.

    :param policy: the shared retry policy (its ``max_seconds`` should cover a 15-minute window).
    :param max_wait: longest wait for a window reset, in seconds; beyond it the cycle pauses.
    :param sleep: sleep function (tests pass a recorder).
    :param on_call: called with ``(method, route)`` for every request actually sent.
    """

    def __init__(self, *, policy: RetryPolicy, max_wait: float,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time,
                 on_call: Callable[[str, str], None] | None = None) -> None:
        self.policy = policy
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock
        self.on_call = on_call
        self.windows: dict[str, RateWindow] = {}
        self._lock = threading.Lock()
        self.preemptive_waits = 0
        self.throttled = 0

    # -- rate-limit bookkeeping -------------------------------------------------------------

    def _record(self, key: str, response: requests.Response | None) -> RateWindow | None:
        if response is None:
            return None
        headers = response.headers

        def number(name: str) -> float | None:
            value = headers.get(name)
            try:
                return float(value) if value is not None else None
            except ValueError:
                return None

        limit, remaining, reset = (number("x-rate-limit-limit"), number("x-rate-limit-remaining"),
                                   number("x-rate-limit-reset"))
        if limit is None and remaining is None and reset is None:
            return None
        window = RateWindow(int(limit) if limit is not None else None,
                            int(remaining) if remaining is not None else None, reset)
        with self._lock:
            self.windows[key] = window
        return window

    def _seconds_to_reset(self, reset: float | None) -> float:
        if reset is None:
            return 60.0  # X always sends the header; if a proxy strips it, wait a minute
        return max(1.0, reset - self.clock() + 1.0)

    def _too_long(self, seconds: float, reset: float | None, what: str) -> QuotaExhaustedError:
        resume = datetime.fromtimestamp(reset if reset else self.clock() + seconds, UTC)
        return QuotaExhaustedError(
            f"X rate limit for {what} resets in {seconds:.0f}s, beyond max_rate_limit_wait_seconds"
            f" ({self.max_wait:.0f}s): paused until {resume:%Y-%m-%d %H:%M:%S} UTC",
            resume_at=resume)

    def _wait_if_exhausted(self, key: str) -> None:
        with self._lock:
            window = self.windows.get(key)
        if window is None or window.remaining is None or window.remaining > 0:
            return
        seconds = self._seconds_to_reset(window.reset)
        if window.reset is not None and window.reset <= self.clock():
            return
        if seconds > self.max_wait:
            raise self._too_long(seconds, window.reset, key)
        log.info("X rate window for %s is spent; waiting %.0fs for the reset", key, seconds)
        self.preemptive_waits += 1
        self.sleep(seconds)

    # -- the one call path ------------------------------------------------------------------

    def call(self, key: str, method: str, route: str,
             send: Callable[[], requests.Response], *, write: bool = False) -> dict[str, Any]:
        """Send one request (under the retry policy) and return its JSON body.

        :param key: rate-limit bucket, e.g. ``"GET /2/users/:id/mentions"``.
        :param write: a write is never blindly retried after an ambiguous failure; an
            :class:`AmbiguousWriteError` tells the caller to reconcile first.
        """
        return self.policy.call(lambda: self.once(key, method, route, send, write=write))

    def once(self, key: str, method: str, route: str,
             send: Callable[[], requests.Response], *, write: bool = False) -> dict[str, Any]:
        """One attempt of :meth:`call`, for callers that run their own retry loop."""
        self._wait_if_exhausted(key)
        if self.on_call is not None:
            self.on_call(method, route)
        try:
            response = send()
        except tweepy.TooManyRequests as exc:
            self.throttled += 1
            window = self._record(key, exc.response)
            reset = window.reset if window else (float(exc.reset_time) if exc.reset_time else None)
            seconds = self._seconds_to_reset(reset)
            if seconds > self.max_wait:
                raise self._too_long(seconds, reset, key) from exc
            raise RetriableError(f"X answered 429 Too Many Requests for {key}; waiting "
                                 f"{seconds:.0f}s for the window to reset",
                                 retry_after=seconds) from exc
        except tweepy.Unauthorized as exc:
            raise AuthenticationError(
                f"X rejected the credentials for {key} (401: {_detail(exc.response)}): check "
                "X_BEARER_TOKEN / the OAuth variables named in the source's *_env keys") from exc
        except tweepy.Forbidden as exc:
            self._record(key, exc.response)
            raise XRequestError(f"X refused {key} (403): {_detail(exc.response)}",
                                code="403") from exc
        except tweepy.NotFound as exc:
            raise XRequestError(f"X found nothing at {key} (404): {_detail(exc.response)}",
                                code="404") from exc
        except tweepy.BadRequest as exc:
            raise XRequestError(f"X rejected {key} as invalid (400): {_detail(exc.response)}",
                                code="400") from exc
        except tweepy.TwitterServerError as exc:
            message = (f"X server error on {key} ({exc.response.status_code}): "
                       f"{_detail(exc.response)}")
            if write:
                raise AmbiguousWriteError(message) from exc
            raise RetriableError(message) from exc
        except tweepy.HTTPException as exc:
            raise FatalError(f"X answered {exc.response.status_code} for {key}: "
                             f"{_detail(exc.response)}") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            # The request may have been processed before the connection died.
            message = f"connection to X failed during {key}: {exc.__class__.__name__}"
            if write:
                raise AmbiguousWriteError(message) from exc
            raise RetriableError(message) from exc
        self._record(key, response)
        try:
            body = response.json()
        except ValueError as exc:
            raise RetriableError(f"X answered {key} with a body that is not JSON") from exc
        if not isinstance(body, dict):
            raise RetriableError(f"X answered {key} with unexpected JSON ({type(body).__name__})")
        return body
