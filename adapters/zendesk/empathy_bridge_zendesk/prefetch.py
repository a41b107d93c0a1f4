"""Export pages fetched one step ahead, so Zendesk's answer time overlaps our own work.

A sync spends part of its fetch time waiting for the next export page while it has nothing
else to do; the engine then analyses, stores and writes the batch while the network is idle.
:class:`PagePrefetch` lets the reader ask for a page it is certain to read next (the ticket
export's ``after_url``, the events export's ``next_page`` inside a window, the ratings'
next link) before it needs it: one background thread sends that GET and decodes the JSON, and
nothing else. The reader's own
:meth:`PagePrefetch.get` then takes the answer, under the same retry policy and with the same
error translation as :meth:`ZendeskHttp.get`: a failed prefetch is the policy's first attempt,
so HTTP errors, 429s with ``Retry-After`` and API-budget errors reach the caller as before and
any retry runs in the caller's thread.

Only URLs the reader will certainly request are started (a cursor moves only forward), so no
call is wasted, and at most one page per export is held ahead, so memory stays flat. Cursor
positions are untouched: a page's cursor still travels with its batch. :meth:`close` waits for
the in-flight GET and stops the thread, so a closed fetch leaves no thread behind.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from empathy_bridge_zendesk.transport import ZendeskHttp

__all__ = ["PagePrefetch"]

log = logging.getLogger("empathy_bridge_zendesk")

_Key = tuple[str, tuple[tuple[str, str], ...]]


def _key(url: str, params: Mapping[str, Any] | None) -> _Key:
    return url, tuple(sorted((str(k), str(v)) for k, v in (params or {}).items()))


class PagePrefetch:
    """GETs started ahead in one background thread; at most ``limit`` pending at once: one
    per export read (tickets, ticket events, satisfaction ratings); ``0`` starts none, so
    every :meth:`get` is a plain :meth:`ZendeskHttp.get`."""

    def __init__(self, http: ZendeskHttp, limit: int = 3) -> None:
        self.http = http
        self.limit = limit
        self._pending: dict[_Key, Future[Any]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def start(self, url: str, params: Mapping[str, Any] | None = None) -> None:
        """Begin fetching ``url`` now; a later :meth:`get` of the same URL takes the answer."""
        key = _key(url, params)
        if key in self._pending or len(self._pending) >= self.limit:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix="zendesk-prefetch")
        http = self.http
        query = dict(params) if params else None
        # The thread only sends the GET and decodes it: no retry, no shared reader state.
        self._pending[key] = self._pool.submit(http._send, http.session.get, url, params=query)

    def peek(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """The prefetched page at ``url`` if it has already arrived intact, else ``None``;
        it stays for :meth:`get` (read it, do not change it)."""
        future = self._pending.get(_key(url, params))
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result()

    def get(self, url: str, what: str, params: Mapping[str, Any] | None = None) -> Any:
        """The decoded page at ``url``: the prefetched answer if one was started, else a GET."""
        future = self._pending.pop(_key(url, params), None)
        if future is None:
            return self.http.get(url, what, params)
        first: list[Future[Any]] = [future]
        http = self.http

        def attempt() -> Any:
            if first:
                # Re-raises the prefetch's own exception, translated by ``call`` like any other.
                return first.pop().result()
            return http._send(http.session.get, url, params=params)

        return http.call(what, attempt)

    def close(self) -> None:
        """Drop unread pages, wait for a GET in flight and stop the thread."""
        pending, self._pending = self._pending, {}
        for future in pending.values():
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for future in pending.values():
            if not future.cancelled() and future.exception() is not None:
                log.debug("an unread prefetched page had failed: %s", future.exception())
