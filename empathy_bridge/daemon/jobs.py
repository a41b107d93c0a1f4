"""Module-level job functions, referenced by name from the persisted job store.

APScheduler stores a job as ``"module:function"`` plus arguments, so the callables must be
importable; they find the running daemon through :func:`current` instead of pickling it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.util import ref_to_obj

if TYPE_CHECKING:
    from empathy_bridge.daemon.scheduler import Daemon

__all__ = ["current", "plugin_job", "set_current", "sync_job"]

log = logging.getLogger("empathy_bridge.daemon")

_current: Daemon | None = None


def set_current(daemon: Daemon | None) -> None:
    """Make ``daemon`` the one job functions act on (one daemon per process)."""
    global _current
    _current = daemon


def current() -> Daemon:
    """The running daemon."""
    if _current is None:
        raise RuntimeError("no empathy-bridge daemon is running in this process")
    return _current


def sync_job(source: str) -> None:
    """Scheduled sync of ``source`` (until caught up, or told to stop)."""
    current().run_sync(source)


def plugin_job(name: str, ref: str) -> None:
    """Scheduled plugin job ``name``: calls the function at ``ref`` with the bridge."""
    daemon = current()
    if daemon.stopping:
        return
    func = ref_to_obj(ref)
    log.info("job %s started", name)
    try:
        func(daemon.bridge)
    except Exception:
        # One failing job must not take the daemon down; APScheduler would only log it too.
        log.exception("job %s failed", name)
        return
    log.info("job %s finished", name)
