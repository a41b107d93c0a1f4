"""Built-in metrics plugin: the ``[metrics]`` section, the webhook and file sinks, and the
``metrics`` / ``report`` commands.

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
def empathy_bridge_register_commands(cli: click.Group) -> None:
    """Add ``empathy-bridge metrics`` (with ``push``, ``import-ratings``) and ``report``."""
    from empathy_bridge.metrics.commands import register

    register(cli)
