"""The background worker: drains the webhook queue through the engine's own batch path.

Each step takes the oldest pending events, turns them into canonical interactions, and hands
them, grouped by source, to :meth:`Bridge.process_batch` as one :class:`FetchBatch` without a
cursor (the poller's cursor is untouched). That is the daemon's path: fingerprints skip
messages already analysed, analyses, decisions and outbox rows commit together, and the outbox
is drained with the write-back ledger's diff. A webhook and a later poll of the same change
therefore never write twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from empathy_bridge.adapter import FetchBatch
from empathy_bridge.engine import Bridge, SyncReport
from empathy_bridge.errors import (
    EmpathyBridgeError,
    FatalError,
    QuotaExhaustedError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.schemas import Interaction
from empathy_bridge.server.events import interactions_from_event
from empathy_bridge.server.queue import EventQueue, QueuedEvent

__all__ = ["StepResult", "Worker"]

log = logging.getLogger("empathy_bridge.server.worker")

#: Attempts before a queued event that keeps failing is given up (marked failed).
MAX_ATTEMPTS = 5

#: How often the worker drops expired replay-cache entries and old processed events.
PRUNE_EVERY_SECONDS = 300.0


@dataclass
class StepResult:
    """What one worker step did."""

    processed: int = 0
    failed: int = 0
    retried: int = 0
    reports: list[SyncReport] = field(default_factory=list)


class Worker:
    """Processes queued webhook events: :meth:`run` in the worker process, :meth:`start` in a
    background thread, or :meth:`step` by step in tests.

    :param queue: the webhook queue (:meth:`EventQueue.open`).
    :param batch: events taken per step.
    :param idle_seconds: sleep between polls of an empty queue (an enqueue wakes it at once).
    :param duty_cycle: most of the wall time spent processing (1: never pause).
    """

    def __init__(self, bridge: Bridge, queue: EventQueue, *, batch: int = 50,
                 idle_seconds: float = 0.2, duty_cycle: float = 1.0) -> None:
        self.bridge = bridge
        self.queue = queue
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.duty_cycle = duty_cycle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The bridge's adapters and store are shared with request handlers; one step at a time.
        self.lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="empathy-bridge-webhooks",
                                        daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask :meth:`run` to return after the current step (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the current step and stop; pending events stay queued for the next start."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def notify(self) -> None:
        """An event was queued: wake up now instead of after the idle sleep."""
        self._wake.set()

    @property
    def running(self) -> bool:
        """Whether the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """Process the queue until :meth:`request_stop` (blocking)."""
        next_prune = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                try:
                    self.queue.prune()
                except Exception:
                    log.exception("pruning the webhook queue failed")
            started = time.monotonic()
            try:
                result = self.step()
            except Exception:
                log.exception("webhook worker step failed; retrying after a pause")
                result = StepResult()
                self._stop.wait(max(self.idle_seconds, 1.0))
            if not (result.processed or result.failed or result.retried):
                self._wake.wait(self.idle_seconds)
                self._wake.clear()
                continue
            self._checkpoint()
            if self.duty_cycle < 1:
                # Processing is CPU-bound Python sharing the interpreter with request handling:
                # pause in proportion so that answers stay fast; the queue is durable and
                # catches up when the burst is over.
                busy = time.monotonic() - started
                self._stop.wait(busy * (1 - self.duty_cycle) / self.duty_cycle)

    def _checkpoint(self) -> None:
        # The server's connections leave the queue's log to us, so that no delivery waits for
        # a checkpoint's copy and fsync (EventQueue.open(auto_checkpoint=False)).
        try:
            self.queue.checkpoint()
        except Exception:
            log.exception("checkpointing the webhook queue failed")

    # -- one step ----------------------------------------------------------------------------

    def step(self) -> StepResult:
        """Process up to ``batch`` pending events; returns what happened."""
        with self.lock:
            return self._step()

    def _step(self) -> StepResult:
        result = StepResult()
        events = self.queue.pending(self.batch)
        if not events:
            return result
        by_source: dict[str, list[tuple[QueuedEvent, list[Interaction]]]] = defaultdict(list)
        for event in events:
            try:
                if event.source not in self.bridge.source_configs:
                    raise SkippableError(f"source {event.source!r} is no longer configured")
                adapter = self.bridge.adapter(event.source)
                interactions = interactions_from_event(
                    event.platform, event.source, json.loads(event.payload), adapter)
            except (SkippableError, ValueError) as exc:
                self._give_up(event, f"{exc}")
                result.failed += 1
                continue
            by_source[event.source].append((event, interactions))
        for source, items in by_source.items():
            report = SyncReport(source=source)
            adapter = self.bridge.adapter(source)
            batch = FetchBatch(interactions=[i for _, found in items for i in found])
            try:
                self.bridge.process_batch(adapter, batch, report)
            except Exception as exc:  # a store or plugin failure: retry, then give up
                if not isinstance(exc, EmpathyBridgeError):
                    log.exception("processing webhook events of %s failed", source)
                for event, _ in items:
                    if event.attempts + 1 >= MAX_ATTEMPTS:
                        self._give_up(event, f"gave up after {MAX_ATTEMPTS} attempts: {exc}")
                        result.failed += 1
                    else:
                        self.queue.retry_later(event.id, str(exc))
                        result.retried += 1
                continue
            self.queue.settle_many([event.id for event, _ in items], "done")
            result.processed += len(items)
            if self.bridge.source_configs[source].writeback:
                self.drain(source, report)
            result.reports.append(report)
        return result

    def drain(self, source: str, report: SyncReport) -> None:
        # The events are safely analysed and their writes are in the outbox: a write failure
        # here leaves them pending for the next step or the daemon, like a sync cycle does.
        try:
            self.bridge.drain(self.bridge.adapter(source), report, full_batches_only=False)
        except QuotaExhaustedError as exc:
            report.status, report.detail = "paused", str(exc)
        except (RetriableError, FatalError) as exc:
            report.status, report.detail = "failed", str(exc)
            log.warning("write-back of %s after webhook failed: %s", source, exc)

    def _give_up(self, event: QueuedEvent, error: str) -> None:
        self.queue.settle(event.id, "failed", error)
        letter = self.bridge.store.add_dead_letter(
            None, source=event.source, stage="webhook", native_id=f"webhook-{event.id}",
            payload=event.payload, error=error)
        self.bridge.notify_dead_letters([letter])
