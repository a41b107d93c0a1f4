"""Metric computation over the rollups: the families by name, and the figures per query or bucket.

Re-exported by :mod:`empathy_bridge.metrics` (``from empathy_bridge.metrics import
compute_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from empathy_bridge.metrics.load import load_metrics
from empathy_bridge.metrics.outcomes import cohort_metrics, outcome_metrics, segment_metrics
from empathy_bridge.metrics.query import MetricQuery, Run
from empathy_bridge.metrics.ratings import rating_metrics
from empathy_bridge.metrics.service import (
    escalation_metrics,
    reply_metrics,
    sentiment_metrics,
    sla_metrics,
)
from empathy_bridge.metrics.settings import MetricsSettings
from empathy_bridge.schemas import EmpathyMetric
from empathy_bridge.store import Store

__all__ = ["FAMILIES", "compute_metrics", "compute_series"]

#: Metric families by name, in the order they are reported.
FAMILIES: dict[str, Callable[[Run], list[EmpathyMetric]]] = {
    "replies": reply_metrics,
    "escalation": escalation_metrics,
    "sentiment": sentiment_metrics,
    "sla": sla_metrics,
    "outcomes": outcome_metrics,
    "cohorts": cohort_metrics,
    "segments": segment_metrics,
    "load": load_metrics,
    "ratings": rating_metrics,
}


def compute_metrics(
    store: Store,
    settings: MetricsSettings | None = None,
    query: MetricQuery | None = None,
    families: Sequence[str] | None = None,
) -> list[EmpathyMetric]:
    """Every metric (or the named ``families``) over the rollups; call :func:`refresh` first."""
    settings = settings or MetricsSettings()
    query = query or MetricQuery()
    with store.engine.connect() as conn:
        run = Run.open(conn, settings, query)
        out: list[EmpathyMetric] = []
        for name in families or FAMILIES:
            out.extend(FAMILIES[name](run))
    return out


def compute_series(
    store: Store,
    settings: MetricsSettings | None = None,
    *,
    since: datetime,
    until: datetime,
    bucket: timedelta = timedelta(days=7),
    families: Sequence[str] = ("replies", "sentiment", "sla", "escalation"),
    max_buckets: int = 52,
) -> list[EmpathyMetric]:
    """The named families per time bucket (for trend charts); one query set per bucket."""
    settings = settings or MetricsSettings()
    buckets = min(max_buckets, max(1, int((until - since) / bucket) + 1))
    step = max(bucket, (until - since) / buckets)
    out: list[EmpathyMetric] = []
    start = since
    while start < until:
        end = min(start + step, until)
        out.extend(compute_metrics(store, settings, MetricQuery(since=start, until=end), families))
        start = end
    return out
