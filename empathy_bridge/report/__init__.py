"""The self-contained HTML empathy report (``empathy-bridge report --config F --out DIR``).

Writes ``DIR/index.html`` (quarterly-business-review summary with voice-of-customer quotes,
trends, SLA attainment by tier, agent consistency and emotional load, cohort comparison,
outcomes, high-impact segments, internal vs external view, every metric with its definition)
and ``DIR/customers/<key>.html`` relationship pages for the customers that matter most. Charts
are inline SVG generated in Python: no JavaScript and no network access needed to view them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from empathy_bridge.defaults.assessment import AssessmentSettings
from empathy_bridge.engine import Bridge
from empathy_bridge.metrics import MetricsSettings, refresh
from empathy_bridge.report.data import ReportData, gather
from empathy_bridge.report.render import render_customer, render_index

__all__ = ["ReportData", "gather", "render_customer", "render_index", "write_report"]


def write_report(bridge: Bridge, out_dir: Path, *, since: datetime | None = None,
                 until: datetime | None = None, customers: int = 10) -> Path:
    """Refresh the rollups, compute the figures and write the report; returns index.html."""
    settings = bridge.config.section("metrics", MetricsSettings)
    refresh(bridge.store, settings, bridge.config.section("assessment", AssessmentSettings))
    data = gather(bridge.store, settings, since=since, until=until, customers=customers)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = out_dir / "customers"
    pages.mkdir(exist_ok=True)
    for history in data.customers:
        (pages / f"{history.key}.html").write_text(render_customer(history), encoding="utf-8")
    index = out_dir / "index.html"
    index.write_text(render_index(data), encoding="utf-8")
    return index.resolve()
