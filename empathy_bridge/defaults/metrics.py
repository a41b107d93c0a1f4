"""Built-in metrics plugin: the ``[metrics]`` section, the webhook and file sinks, the daemon's
scheduled push (``[metrics.schedule]``) and the ``metrics`` / ``report`` commands.

Platform sinks (Salesforce, Zendesk) go through ``Adapter.push_metrics``; see
:mod:`empathy_bridge.metrics.publish` and ``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from empathy_bridge.config import BridgeConfig
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import EmpathyMetric

if TYPE_CHECKING:
    import click

__all__ = [
    "empathy_bridge_publish_metrics",
    "empathy_bridge_register_commands",
    "empathy_bridge_register_jobs",
    "empathy_bridge_register_settings",
]


@hookimpl
def empathy_bridge_register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Declare the ``[metrics]`` section."""
    from empathy_bridge.metrics.settings import MetricsSettings

    register("metrics", MetricsSettings)


@hookimpl
def empathy_bridge_publish_metrics(metrics: Sequence[EmpathyMetric], config: BridgeConfig) -> None:
    """Send the metrics to the webhook and file sinks of ``[metrics]``.

    Tries every sink, then raises one :class:`~empathy_bridge.errors.FatalError` naming those
    that failed.
    """
    from empathy_bridge.metrics.publish import publish_builtin_sinks, raise_for_errors

    raise_for_errors(publish_builtin_sinks(metrics, config))


@hookimpl
def empathy_bridge_register_jobs(register: Callable[..., None], config: BridgeConfig) -> None:
    """Schedule refresh-and-push in the daemon when ``[metrics.schedule]`` is set."""
    from empathy_bridge.metrics.publish import scheduled_push
    from empathy_bridge.metrics.settings import MetricsSettings

    schedule = config.section("metrics", MetricsSettings).schedule
    if schedule is None or (schedule.cron is None and schedule.interval_seconds is None):
        return
    register("metrics-push", scheduled_push, interval_seconds=schedule.interval_seconds,
             cron=schedule.cron)


@hookimpl
def empathy_bridge_register_commands(cli: click.Group) -> None:
    """Add ``empathy-bridge metrics`` (with ``push``, ``import-ratings``) and ``report``."""
    from empathy_bridge.metrics.commands import register

    register(cli)
