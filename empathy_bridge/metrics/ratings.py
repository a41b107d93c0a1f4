"""Internal vs external view: imported self/reviewer empathy ratings against the customer's view.

Teams that run self-assessment or peer review export a file of ratings; ``empathy-bridge metrics
import-ratings`` loads it (CSV with a header, a JSON array, or JSON lines) with these fields:

- ``conversation_id`` (required), ``source`` (required unless only one source is configured),
- ``score`` (required): 0..1, or on a scale given by ``scale_max`` (e.g. 4 of 5),
- ``rater``: ``self`` or ``reviewer`` (default ``reviewer``), ``agent_id`` (optional).

A later import of the same (source, conversation, rater) replaces the earlier rating.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, tuple_

from empathy_bridge.errors import ConfigError
from empathy_bridge.metrics import tables as m
from empathy_bridge.metrics.query import Run
from empathy_bridge.metrics.stats import mean_interval, rank_correlation
from empathy_bridge.schemas import EmpathyMetric
from empathy_bridge.store import Store

__all__ = ["import_ratings", "parse_ratings", "rating_metrics"]

_RATERS = ("self", "reviewer")


def _records(path: Path) -> Iterable[tuple[int, Mapping[str, Any]]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        yield from enumerate(csv.DictReader(io.StringIO(text)), 2)
        return
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            data = json.loads(text)
            yield from enumerate(data, 1)
            return
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield lineno, json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON or JSON lines ({exc.msg} at line {exc.lineno}); "
                          "ratings files are .csv, a JSON array or JSON lines") from None


def parse_ratings(path: Path, default_source: str | None = None) -> list[dict[str, Any]]:
    """Validated rating rows of a file; the first bad row raises one line naming it."""
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for where, record in _records(path):
        if not isinstance(record, Mapping):
            raise ConfigError(f"{path}: record {where} is not an object")
        conversation = str(record.get("conversation_id") or "").strip()
        source = str(record.get("source") or default_source or "").strip()
        if not conversation or not source:
            raise ConfigError(f"{path}: record {where} needs conversation_id and source")
        try:
            score = float(record["score"])
            scale = float(record.get("scale_max") or 1.0)
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"{path}: record {where}: score (and scale_max) must be numbers") from None
        if scale <= 0 or not 0 <= score <= scale:
            raise ConfigError(f"{path}: record {where}: score {score:g} is outside 0..{scale:g} "
                              "(give scale_max for scores above 1)")
        rater = str(record.get("rater") or "reviewer").strip().lower()
        if rater not in _RATERS:
            raise ConfigError(f"{path}: record {where}: rater must be 'self' or 'reviewer'")
        agent = record.get("agent_id")
        rows.append({"source": source, "conversation_id": conversation, "rater": rater,
                     "agent_id": str(agent) if agent not in (None, "") else None,
                     "score": score / scale, "imported_at": now})
    return rows


def import_ratings(store: Store, path: Path, default_source: str | None = None) -> int:
    """Load a ratings file into the store (replacing earlier ratings of the same keys)."""
    rows = parse_ratings(path, default_source)
    r = m.empathy_ratings
    with store.transaction() as conn:
        keys = [(x["source"], x["conversation_id"], x["rater"]) for x in rows]
        for start in range(0, len(keys), 300):
            conn.execute(delete(r).where(tuple_(r.c.source, r.c.conversation_id, r.c.rater)
                                         .in_(keys[start:start + 300])))
        if rows:
            conn.execute(r.insert(), rows)
    return len(rows)


def rating_metrics(run: Run) -> list[EmpathyMetric]:
    """Internal scores, and their rank correlation with the customer's view of the same
    conversations (closing sentiment, sentiment recovery, CSAT) and with the rubric."""
    r, f = m.empathy_ratings, m.conversation_facts
    conf = run.settings.confidence
    query = (select(r.c.rater, r.c.score, f.c.closing_sentiment, f.c.recovery, f.c.csat_good,
                    f.c.csat_n, f.c.mean_empathy)
             .select_from(r.join(f, (f.c.source == r.c.source)
                                 & (f.c.conversation_id == r.c.conversation_id)))
             .where(*run.period(f)))
    by_rater: dict[str, dict[str, list[list[float]]]] = {}
    scores: dict[str, list[float]] = {}
    for row in run.conn.execution_options(yield_per=5000).execute(query):
        scores.setdefault(row.rater, []).append(float(row.score))
        pairs = by_rater.setdefault(row.rater, {})
        external = {
            "closing_sentiment": row.closing_sentiment, "sentiment_recovery": row.recovery,
            "csat": row.csat_good / row.csat_n if row.csat_n else None,
            "rubric_empathy": row.mean_empathy,
        }
        for name, value in external.items():
            if value is not None:
                xs = pairs.setdefault(name, [[], []])
                xs[0].append(float(row.score))
                xs[1].append(float(value))
    out: list[EmpathyMetric] = []
    for rater, values in sorted(scores.items()):
        out.append(run.metric(
            "internal_empathy_score",
            mean_interval(len(values), sum(values), sum(v * v for v in values), conf),
            f"mean imported {rater}-assessed empathy score (0..1); n = rated conversations in "
            "the period", rater, dimension="rater"))
        for name, pair in sorted(by_rater.get(rater, {}).items()):
            est = rank_correlation(pair[0], pair[1], conf)
            out.append(run.metric(
                f"internal_vs_{name}", est,
                f"Spearman rank correlation between the {rater}-assessed empathy score and the "
                f"conversation's {name.replace('_', ' ')} (scipy.stats.spearmanr; interval: "
                "Fisher z on ranks); n = rated conversations with that measure", rater,
                dimension="rater"))
    return out
