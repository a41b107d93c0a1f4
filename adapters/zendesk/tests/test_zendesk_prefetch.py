"""Export pages fetched one step ahead: nothing lost, no call wasted, errors as before, no
thread left behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from empathy_bridge.errors import SkippableError
from empathy_bridge_zendesk.adapter import ZendeskAdapter
from empathy_bridge_zendesk.prefetch import PagePrefetch
from empathy_bridge_zendesk.sandbox import ZendeskSandbox


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("zendesk-prefetch")]


def _live_comment_ids(sandbox: ZendeskSandbox) -> set[str]:
    return {str(c["id"]) for tid, comments in sandbox.data.comments.items()
            if sandbox.data.tickets[tid]["status"] != "deleted" for c in comments}


def test_a_slow_consumer_gets_every_comment_with_one_call_per_page(
        start_sandbox: Callable[..., ZendeskSandbox],
        make_adapter: Callable[..., ZendeskAdapter]) -> None:
    sandbox = start_sandbox(records=800, seed=5)
    assert len(sandbox.data.ratings) > 100  # more than one ratings page
    adapter = make_adapter(sandbox, per_page=150)
    batches = []
    for batch in adapter.fetch(None):
        batches.append(batch)
        time.sleep(0.02)  # like the engine's work on a batch: prefetched pages arrive meanwhile
    got = {i.native_id for b in batches for i in b.interactions}
    assert {k for k in got if not k.startswith("csat-")} == _live_comment_ids(sandbox)
    calls = adapter.api_calls.snapshot()
    # One ticket-export call per page (the final batch has no page of its own).
    pages = sum(b.cursor is not None for b in batches) - 1
    assert calls["GET /api/v2/incremental/tickets/cursor.json"] == pages
    # The same calls, endpoint by endpoint, as a fetch without prefetching: none wasted.
    plain = make_adapter(sandbox, per_page=150, prefetch_pages=False)
    assert {i.native_id for b in plain.fetch(None) for i in b.interactions} == got
    assert plain.api_calls.snapshot() == calls
    assert _prefetch_threads() == []


def test_closing_the_fetch_midway_stops_the_prefetch_thread(
        start_sandbox: Callable[..., ZendeskSandbox],
        make_adapter: Callable[..., ZendeskAdapter]) -> None:
    sandbox = start_sandbox(records=150, seed=5)
    adapter = make_adapter(sandbox, per_page=20, satisfaction_ratings=False)
    batches = adapter.fetch(None)
    next(batches)
    assert _prefetch_threads(), "the next page should be on its way"
    batches.close()
    assert _prefetch_threads() == []


def test_a_failed_prefetch_raises_like_a_direct_get(
        sandbox: ZendeskSandbox, make_adapter: Callable[..., ZendeskAdapter]) -> None:
    http = make_adapter(sandbox).http
    missing = http.url("/tickets/987654321.json")
    with pytest.raises(SkippableError) as direct:
        http.get(missing, "reading a ticket")
    pages = PagePrefetch(http)
    try:
        pages.start(missing)
        with pytest.raises(SkippableError) as prefetched:
            pages.get(missing, "reading a ticket")
    finally:
        pages.close()
    assert str(prefetched.value) == str(direct.value)
    assert _prefetch_threads() == []
