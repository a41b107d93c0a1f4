"""Agent emotional load: high-intensity customer messages answered per agent per shift.

A shift is a fixed slot of ``[metrics] shift_hours`` starting at ``shift_start_hour`` UTC; an
agent "handles" a message by replying to it. A shift with more than ``load_threshold`` such
messages is flagged (empathy fatigue). Replies are streamed; the state kept is one counter per
(agent, shift).
"""

from __future__ import annotations

import statistics
from collections import Counter

from sqlalchemy import select

from empathy_bridge.metrics import tables as m
from empathy_bridge.metrics.query import Run
from empathy_bridge.metrics.stats import Estimate, mean_interval
from empathy_bridge.schemas import AuthorRole, EmpathyMetric

__all__ = ["agent_load", "load_metrics"]


def agent_load(run: Run) -> dict[str, Counter[int]]:
    """agent id -> {shift index: high-intensity messages answered} for every shift worked."""
    s = run.settings
    a = m.reply_assessments
    length = s.shift_hours * 3600.0
    offset = s.shift_start_hour * 3600.0
    query = select(a.c.agent_id, a.c.created_ts, a.c.answered_intensity).where(
        *run.period(a), a.c.author_role == AuthorRole.AGENT.value, a.c.agent_id.is_not(None))
    load: dict[str, Counter[int]] = {}
    for row in run.conn.execution_options(yield_per=5000).execute(query):
        shift = int((row.created_ts - offset) // length)
        shifts = load.setdefault(row.agent_id, Counter())
        high = row.answered_intensity is not None and row.answered_intensity >= s.high_intensity
        shifts[shift] += int(high)
    return load


def load_metrics(run: Run) -> list[EmpathyMetric]:
    """Per agent: mean high-intensity load per shift worked and the number of flagged shifts."""
    s = run.settings
    out: list[EmpathyMetric] = []
    for agent, shifts in sorted(agent_load(run).items()):
        counts = list(shifts.values())
        n = len(counts)
        total = float(sum(counts))
        squares = float(sum(c * c for c in counts))
        out.append(run.metric(
            "agent_emotional_load", mean_interval(n, total, squares, s.confidence),
            f"mean number of customer messages with intensity >= {s.high_intensity:g} the agent "
            f"replied to per {s.shift_hours:g}-hour shift worked; n = shifts with at least one "
            "reply by the agent", agent, dimension="agent"))
        flagged = sum(c > s.load_threshold for c in counts)
        out.append(run.metric(
            "agent_overloaded_shifts", Estimate(float(flagged), n),
            f"number of shifts in which the agent answered more than {s.load_threshold} "
            f"high-intensity messages ([metrics] load_threshold); n = shifts worked"
            + (f", busiest shift {max(counts)}" if counts else "")
            + (f", median {statistics.median(counts):g}" if counts else ""),
            agent, dimension="agent"))
    return out
