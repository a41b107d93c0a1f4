"""Listening rules: which public posts match, and when a spike of them is a spike.

Pure functions over canonical models (``matches``, ``spike_verdict``, bucket arithmetic) plus
:class:`WindowCounts`, which keeps the per-rule bucket counts in the store so sliding windows
and baselines survive restarts. Rules are data (:mod:`empathy_bridge.social.settings`), never
evaluated code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, delete, func, select, update

from empathy_bridge.schemas import AuthorRole, EmotionalContext, Interaction
from empathy_bridge.social import tables as st
from empathy_bridge.social.settings import Match, SpikeRule
from empathy_bridge.store import Store

__all__ = ["SpikeVerdict", "WindowCounts", "bucket_floor", "matches", "spike_verdict",
           "window_buckets"]


@lru_cache(maxsize=1024)
def _term(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(term.lower()) + r"(?!\w)")


def _has(text: str, term: str) -> bool:
    return _term(term).search(text) is not None


def matches(match: Match, interaction: Interaction, context: EmotionalContext | None) -> bool:
    """Whether a post meets every condition given in ``match``.

    Conditions on the emotional reading (states, sentiment, intensity, tier) never match a post
    that has no context yet.
    """
    if match.customers_only and interaction.author_role is not AuthorRole.CUSTOMER:
        return False
    if match.sources and interaction.source not in match.sources:
        return False
    text = interaction.text.lower()
    if match.terms and not any(_has(text, term) for term in match.terms):
        return False
    if match.all_terms and not all(_has(text, term) for term in match.all_terms):
        return False
    if match.exclude_terms and any(_has(text, term) for term in match.exclude_terms):
        return False
    if match.languages:
        language = interaction.language or (context.language if context else None)
        if language not in match.languages:
            return False
    if match.min_followers is not None:
        followers = interaction.author.followers if interaction.author else None
        if followers is None or followers < match.min_followers:
            return False
    emotional = (match.states or match.sentiment_below is not None
                 or match.sentiment_above is not None or match.min_intensity is not None
                 or match.min_tier is not None)
    if emotional and context is None:
        return False
    if context is not None:
        if match.states and context.state not in match.states:
            return False
        if match.sentiment_below is not None and not context.sentiment < match.sentiment_below:
            return False
        if match.sentiment_above is not None and not context.sentiment > match.sentiment_above:
            return False
        if match.min_intensity is not None and context.intensity < match.min_intensity:
            return False
        if match.min_tier is not None and context.tier < match.min_tier:
            return False
    return True


def bucket_floor(ts: datetime, minutes: int) -> datetime:
    """Start of the ``minutes``-wide bucket holding ``ts`` (buckets aligned to the epoch)."""
    seconds = minutes * 60
    epoch = int(ts.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def window_buckets(rule: SpikeRule, now: datetime) -> tuple[datetime, datetime, datetime]:
    """(baseline start, current window start, end) as bucket starts; end is exclusive."""
    size = timedelta(minutes=rule.bucket_minutes)
    per_window = max(1, rule.window_minutes // rule.bucket_minutes)
    end = bucket_floor(now, rule.bucket_minutes) + size
    start = end - per_window * size
    baseline_start = start - rule.baseline_windows * per_window * size
    return baseline_start, start, end


@dataclass(frozen=True)
class SpikeVerdict:
    """The numbers behind a spike decision."""

    current: int
    baseline: float
    threshold: float
    firing: bool


def spike_verdict(rule: SpikeRule, current: int, baseline_total: int) -> SpikeVerdict:
    """Whether ``current`` matching posts in the window make a spike against the baseline."""
    baseline = baseline_total / rule.baseline_windows
    threshold = rule.factor * max(baseline, rule.baseline_floor)
    return SpikeVerdict(current, baseline, threshold,
                        current >= rule.min_count and current >= threshold)


class WindowCounts:
    """Per-rule counts of matching posts by time bucket, in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, conn: Connection, rule: str, bucket: datetime, n: int = 1) -> None:
        """Count ``n`` more matching posts in ``bucket`` (caller's transaction)."""
        changed = conn.execute(update(st.window_counts).where(
            st.window_counts.c.rule == rule, st.window_counts.c.bucket_start == bucket).values(
            count=st.window_counts.c.count + n)).rowcount
        if not changed:
            conn.execute(st.window_counts.insert().values(rule=rule, bucket_start=bucket, count=n))

    def total(self, rule: str, start: datetime, end: datetime) -> int:
        """Matching posts counted in buckets starting in ``[start, end)``."""
        with self.store.engine.connect() as conn:
            value = conn.execute(select(func.coalesce(func.sum(st.window_counts.c.count), 0)).where(
                st.window_counts.c.rule == rule, st.window_counts.c.bucket_start >= start,
                st.window_counts.c.bucket_start < end)).scalar_one()
        return int(value)

    def prune(self, rule: str, before: datetime) -> None:
        """Forget buckets older than any baseline still needs."""
        with self.store.transaction() as conn:
            conn.execute(delete(st.window_counts).where(st.window_counts.c.rule == rule,
                                                        st.window_counts.c.bucket_start < before))
