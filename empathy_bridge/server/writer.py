"""One writer thread for the webhook queue, committing concurrent deliveries together.

Each delivery used to insert from its own thread-pool thread: under load the threads queued on
SQLite's write lock, whose busy handler sleeps in growing steps (1, 2, 5, 10, 25 ms...) rather
than waking when the lock frees, and each paid its own commit. Here the event loop hands the
verified events to one thread, which takes *whatever is waiting* (no timer: an idle server adds
no latency), inserts them in one transaction and resolves every request's future after the
commit, so the 202 still means "durably queued". One fsync covers the whole group.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from contextlib import suppress

from empathy_bridge.server.futures import settle
from empathy_bridge.server.queue import EventQueue, NewEvent

__all__ = ["QueueWriter"]

log = logging.getLogger("empathy_bridge.server.writer")

_Item = tuple[NewEvent, asyncio.AbstractEventLoop, "asyncio.Future[int]"]


class QueueWriter:
    """Group-commit inserts into an :class:`EventQueue` from a dedicated thread.

    :param max_group: most deliveries committed in one transaction.
    """

    def __init__(self, events: EventQueue, *, max_group: int = 256) -> None:
        self.events = events
        self.max_group = max_group
        self._items: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.groups = 0  # transactions committed (tests, diagnostics)

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="empathy-bridge-queue-writer",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Commit what was submitted, then stop the thread."""
        if self._thread is not None:
            self._items.put(None)
            self._thread.join()
            self._thread = None

    async def enqueue(self, new: NewEvent) -> int:
        """The id of the durably queued event.

        Raises :class:`~empathy_bridge.server.queue.ReplayError` for a replayed delivery.
        """
        self.start()  # normally started by the app's lifespan; a bare ASGI call starts it here
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._items.put((new, loop, future))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._items.get()
            if first is None:
                break
            group = [first]
            while len(group) < self.max_group:
                try:
                    item = self._items.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[_Item]) -> None:
        try:
            results: list[int | BaseException] = list(
                self.events.enqueue_many([new for new, _, _ in group]))
        except Exception as exc:  # the store failed: every waiting request gets the error
            log.warning("queueing %d webhook events failed: %s", len(group), exc)
            results = [exc] * len(group)
        self.groups += 1
        for (_, loop, future), result in zip(group, results, strict=True):
            # RuntimeError: that event loop is closed, nobody waits for the answer.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, future, result)
