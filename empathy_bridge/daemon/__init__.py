"""The sync daemon: scheduled jobs, health, and the right to be forgotten.

- :class:`~empathy_bridge.daemon.scheduler.Daemon` runs ``empathy-bridge run``;
- :func:`~empathy_bridge.daemon.health.source_health` feeds ``empathy-bridge status``;
- :func:`~empathy_bridge.daemon.forget.forget_customer` feeds ``empathy-bridge forget``.
"""

from __future__ import annotations

from empathy_bridge.daemon.forget import forget_customer
from empathy_bridge.daemon.health import paused_until, source_health
from empathy_bridge.daemon.scheduler import Daemon, JobSpec

__all__ = ["Daemon", "JobSpec", "forget_customer", "paused_until", "source_health"]
