"""The orphan buffer: comments waiting for their ticket, in memory up to a limit, then on disk."""

from __future__ import annotations

from empathy_bridge_zendesk.normalize import Comment
from empathy_bridge_zendesk.orphans import OrphanBuffer


def _comment(cid: int, tid: int, ts: int, body: str | None = "hello") -> Comment:
    return Comment(id=cid, ticket_id=tid, author_id=7, public=cid % 2 == 0, body=body,
                   html_body=None if body else "<p>hi</p>", channel="email",
                   created_at="2026-11-01T10:00:00Z", timestamp=ts, is_description=cid == 1)


def test_comments_come_back_whole_from_memory_and_disk() -> None:
    buffer = OrphanBuffer(memory_max=3)
    first = {c.id: c for c in (_comment(1, 10, 500), _comment(2, 10, 520, body=None))}
    buffer.hold(10, first)
    buffer.hold(11, {3: _comment(3, 11, 400)})
    buffer.hold(12, {4: _comment(4, 12, 450)})  # the fourth comment spills all four
    assert buffer.spilled == 4 and len(buffer) == 4
    buffer.hold(10, {5: _comment(5, 10, 600)})  # a later comment of ticket 10, in memory
    assert buffer.spilled == 4 and len(buffer) == 5
    assert buffer.oldest() == 400
    assert buffer.ticket_ids() == [10, 11, 12]

    taken = buffer.take_many([10, 99])
    assert set(taken) == {10}
    assert taken[10] == {**first, 5: _comment(5, 10, 600)}  # every field survives the disk
    assert len(buffer) == 2 and buffer.spilled == 2
    assert buffer.take_many([10]) == {}  # taken once only
    assert buffer.oldest() == 400
    buffer.take_many([11])
    assert buffer.oldest() == 450
    buffer.close()
    assert len(buffer) == 0 and buffer.oldest() is None and buffer.ticket_ids() == []


def test_nothing_touches_disk_under_the_limit() -> None:
    buffer = OrphanBuffer(memory_max=10)
    buffer.hold(1, {1: _comment(1, 1, 5)})
    assert buffer.spilled == 0 and buffer.take_many([1]) == {1: {1: _comment(1, 1, 5)}}
    assert buffer.oldest() is None


def test_spill_file_keeps_a_small_page_cache() -> None:
    # The spill file only exists on large backlogs: SQLite's default 2 MB cache would add to
    # the sync's peak there and nowhere else.
    buffer = OrphanBuffer(memory_max=0)
    buffer.hold(10, {1: _comment(1, 10, 500)})
    assert buffer.spilled == 1
    assert buffer._connection().execute("PRAGMA cache_size").fetchone()[0] == -256
    buffer.close()
