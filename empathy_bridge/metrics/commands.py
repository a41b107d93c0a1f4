"""CLI: ``empathy-bridge metrics [push|import-ratings]`` and ``empathy-bridge report``.

Added through the ``empathy_bridge_register_commands`` hook by the built-in metrics plugin.
Every command refreshes the rollups first (incremental), so it reflects the latest sync.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from empathy_bridge.defaults.assessment import AssessmentSettings
from empathy_bridge.engine import Bridge
from empathy_bridge.errors import ConfigError
from empathy_bridge.metrics import (
    DIMENSIONS,
    FAMILIES,
    MetricQuery,
    MetricsSettings,
    compute_metrics,
    refresh,
)

__all__ = ["metrics_group", "parse_when", "report_command"]

_RELATIVE = re.compile(r"^(\d+)([hdw])$")


def parse_when(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """``2026-11-01``, ``2026-11-01T10:00+02:00`` or relative ``30d``/``12h``/``4w`` (ago)."""
    if value is None:
        return None
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"h": timedelta(hours=amount), "d": timedelta(days=amount),
                 "w": timedelta(weeks=amount)}[unit]
        return now - delta
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"cannot read {value!r} as a date: use 2026-11-01, an ISO timestamp "
                          "or a relative 30d / 12h / 4w") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bridge(config_path: Path) -> Bridge:
    return Bridge.from_config(config_path)


def _settings(bridge: Bridge) -> tuple[MetricsSettings, AssessmentSettings]:
    return (bridge.config.section("metrics", MetricsSettings),
            bridge.config.section("assessment", AssessmentSettings))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _compute(bridge: Bridge, since: str | None, until: str | None, by: str | None,
             families: tuple[str, ...], full: bool = False) -> list[Any]:
    settings, rubric = _settings(bridge)
    refresh(bridge.store, settings, rubric, full=full)
    query = MetricQuery(since=parse_when(since), until=parse_when(until), by=by)
    return compute_metrics(bridge.store, settings, query, families or None)


_config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Path to the TOML config file.")


@click.group("metrics", invoke_without_command=True)
@_config_option
@click.option("--since", help="Start of the period (date, ISO time, or 30d/12h/4w ago).")
@click.option("--until", help="End of the period, exclusive (same forms).")
@click.option("--by", type=click.Choice(list(DIMENSIONS)), help="Break every metric down.")
@click.option("--family", "families", multiple=True, type=click.Choice(list(FAMILIES)),
              help="Only these metric families (repeatable).")
@click.option("--full-refresh", is_flag=True, help="Rebuild the rollups from scratch first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: a list of EmpathyMetric.")
@click.pass_context
def metrics_group(ctx: click.Context, config_path: Path | None, since: str | None,
                  until: str | None, by: str | None, families: tuple[str, ...],
                  full_refresh: bool, as_json: bool) -> None:
    """Compute empathy metrics (every figure with its definition and n)."""
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None:
        raise ConfigError("metrics: --config is required (e.g. empathy-bridge metrics "
                          "--config empathy-bridge.toml)")
    with _bridge(config_path) as bridge:
        metrics = _compute(bridge, since, until, by, families, full_refresh)
    if as_json:
        click.echo(json.dumps([m.model_dump(mode="json") for m in metrics], indent=2,
                              ensure_ascii=False))
        return
    table = Table("metric", *(["dimension"] if by else []), "value", "95% CI", "n",
                  title="empathy metrics", title_justify="left")
    for metric in metrics:
        ci = (f"{_fmt(metric.ci_low)} – {_fmt(metric.ci_high)}"
              if metric.ci_low is not None else "")
        label = (f"{metric.dimension}={metric.dimension_value}"
                 if metric.dimension and metric.dimension != by else "")
        row = [metric.name + (f" [{label}]" if label else "")]
        if by:
            row.append(metric.dimension_value or "" if metric.dimension == by else "")
        table.add_row(*row, _fmt(metric.value), ci, str(metric.n))
    Console(width=140).print(table)
    click.echo("definitions: empathy-bridge metrics --json (field 'definition'), "
               "or docs/metrics.md")


@metrics_group.command("push")
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Path to the TOML config.")
@click.option("--since", help="Start of the period (date, ISO time, or 30d/12h/4w ago).")
@click.option("--until", help="End of the period, exclusive (same forms).")
@click.option("--by", "breakdowns", multiple=True, type=click.Choice(list(DIMENSIONS)),
              help="Also push the metrics broken down this way (repeatable), e.g. "
                   "organization for Zendesk organisation fields.")
@click.option("--json", "as_json", is_flag=True, help="Print the push report as JSON.")
def push_command(config_path: Path, since: str | None, until: str | None,
                 breakdowns: tuple[str, ...], as_json: bool) -> None:
    """Compute the metrics (overall, plus each --by breakdown) and push them to every sink in
    [metrics] and to publishing plugins."""
    from empathy_bridge.metrics.publish import metrics_to_push, publish

    with _bridge(config_path) as bridge:
        settings, rubric = _settings(bridge)
        refresh(bridge.store, settings, rubric)
        metrics = metrics_to_push(bridge.store, settings, since=parse_when(since),
                                  until=parse_when(until), breakdowns=breakdowns)
        report = publish(bridge, metrics)
    if as_json:
        click.echo(json.dumps({"metrics": len(metrics), "written": report.written,
                               "errors": report.errors}, indent=2))
    else:
        for label, count in report.written.items():
            click.echo(f"ok     {label}: {count} metrics")
        for label, error in report.errors.items():
            click.echo(f"failed {label}: {error}")
        if not report.written and not report.errors:
            click.echo("no sinks configured: add [[metrics.sinks]] to the config "
                       "(see docs/metrics.md)")
    if report.errors:
        raise SystemExit(1)


@metrics_group.command("replies")
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Path to the TOML config.")
@click.option("--since", help="Start of the period (date, ISO time, or 30d/12h/4w ago).")
@click.option("--until", help="End of the period, exclusive (same forms).")
@click.option("--agent", help="Only this agent's replies.")
@click.option("--limit", default=1000, show_default=True, help="At most this many replies.")
def replies_command(config_path: Path, since: str | None, until: str | None, agent: str | None,
                    limit: int) -> None:
    """Print reply assessments with their evidence as JSON lines (for review and calibration)."""
    from empathy_bridge.metrics.rollup import iter_assessments

    with _bridge(config_path) as bridge:
        settings, rubric = _settings(bridge)
        refresh(bridge.store, settings, rubric)
        for record in iter_assessments(bridge.store, since=parse_when(since),
                                       until=parse_when(until), agent=agent, limit=limit):
            click.echo(json.dumps(record, ensure_ascii=False, default=str))


@metrics_group.command("import-ratings")
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Path to the TOML config.")
@click.option("--source", help="Source of rows that do not name one.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_ratings_command(config_path: Path, source: str | None, path: Path) -> None:
    """Import self/reviewer empathy ratings (CSV, JSON array or JSON lines)."""
    from empathy_bridge.metrics.ratings import import_ratings

    with _bridge(config_path) as bridge:
        default = source or (next(iter(bridge.config.sources)) if len(bridge.config.sources) == 1
                             else None)
        count = import_ratings(bridge.store, path, default)
    click.echo(f"imported {count} ratings from {path}")


@click.command("report")
@click.option("--config", "config_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Path to the TOML config.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write index.html (and customer pages) into.")
@click.option("--since", help="Start of the period (date, ISO time, or 30d/12h/4w ago).")
@click.option("--until", help="End of the period, exclusive (same forms).")
@click.option("--customers", default=10, show_default=True,
              help="How many customer relationship pages to write.")
def report_command(config_path: Path, out_dir: Path, since: str | None, until: str | None,
                   customers: int) -> None:
    """Write a self-contained HTML report (offline; inline SVG charts)."""
    from empathy_bridge.report import write_report

    with _bridge(config_path) as bridge:
        path = write_report(bridge, out_dir, since=parse_when(since), until=parse_when(until),
                            customers=customers)
    click.echo(f"report: {path}")


def register(cli: click.Group) -> None:
    """Add ``metrics`` and ``report`` to the root command."""
    cli.add_command(metrics_group)
    cli.add_command(report_command)
