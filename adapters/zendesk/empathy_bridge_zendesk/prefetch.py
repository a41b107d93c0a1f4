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
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from empathy_bridge_zendesk.transport import ZendeskHttp, decode_body

__all__ = ["PagePrefetch"]

log = logging.getLogger("empathy_bridge_zendesk")

_Key = tuple[str, tuple[tuple[str, str], ...]]


def _key(url: str, params: Mapping[str, Any] | None) -> _Key:
    return url, tuple(sorted((str(k), str(v)) for k, v in (params or {}).items()))


#: Turns an answer's bytes into the page the reader works on.
Decoder = Callable[[bytes], Any]


class PagePrefetch:
    """GETs started ahead in one background thread; at most ``limit`` pending at once: one
    per export read (tickets, ticket events, satisfaction ratings); ``0`` starts none, so
    every :meth:`get` is a plain GET.

    ``decoders`` maps a URL path ending (``/incremental/ticket_events.json``) to the decoder of
    its pages, used whether the page was prefetched or not; other pages decode as
    :meth:`ZendeskHttp.get` does.
    """

    def __init__(self, http: ZendeskHttp, limit: int = 3,
                 decoders: Mapping[str, Decoder] | None = None) -> None:
        self.http = http
        self.limit = limit
        self.decoders = dict(decoders or {})
        self._pending: dict[_Key, Future[Any]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def _decoder(self, url: str) -> Decoder | None:
        if self.decoders:
            path = urlsplit(url).path
            for ending, decoder in self.decoders.items():
                if path.endswith(ending):
                    return decoder
        return None

    def _fetch(self, url: str, params: Mapping[str, Any] | None, decoder: Decoder) -> Any:
        http = self.http
        return decoder(http._send_raw(http.session.get, url, params=params))

    def start(self, url: str, params: Mapping[str, Any] | None = None) -> None:
        """Begin fetching ``url`` now; a later :meth:`get` of the same URL takes the answer."""
        key = _key(url, params)
        if key in self._pending or len(self._pending) >= self.limit:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix="zendesk-prefetch")
        query = dict(params) if params else None
        # The thread only sends the GET and decodes it: no retry, no shared reader state.
        self._pending[key] = self._pool.submit(self._fetch, url, query,
                                               self._decoder(url) or decode_body)

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
        decoder = self._decoder(url)
        if future is None and decoder is None:
            return self.http.get(url, what, params)
        first: list[Future[Any]] = [future] if future is not None else []

        def attempt() -> Any:
            if first:
                # Re-raises the prefetch's own exception, translated by ``call`` like any other.
                return first.pop().result()
            return self._fetch(url, params, decoder or decode_body)

        return self.http.call(what, attempt)

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
