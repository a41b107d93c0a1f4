"""The webhook worker in its own process, started and stopped by ``empathy-bridge serve``.

Why a process: analysing and deciding queued events is CPU-bound Python. In a thread of the
server it held the GIL and, worse, its garbage triggered full collections that paused every
thread, the event loop included (measured: 75-86 ms generation-2 collections, the webhook p99
at 80-170 ms with the worker running against 7 ms without it). In its own process it shares
nothing with request handling but the queue file, and runs at a lower CPU priority
(``[server] worker_nice``) so that on a busy machine answers come first and the durable queue
absorbs the burst.

The server writes a byte to the child's stdin after each enqueue to wake it (otherwise it polls
every ``worker_idle_seconds``). The child stops after its current step on SIGTERM, and also when
its stdin closes, which is how it learns that the server died (even by SIGKILL). A lock file
next to the queue makes a new worker wait for a previous one that is still finishing its step,
so two workers never process the same events at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from empathy_bridge.logs import configure_logging, logging_flags
from empathy_bridge.server.queue import EventQueue

__all__ = ["WorkerProcess", "lock_path", "main"]

log = logging.getLogger("empathy_bridge.server.worker_process")

#: Least time between two restarts of a worker process that died.
RESTART_BACKOFF_SECONDS = 5.0


class WorkerProcess:
    """Supervise the worker child of one server process.

    :param config_path: the configuration file the child builds its own bridge from.
    :param detach_after: how long :meth:`stop` waits for a busy child before leaving it to
        finish its step alone; ``None`` (a queue without the lock file) waits for it. On a
        loaded machine a step of the niced worker can take seconds, and a restarting server
        should not be down for them.
    """

    def __init__(self, config_path: Path, *, detach_after: float | None = None) -> None:
        self.config_path = config_path
        self.detach_after = detach_after
        self.proc: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the child (idempotent while it runs)."""
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            self._started_at = time.monotonic()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "empathy_bridge.server.worker_process",
                 "--config", str(self.config_path), *logging_flags()],
                stdin=subprocess.PIPE)
            assert self.proc.stdin is not None
            # Wake-ups must never block the event loop: a full pipe already wakes the child.
            os.set_blocking(self.proc.stdin.fileno(), False)

    @property
    def running(self) -> bool:
        """Whether the child is alive."""
        return self.proc is not None and self.proc.poll() is None

    def notify(self) -> None:
        """An event was queued: wake the child (and restart it if it died)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is not None:
            if time.monotonic() - self._started_at >= RESTART_BACKOFF_SECONDS:
                log.error("the webhook worker process exited with %s; restarting it",
                          proc.returncode)
                self.start()
            return
        assert proc.stdin is not None
        with suppress(BlockingIOError, BrokenPipeError):
            os.write(proc.stdin.fileno(), b"\n")

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the child to stop after its current step and wait for it.

        With :attr:`detach_after` set, wait that long at most: a child still in a step then
        finishes it and exits on its own, and the lock next to the queue makes the next worker
        wait for it. Otherwise wait ``timeout``, then kill it (its step is one transaction).
        """
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout if self.detach_after is None else self.detach_after)
        except subprocess.TimeoutExpired:
            if self.detach_after is not None:
                log.info("the webhook worker finishes its step after the server has stopped")
                return
            log.warning("the webhook worker did not stop within %.0f s; killing it", timeout)
            proc.kill()
            proc.wait()


def lock_path(queue: EventQueue) -> str | None:
    """The lock file a worker holds while it consumes a SQLite queue file (else ``None``)."""
    url = queue.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return f"{url.database}.worker-lock"


@contextmanager
def _only_worker(queue: EventQueue) -> Iterator[None]:
    """Hold an exclusive lock next to a SQLite queue file while processing it."""
    path = lock_path(queue)
    if path is None:
        yield
        return
    import fcntl  # POSIX; the service runs on Linux and macOS

    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits for a previous worker's last step
        yield


def main(argv: list[str] | None = None) -> None:
    """Entry point of the worker process (``python -m empathy_bridge.server.worker_process``)."""
    from empathy_bridge.engine import Bridge
    from empathy_bridge.server.settings import ServerSettings
    from empathy_bridge.server.worker import Worker

    parser = argparse.ArgumentParser(description="empathy-bridge webhook worker process")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--log-json", action="store_true", help="log as JSON lines")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG level")
    args = parser.parse_args(argv)
    # The server's own logging setup (passed as flags): same format, same redaction of
    # personal data; INFO at least, since a worker's log is its only voice.
    configure_logging(debug=args.debug, verbose=True, json_lines=args.log_json)
    # Ctrl-C reaches the whole process group: the server stops us with SIGTERM in its own time.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    bridge = Bridge.from_config(args.config)
    settings = bridge.config.section("server", ServerSettings)
    os.nice(settings.worker_nice)
    queue = EventQueue.open(bridge, adopt=False)  # the server adopted before starting us
    worker = Worker(bridge, queue, batch=settings.worker_batch,
                    idle_seconds=settings.worker_idle_seconds)
    signal.signal(signal.SIGTERM, lambda *_: worker.request_stop())

    def watch_parent() -> None:
        # Every byte is a wake-up; end of file means the server is gone.
        while os.read(sys.stdin.fileno(), 4096):
            worker.notify()
        worker.request_stop()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    try:
        with _only_worker(queue):
            worker.run()
    finally:
        queue.close()
        bridge.close()


if __name__ == "__main__":
    main()
