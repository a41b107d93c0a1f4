"""Publishing a metrics run: platform sinks through adapters, everything else through the
``empathy_bridge_publish_metrics`` hook (the built-in implementation serves webhook and file sinks).

Each hook implementation is called on its own, so one failing plugin or sink does not stop the
others; failures are reported per sink/plugin in the :class:`PushReport`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime

from empathy_bridge.config import BridgeConfig
from empathy_bridge.engine import Bridge
from empathy_bridge.errors import EmpathyBridgeError, FatalError
from empathy_bridge.metrics.push import (
    PushReport,
    options_dict,
    post_webhook,
    sink_label,
    write_file,
)
from empathy_bridge.metrics.settings import FileSink, MetricsSettings, PlatformSink, WebhookSink
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import EmpathyMetric
from empathy_bridge.secrets import Secrets
from empathy_bridge.store import Store

__all__ = [
    "BUILTIN_PLUGIN",
    "metrics_to_push",
    "publish",
    "publish_builtin_sinks",
    "raise_for_errors",
    "scheduled_push",
]

log = logging.getLogger("empathy_bridge.metrics")

#: Plugin name of the built-in metrics plugin (``empathy_bridge.defaults.metrics``).
BUILTIN_PLUGIN = "builtin.metrics"


def publish_builtin_sinks(
    metrics: Sequence[EmpathyMetric],
    config: BridgeConfig,
    *,
    retry_policy: RetryPolicy | None = None,
    now: datetime | None = None,
) -> PushReport:
    """Send to every webhook and file sink of ``[metrics]``; failures are collected, not raised."""
    settings = config.section("metrics", MetricsSettings)
    secrets_file = config.secrets_file
    if secrets_file and not os.path.isabs(secrets_file):
        secrets_file = str(config.base_dir / secrets_file)
    secrets = Secrets(None, secrets_file)
    report = PushReport()
    for sink in settings.sinks:
        label = sink_label(sink)
        try:
            if isinstance(sink, WebhookSink):
                report.written[label] = post_webhook(metrics, sink, secrets,
                                                     retry_policy=retry_policy)
            elif isinstance(sink, FileSink):
                path = write_file(metrics, sink, config.base_dir, now or datetime.now(UTC))
                report.written[f"file:{path}"] = len(metrics)
        except (EmpathyBridgeError, OSError) as exc:
            report.errors[label] = str(exc)
    return report


def publish(bridge: Bridge, metrics: Sequence[EmpathyMetric]) -> PushReport:
    """Push ``metrics`` to every configured sink and every publishing plugin."""
    settings = bridge.config.section("metrics", MetricsSettings)
    report = PushReport()
    for sink in settings.sinks:
        if not isinstance(sink, PlatformSink):
            continue
        label = sink_label(sink)
        try:
            adapter = bridge.adapter(sink.source)
            report.written[label] = adapter.push_metrics(metrics, options_dict(sink.options))
        except NotImplementedError:
            report.errors[label] = (f"the adapter of source {sink.source!r} cannot push metrics "
                                    "(no push_metrics); remove this sink or upgrade the adapter")
        except EmpathyBridgeError as exc:
            report.errors[label] = str(exc)
    hook = bridge.pm.hook.empathy_bridge_publish_metrics
    for impl in hook.get_hookimpls():
        if impl.plugin_name == BUILTIN_PLUGIN:
            # Called directly for its per-sink detail; the hook path gives the same result.
            builtin = publish_builtin_sinks(metrics, bridge.config,
                                            retry_policy=bridge.retry_policy)
            report.written.update(builtin.written)
            report.errors.update(builtin.errors)
            continue
        kwargs = {"metrics": metrics, "config": bridge.config}
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except EmpathyBridgeError as exc:
            report.errors[f"plugin:{impl.plugin_name}"] = str(exc)
        except Exception as exc:
            # A plugin's bug must not hide the other sinks' results: report it by name.
            report.errors[f"plugin:{impl.plugin_name}"] = f"{type(exc).__name__}: {exc}"
        else:
            report.written.setdefault(f"plugin:{impl.plugin_name}", len(metrics))
    return report


def metrics_to_push(
    store: Store,
    settings: MetricsSettings,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    breakdowns: Sequence[str] = (),
) -> list[EmpathyMetric]:
    """Every metric overall, followed by the same metrics for each breakdown (rollups fresh)."""
    from empathy_bridge.metrics import MetricQuery, compute_metrics

    metrics = compute_metrics(store, settings, MetricQuery(since=since, until=until))
    for by in dict.fromkeys(breakdowns):
        metrics += [m for m in compute_metrics(store, settings,
                                               MetricQuery(since=since, until=until, by=by))
                    if m.dimension == by]
    return metrics


def scheduled_push(bridge: Bridge) -> PushReport:
    """The daemon job: refresh the rollups, compute every metric, push to every sink.

    Registered by the built-in metrics plugin when ``[metrics.schedule]`` is set; failures of
    single sinks are logged (the next run tries again).
    """
    from datetime import timedelta

    from empathy_bridge.defaults.assessment import AssessmentSettings
    from empathy_bridge.metrics import refresh

    settings = bridge.config.section("metrics", MetricsSettings)
    refresh(bridge.store, settings, bridge.config.section("assessment", AssessmentSettings))
    since = None
    breakdowns: list[str] = []
    if settings.schedule is not None:
        breakdowns = list(settings.schedule.breakdowns)
        if settings.schedule.since_days is not None:
            since = datetime.now(UTC) - timedelta(days=settings.schedule.since_days)
    metrics = metrics_to_push(bridge.store, settings, since=since, breakdowns=breakdowns)
    report = publish(bridge, metrics)
    for label, count in report.written.items():
        log.info("pushed %d metrics to %s", count, label)
    for label, error in report.errors.items():
        log.warning("metrics push to %s failed: %s", label, error)
    return report


def raise_for_errors(report: PushReport) -> None:
    """Turn the built-in sinks' collected failures into one error (for the hook contract)."""
    if report.errors:
        detail = "; ".join(f"{label}: {error}" for label, error in report.errors.items())
        raise FatalError(f"{len(report.errors)} metrics sink(s) failed: {detail}")
    for label, count in report.written.items():
        log.info("pushed %d metrics to %s", count, label)
