"""Ticket-events pages decoded to structs give exactly what the plain-JSON path gives."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from empathy_bridge.adapter import FetchBatch
from empathy_bridge_zendesk.export import ExportReader, decode_events_page
from empathy_bridge_zendesk.normalize import Comment, TicketEvent

#: Values a hostile or odd payload may put anywhere.
_ODD: list[Any] = [None, 0, -1, 7, 2**70, 1.5, True, False, "", "12", "x", "Comment", "Create",
                   "2026-11-27T10:00:00Z", [], [1], {}, {"channel": "web"}]


def _maybe(rng: random.Random, good: Any) -> Any:
    return good if rng.random() < 0.75 else rng.choice(_ODD)


def _child(rng: random.Random, n: int) -> dict[str, Any]:
    child: dict[str, Any] = {
        "id": _maybe(rng, 1000 + n), "type": _maybe(rng, "Comment"),
        "event_type": _maybe(rng, "Comment"), "author_id": _maybe(rng, 50 + n % 3),
        "body": _maybe(rng, f"body {n}"), "plain_body": _maybe(rng, f"plain {n}"),
        "html_body": _maybe(rng, f"<p>html {n}</p>"), "public": _maybe(rng, n % 2 == 0),
        "created_at": _maybe(rng, "2026-11-27T10:00:00Z"),
        "via": rng.choice([None, {}, {"channel": _maybe(rng, "email"), "source": {"from": {}}}]),
        "attachments": [], "metadata": {"system": {}},
    }
    return {k: v for k, v in child.items() if rng.random() < 0.9}  # keys go missing too


def _page(rng: random.Random, shape_errors: bool) -> dict[str, Any]:
    events = []
    for n in range(40):
        event: dict[str, Any] = {
            "id": _maybe(rng, n), "ticket_id": _maybe(rng, 300 + n % 7),
            "timestamp": _maybe(rng, 1_800_000_000 + n), "created_at": _maybe(rng, "2026-11-27"),
            "event_type": _maybe(rng, "Create"), "via": {"channel": _maybe(rng, "api")},
            "child_events": [_child(rng, n * 3 + k) for k in range(rng.randint(0, 3))],
            "merged_ticket_ids": [],
        }
        events.append({k: v for k, v in event.items() if rng.random() < 0.93})
    if shape_errors:
        events[rng.randrange(len(events))]["via"] = rng.choice(["email", 3, [1]])
    return {"ticket_events": events, "next_page": None, "end_time": 1_800_000_100,
            "end_of_stream": True, "count": len(events)}


def _take(page: Any) -> tuple[list[Comment], list[tuple[str, Any, str]]]:
    out: dict[int, dict[int, Comment]] = {}
    batch = FetchBatch()
    try:
        ExportReader._take_comments(page, 1_800_000_000, 1_800_000_050, out, batch)
    except (ValueError, TypeError, OverflowError) as exc:  # unreadable timestamps stop both
        return [], [("raised", type(exc).__name__, str(exc))]
    comments = [c for by_id in out.values() for c in by_id.values()]
    return comments, [(f.native_id, f.payload, f.error) for f in batch.failures]


def test_struct_and_plain_json_pages_give_the_same_comments_and_failures() -> None:
    rng = random.Random(17)
    typed_pages = 0
    for round_ in range(300):
        body = json.dumps(_page(rng, shape_errors=round_ % 5 == 0)).encode()
        page = decode_events_page(body)
        events = page["ticket_events"]
        typed_pages += bool(events) and isinstance(events[0], TicketEvent)
        assert _take(page) == _take(json.loads(body))
    assert typed_pages > 150  # the struct path is really exercised, and so is the fallback
    assert typed_pages < 300


def test_pages_of_another_shape_or_not_json_decode_as_before() -> None:
    for body in (b'{"ticket_events": "none"}', b'[1, 2]', b'{"ticket_events": [1]}'):
        assert decode_events_page(body) == json.loads(body)
    assert decode_events_page(b"") == {}
    empty = decode_events_page(b"{}")  # the four keys the reader asks for, all unset
    assert all(empty.get(key) is None for key in
               ("ticket_events", "next_page", "end_time", "end_of_stream"))
    with pytest.raises(ValueError):
        decode_events_page(b"{not json")
