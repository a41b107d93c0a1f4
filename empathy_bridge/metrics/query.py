"""What a metrics run is asked for (period, breakdown) and the helpers every metric shares.

A metric is computed over a period and, optionally, broken down by one dimension. Reply metrics
take the period on the reply's time; conversation metrics on the conversation's first message.
Each result is an :class:`~empathy_bridge.schemas.EmpathyMetric` carrying its ``definition`` and
the ``n`` it rests on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, literal, select

from empathy_bridge.errors import ConfigError
from empathy_bridge.metrics import tables as m
from empathy_bridge.metrics.settings import MetricsSettings
from empathy_bridge.metrics.stats import Estimate
from empathy_bridge.schemas import EmpathyMetric

__all__ = ["DIMENSIONS", "MetricQuery", "Run"]

#: Breakdowns accepted by ``--by``: dimension name -> column name in the rollup tables.
DIMENSIONS: dict[str, str] = {
    "team": "team",
    "agent": "agent_id",
    "channel": "channel",
    "source": "source",
    "segment": "segment",
    "tier": "tier",
    "organization": "organization_id",
    "customer": "customer_id",
}

#: What a missing dimension value is reported as.
UNKNOWN = "(none)"


@dataclass(frozen=True)
class MetricQuery:
    """A period ``[since, until)`` (open ends allowed) and an optional breakdown."""

    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None

    def __post_init__(self) -> None:
        if self.by is not None and self.by not in DIMENSIONS:
            raise ConfigError(f"--by {self.by!r}: unknown dimension (use one of "
                              f"{', '.join(DIMENSIONS)})")
        for value in (self.since, self.until):
            if value is not None and value.tzinfo is None:
                raise ConfigError("--since/--until must carry a time zone (e.g. 2026-11-01T00:00Z)")


@dataclass
class Run:
    """One computation: connection, settings, the resolved period and the data horizon."""

    conn: Connection
    settings: MetricsSettings
    query: MetricQuery
    start: datetime
    end: datetime
    horizon_ts: float

    @classmethod
    def open(cls, conn: Connection, settings: MetricsSettings, query: MetricQuery) -> Run:
        """Resolve open period ends from the data, and the horizon (the newest message seen)."""
        f = m.conversation_facts
        row = conn.execute(select(func.min(f.c.first_at), func.max(f.c.last_at),
                                  func.max(f.c.last_ts))).one()
        now = datetime.now(UTC)
        start = query.since or _aware(row[0]) or now
        end = query.until or _aware(row[1]) or now
        return cls(conn, settings, query, start, end, float(row[2] or now.timestamp()))

    # -- helpers ----------------------------------------------------------------------------

    def dim(self, table: Table) -> ColumnElement[Any] | None:
        """The breakdown column of ``table`` (``None`` without ``--by`` or if it lacks it)."""
        if self.query.by is None:
            return None
        name = DIMENSIONS[self.query.by]
        column: ColumnElement[Any] | None = table.c.get(name)
        return column

    def period(self, table: Table) -> list[ColumnElement[bool]]:
        """Period filter on the table's own time column."""
        column = table.c.created_at if "created_at" in table.c else table.c.first_at
        where: list[ColumnElement[bool]] = []
        if self.query.since is not None:
            where.append(column >= self.query.since)
        if self.query.until is not None:
            where.append(column < self.query.until)
        return where

    def grouped(self, table: Table, aggregates: Sequence[ColumnElement[Any]],
                where: Sequence[ColumnElement[bool]] = (),
                extra_group: ColumnElement[Any] | None = None) -> list[Any]:
        """Rows of ``(dim, [extra,] *aggregates)`` over the period, one per group."""
        dim = self.dim(table)
        if self.query.by is not None and dim is None:
            return []  # this table cannot be broken down that way (e.g. replies by tier)
        columns: list[ColumnElement[Any]] = [
            (dim if dim is not None else literal(None)).label("dim")]
        if extra_group is not None:
            columns.append(extra_group.label("extra"))
        query = select(*columns, *aggregates).select_from(table).where(
            *self.period(table), *where)
        groups = [c for c in (dim, extra_group) if c is not None]
        if groups:
            query = query.group_by(*groups)
        return list(self.conn.execute(query))

    def metric(self, name: str, estimate: Estimate, definition: str,
               dim_value: Any = None, dimension: str | None = None) -> EmpathyMetric:
        """An :class:`EmpathyMetric` for the run's period; value withheld below ``min_n``."""
        dimension = dimension or self.query.by
        enough = estimate.n >= self.settings.min_n
        return EmpathyMetric(
            name=name, value=_round(estimate.value) if enough else None, n=estimate.n,
            period_start=self.start, period_end=self.end, dimension=dimension,
            dimension_value=(UNKNOWN if dim_value is None else str(dim_value))
            if dimension else None,
            definition=definition, ci_low=_round(estimate.low) if enough else None,
            ci_high=_round(estimate.high) if enough else None)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None
