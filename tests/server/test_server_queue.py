"""The webhook queue's own file, group commit, the upgrade path and the worker process."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from empathy_bridge.engine import Bridge
from empathy_bridge.server import tables as t
from empathy_bridge.server.queue import EventQueue, NewEvent, ReplayError
from empathy_bridge.server.worker_process import WorkerProcess
from empathy_bridge.server.writer import QueueWriter

LATER = datetime.now(UTC) + timedelta(hours=1)


def _event(key: str, payload: str = "{}") -> NewEvent:
    return NewEvent(platform="zendesk", source="desk_a", tenant="acme", payload=payload,
                    replay_key=key, replay_until=LATER)


def test_queue_is_a_file_of_its_own_next_to_a_sqlite_store(bridge: Bridge,
                                                          tmp_path: Path) -> None:
    queue = EventQueue.open(bridge)
    try:
        event_id = queue.enqueue_many([_event("a")])[0]
        assert Path(queue.engine.url.database or "") == tmp_path / "store-webhooks.db"
        assert queue.get(int(str(event_id))) is not None
        # The store's own queue table stays empty: its write lock is not the queue's.
        with bridge.store.engine.connect() as conn:
            assert conn.execute(t.webhook_events.select()).first() is None
    finally:
        queue.close()


def test_one_transaction_refuses_a_replay_without_failing_the_others(bridge: Bridge) -> None:
    queue = EventQueue.open(bridge)
    try:
        first = queue.enqueue_many([_event("seen")])
        results = queue.enqueue_many([_event("new-1"), _event("seen"), _event("new-2"),
                                      _event("new-1")])
        assert isinstance(first[0], int)
        assert [type(r) for r in results] == [int, ReplayError, int, ReplayError]
        assert queue.counts() == {"pending": 3}
    finally:
        queue.close()


def test_writer_thread_answers_every_concurrent_delivery_after_its_commit(
        bridge: Bridge) -> None:
    queue = EventQueue.open(bridge)
    writer = QueueWriter(queue)

    async def deliver() -> list[int | BaseException]:
        keys = [f"k{n}" for n in range(30)] + ["k7"]
        return await asyncio.gather(*(writer.enqueue(_event(k)) for k in keys),
                                    return_exceptions=True)

    try:
        results = asyncio.run(deliver())
    finally:
        writer.stop()
    ids = [r for r in results if isinstance(r, int)]
    assert len(set(ids)) == 30
    assert sum(isinstance(r, ReplayError) for r in results) == 1
    # Every answered id is committed: visible from another connection at once.
    assert all((queue.get(i) or {}).get("status") == "pending" for i in ids)
    assert 1 <= writer.groups <= 31
    queue.close()


def test_receiving_side_leaves_checkpoints_to_the_worker(bridge: Bridge) -> None:
    receiver = EventQueue.open(bridge, auto_checkpoint=False)
    database = Path(receiver.engine.url.database or "")
    try:
        # 30 commits of 200 kB: far past SQLite's 1,000-page automatic checkpoint.
        for n in range(30):
            receiver.enqueue_many([_event(f"c{n}", payload="x" * 200_000)])
        # The commits only appended to the write-ahead log; the database file did not grow...
        assert database.stat().st_size < 1_000_000
        receiver.checkpoint()  # ...until the worker's checkpoint copied the log into it.
        assert database.stat().st_size > 6_000_000
        assert len(receiver.pending(100)) == 30
    finally:
        receiver.close()


def test_events_pending_in_the_store_are_moved_to_the_queue_file(bridge: Bridge) -> None:
    # A version before the queue had its own file left pending events in the store.
    with bridge.store.transaction() as conn:
        conn.execute(t.webhook_events.insert().values(
            platform="zendesk", source="desk_a", tenant="acme", received_at=datetime.now(UTC),
            payload='{"left": "over"}', status="pending", attempts=0))
        conn.execute(t.webhook_replays.insert().values(
            platform="zendesk", digest="old-key", expires_at=LATER))
    queue = EventQueue.open(bridge)
    try:
        [event] = queue.pending(10)
        assert event.payload == '{"left": "over"}'
        assert isinstance(queue.enqueue_many([_event("old-key")])[0], ReplayError)
        with bridge.store.engine.connect() as conn:
            assert conn.execute(t.webhook_events.select()).first() is None
    finally:
        queue.close()


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "eb.toml"
    path.write_text(f"""
[store]
url = "sqlite:///{tmp_path / 'store.db'}"

[sources.desk]
adapter = "example"
desk = "queue-{os.getpid()}"
tickets = 2
tenant = "acme"

[server]
worker_idle_seconds = 60
worker_nice = 0  # a niced child can starve for minutes on a loaded test machine
webhook_sources = {{ zendesk = "desk" }}
""", encoding="utf-8")
    return path


def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_worker_process_is_woken_by_notify_and_exits_when_the_server_dies(
        config_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPATHY_BRIDGE_NO_AUTOLOAD", "1")
    def body(n: int) -> str:
        return json.dumps({"ticket": {"id": "1", "requester_id": "c1"},
                           "comment": {"id": f"wp-{n}", "author_id": "c1", "public": True,
                                       "body": f"Still no refund ({n}), I am losing patience!"}})

    with Bridge.from_config(config_path) as bridge:
        queue = EventQueue.open(bridge)
        worker = WorkerProcess(config_path)
        worker.start()
        try:
            # The first event is taken by the child's first step, whenever it is up...
            first = queue.enqueue(platform="zendesk", source="desk", tenant="acme",
                                  payload=body(1), replay_key="wp-1", replay_until=LATER)
            assert _wait(lambda: (queue.get(first) or {}).get("status") == "done", 120)
            # ...then it sleeps: idle polls are 60 s apart, only the wake-up gets this one
            # processed within 45 s.
            second = queue.enqueue(platform="zendesk", source="desk", tenant="acme",
                                   payload=body(2), replay_key="wp-2", replay_until=LATER)
            worker.notify()
            assert _wait(lambda: (queue.get(second) or {}).get("status") == "done", 45)
            assert bridge.store.get_interaction("wp-2", "desk") is not None
            # The server dying (even by SIGKILL) closes the child's stdin: it stops by itself.
            proc = worker.proc
            assert proc is not None and proc.stdin is not None
            proc.stdin.close()
            assert proc.wait(timeout=60) == 0
        finally:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.kill()
            queue.close()

