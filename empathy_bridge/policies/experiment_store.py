"""Store tables and I/O of phrasing experiments: exposures and outcomes.

Tables are created by store migration 2 (``empathy_bridge/store/migrations.py``). An exposure is
"conversation C saw variant V of experiment E" (one row per experiment and conversation, first
exposure kept, since assignment is deterministic). An outcome is a measured value of a metric for a
conversation (CSAT, reopen, next-message sentiment, resolution time), independent of any
experiment: every experiment the conversation was exposed to reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Float, Index, String, Table, and_, delete, select

from empathy_bridge.errors import ConfigError
from empathy_bridge.policies.settings import METRICS
from empathy_bridge.schemas import ReplySuggestion
from empathy_bridge.store import Store
from empathy_bridge.store import tables as t

__all__ = [
    "Observation",
    "experiment_exposures",
    "experiment_outcomes",
    "harvest_exposures",
    "observations",
    "record_exposure",
    "record_outcome",
]

experiment_exposures = Table(
    "experiment_exposures",
    t.metadata,
    Column("experiment", String(200), primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("conversation_id", String(200), primary_key=True),
    Column("variant", String(200), nullable=False),
    Column("template_id", String(200), nullable=False),
    Column("exposed_at", DateTime(timezone=True), nullable=False),
    Index("ix_experiment_exposures_variant", "experiment", "variant"),
)

experiment_outcomes = Table(
    "experiment_outcomes",
    t.metadata,
    Column("source", String(200), primary_key=True),
    Column("conversation_id", String(200), primary_key=True),
    Column("metric", String(50), primary_key=True),
    Column("value", Float, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Observation:
    """One exposed conversation's variant and value of one metric."""

    variant: str
    value: float


def _check_metric(metric: str, value: float) -> None:
    if metric not in METRICS:
        raise ConfigError(f"unknown outcome metric {metric!r} (known: {', '.join(METRICS)})")
    if METRICS[metric] == "binary" and value not in (0.0, 1.0):
        raise ConfigError(f"metric {metric!r} is binary: record 1 (yes/good) or 0, got {value}")


def record_exposure(
    store: Store,
    *,
    experiment: str,
    variant: str,
    source: str,
    conversation_id: str,
    template_id: str,
    at: datetime | None = None,
) -> bool:
    """Record that a conversation saw a variant; returns False if it was already recorded."""
    with store.transaction() as conn:
        exists = conn.execute(select(experiment_exposures.c.variant).where(
            experiment_exposures.c.experiment == experiment,
            experiment_exposures.c.source == source,
            experiment_exposures.c.conversation_id == conversation_id)).first()
        if exists is not None:
            return False
        conn.execute(experiment_exposures.insert().values(
            experiment=experiment, variant=variant, source=source,
            conversation_id=conversation_id, template_id=template_id,
            exposed_at=at or datetime.now(UTC)))
    return True


def record_outcome(
    store: Store,
    *,
    source: str,
    conversation_id: str,
    metric: str,
    value: float,
    at: datetime | None = None,
) -> None:
    """Record (or replace) a conversation's value of an outcome metric.

    :raises ConfigError: for an unknown metric or a binary metric that is not 0 or 1.
    """
    value = float(value)
    _check_metric(metric, value)
    with store.transaction() as conn:
        conn.execute(delete(experiment_outcomes).where(
            experiment_outcomes.c.source == source,
            experiment_outcomes.c.conversation_id == conversation_id,
            experiment_outcomes.c.metric == metric))
        conn.execute(experiment_outcomes.insert().values(
            source=source, conversation_id=conversation_id, metric=metric, value=value,
            recorded_at=at or datetime.now(UTC)))


def exposures_of(suggestions: Iterable[ReplySuggestion]) -> list[tuple[str, str, str]]:
    """``(experiment, variant, template_id)`` of suggestions served as an experiment variant."""
    found = []
    for suggestion in suggestions:
        if suggestion.variant and ":" in suggestion.variant:
            experiment, variant = suggestion.variant.split(":", 1)
            found.append((experiment, variant, suggestion.template_id))
    return found


def harvest_exposures(store: Store) -> int:
    """Record exposures from the suggestions in the stored decisions; returns how many are new.

    The engine stores each conversation's latest decisions; a suggestion served as a variant
    carries ``variant = "EXPERIMENT:VARIANT"``. Running this regularly (the report command does)
    keeps exposures even after later decisions pick another template.
    """
    new = 0
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.decisions.c.source, t.decisions.c.conversation_id,
                                   t.decisions.c.decided_at, t.decisions.c.payload)).all()
    for row in rows:
        try:
            payload = json.loads(row.payload)
            suggestions = [ReplySuggestion.model_validate(s)
                           for s in payload.get("suggestions") or []]
        except (ValueError, TypeError, AttributeError):
            continue  # a decisions row from another plugin's shape carries no exposures
        at = row.decided_at if row.decided_at.tzinfo else row.decided_at.replace(tzinfo=UTC)
        for experiment, variant, template_id in exposures_of(suggestions):
            new += record_exposure(store, experiment=experiment, variant=variant,
                                   source=row.source, conversation_id=row.conversation_id,
                                   template_id=template_id, at=at)
    return new


def observations(store: Store, experiment: str, metrics: Sequence[str]) -> tuple[
        dict[str, int], dict[str, list[Observation]]]:
    """Exposure counts per variant, and per metric the observed values joined to variants."""
    with store.engine.connect() as conn:
        counts: dict[str, int] = {}
        for row in conn.execute(select(experiment_exposures.c.variant).where(
                experiment_exposures.c.experiment == experiment)):
            counts[row.variant] = counts.get(row.variant, 0) + 1
        join = experiment_exposures.join(experiment_outcomes, and_(
            experiment_outcomes.c.source == experiment_exposures.c.source,
            experiment_outcomes.c.conversation_id == experiment_exposures.c.conversation_id))
        values: dict[str, list[Observation]] = {metric: [] for metric in metrics}
        query = (select(experiment_exposures.c.variant, experiment_outcomes.c.metric,
                        experiment_outcomes.c.value)
                 .select_from(join)
                 .where(experiment_exposures.c.experiment == experiment,
                        experiment_outcomes.c.metric.in_(list(metrics))))
        for row in conn.execute(query):
            values[row.metric].append(Observation(variant=row.variant, value=float(row.value)))
    return counts, values
