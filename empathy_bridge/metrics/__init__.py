"""Empathy metrics: rollups refreshed from the store, and explained figures computed over them.

SDK use::

    from empathy_bridge import Bridge
    from empathy_bridge.metrics import MetricQuery, compute_metrics, refresh

    with Bridge.from_config("empathy-bridge.toml") as bridge:
        refresh(bridge.store)
        for metric in compute_metrics(bridge.store, query=MetricQuery(by="team")):
            print(metric.name, metric.dimension_value, metric.value, metric.n)

Every figure is an :class:`~empathy_bridge.schemas.EmpathyMetric` with its ``definition`` and
the ``n`` it rests on; see ``docs/metrics.md`` for the catalogue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from empathy_bridge.lazy import lazy_exports

if TYPE_CHECKING:
    from empathy_bridge.metrics.compute import FAMILIES, compute_metrics, compute_series
    from empathy_bridge.metrics.query import DIMENSIONS, MetricQuery
    from empathy_bridge.metrics.rollup import RefreshReport, refresh
    from empathy_bridge.metrics.settings import MetricsSettings

__all__ = [
    "DIMENSIONS",
    "FAMILIES",
    "MetricQuery",
    "MetricsSettings",
    "RefreshReport",
    "compute_metrics",
    "compute_series",
    "refresh",
]

# The public names load on first use (PEP 562): the built-in metrics plugin imports
# ``empathy_bridge.metrics.settings`` on every start, which runs this file, and the computation
# side needs the store (SQLAlchemy), scipy and statsmodels, which `empathy-bridge analyze` and
# most SDK calls never use.
__getattr__ = lazy_exports(__name__, {
    "DIMENSIONS": ".query",
    "FAMILIES": ".compute",
    "MetricQuery": ".query",
    "MetricsSettings": ".settings",
    "RefreshReport": ".rollup",
    "compute_metrics": ".compute",
    "compute_series": ".compute",
    "refresh": ".rollup",
})
