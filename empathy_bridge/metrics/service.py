"""Service metrics: reply rubric rates, escalation, tone consistency, sentiment, SLA by tier.

Every figure here is one SQL aggregate over a rollup table (``reply_assessments`` or
``conversation_facts``), grouped by the requested dimension; intervals come from
:mod:`empathy_bridge.metrics.stats`.
"""

from __future__ import annotations

from sqlalchemy import case, func, or_

from empathy_bridge.metrics import tables as m
from empathy_bridge.metrics.query import Run
from empathy_bridge.metrics.stats import mean_interval, proportion, std_dev
from empathy_bridge.schemas import EmpathyMetric, Tier

__all__ = ["escalation_metrics", "reply_metrics", "sentiment_metrics", "sla_metrics"]

_a = m.reply_assessments
_f = m.conversation_facts

_REPLY_RATES = [
    ("personalisation_rate", _a.c.personalised,
     "share of agent and bot replies that use the customer's name or repeat at least "
     "[assessment] min_specifics content words of the customer message they answer"),
    ("active_listening_rate", _a.c.listening,
     "share of agent and bot replies with at least one active-listening marker: validation, "
     "acknowledgment of the customer's emotion, or a paraphrase"),
    ("validation_rate", _a.c.validation,
     "share of agent and bot replies that validate the customer (\"that's completely "
     "understandable\", \"you're right\")"),
    ("emotion_acknowledgment_rate", _a.c.acknowledgment,
     "share of agent and bot replies that acknowledge the emotion (apology, \"I can see how "
     "frustrating\", naming the customer's detected state)"),
    ("next_step_rate", _a.c.next_step,
     "share of agent and bot replies that state a next step (\"I'll\", \"within 2 hours\", "
     "\"please try\")"),
]

_REPLY_MEANS = [
    ("reply_empathy_score", _a.c.empathy,
     "mean rubric score (0..1) of agent and bot replies: mean of personalisation, active "
     "listening, tone and clarity"),
    ("reply_clarity", _a.c.clarity,
     "mean clarity (0..1) of agent and bot replies: sentence length, jargon the customer did not "
     "use, a next step"),
    ("reply_tone", _a.c.tone,
     "mean sentiment (-1..1) of agent and bot replies, from the analyzer's reading of the reply"),
]


def reply_metrics(run: Run) -> list[EmpathyMetric]:
    """Rubric rates and means over the replies sent in the period (n = replies)."""
    out: list[EmpathyMetric] = []
    conf = run.settings.confidence
    rate_aggs = [func.count().label("n")] + [
        func.sum(column).label(name) for name, column, _ in _REPLY_RATES]
    for row in run.grouped(_a, rate_aggs):
        n = int(row.n or 0)
        for name, _, definition in _REPLY_RATES:
            out.append(run.metric(name, proportion(int(getattr(row, name) or 0), n, conf),
                                  definition + "; n = replies", row.dim))
    mean_aggs = []
    for name, column, _ in _REPLY_MEANS:
        mean_aggs += [func.count(column).label(f"{name}_n"), func.sum(column).label(f"{name}_s"),
                      func.sum(column * column).label(f"{name}_ss")]
    for row in run.grouped(_a, mean_aggs):
        for name, _, definition in _REPLY_MEANS:
            est = mean_interval(int(getattr(row, f"{name}_n") or 0),
                                float(getattr(row, f"{name}_s") or 0.0),
                                float(getattr(row, f"{name}_ss") or 0.0), conf)
            out.append(run.metric(name, est, definition + "; n = replies", row.dim))
    return out


def escalation_metrics(run: Run) -> list[EmpathyMetric]:
    """Escalation frequency over the conversations started in the period (n = conversations)."""
    conf = run.settings.confidence
    any_escalation = case((or_(_f.c.priority_raised == 1, _f.c.transferred == 1,
                               _f.c.handoff == 1), 1), else_=0)
    rows = run.grouped(_f, [func.count().label("n"), func.sum(any_escalation).label("any"),
                            func.sum(_f.c.priority_raised).label("raised"),
                            func.sum(_f.c.transferred).label("transferred"),
                            func.sum(_f.c.handoff).label("handoff")])
    specs = [
        ("escalation_rate", "any",
         "share of conversations escalated: priority raised, transferred or handed off"),
        ("priority_raised_rate", "raised",
         "share of conversations whose priority was raised (decision raised_from, or a priority "
         "write in the write-back ledger)"),
        ("transfer_rate", "transferred",
         "share of conversations transferred: the handling team changed, or a case was opened in "
         "another system"),
        ("handoff_rate", "handoff", "share of conversations handed from a bot to a human"),
    ]
    out = []
    for row in rows:
        for name, key, definition in specs:
            out.append(run.metric(name, proportion(int(getattr(row, key) or 0), int(row.n), conf),
                                  definition + "; n = conversations started in the period",
                                  row.dim))
    return out


def sentiment_metrics(run: Run) -> list[EmpathyMetric]:
    """Tone consistency, sentiment recovery and unprompted positive sentiment."""
    conf = run.settings.confidence
    rows = run.grouped(_f, [
        func.count(_f.c.agent_tone).label("tone_n"), func.sum(_f.c.agent_tone).label("tone_s"),
        func.sum(_f.c.agent_tone * _f.c.agent_tone).label("tone_ss"),
        func.count(_f.c.recovery).label("rec_n"), func.sum(_f.c.recovery).label("rec_s"),
        func.sum(_f.c.recovery * _f.c.recovery).label("rec_ss"),
        func.sum(_f.c.n_positive).label("pos"), func.sum(_f.c.n_customer).label("msgs"),
    ])
    out = []
    for row in rows:
        out.append(run.metric(
            "agent_tone_spread",
            std_dev(int(row.tone_n or 0), float(row.tone_s or 0), float(row.tone_ss or 0)),
            "resolution tone consistency: standard deviation, across conversations, of the mean "
            "sentiment of the agent replies in each conversation (lower is more consistent); "
            "n = conversations with an agent reply", row.dim))
        out.append(run.metric(
            "agent_tone_mean",
            mean_interval(int(row.tone_n or 0), float(row.tone_s or 0), float(row.tone_ss or 0),
                          conf),
            "mean, across conversations, of the mean sentiment (-1..1) of the agent replies; "
            "n = conversations with an agent reply", row.dim))
        out.append(run.metric(
            "sentiment_recovery",
            mean_interval(int(row.rec_n or 0), float(row.rec_s or 0), float(row.rec_ss or 0),
                          conf),
            "mean of closing minus opening customer sentiment (-2..2) per conversation; "
            "n = conversations with at least two customer messages", row.dim))
        out.append(run.metric(
            "unprompted_positive_rate", proportion(int(row.pos or 0), int(row.msgs or 0), conf),
            "share of customer messages that are not survey answers with sentiment above "
            "[metrics] positive_threshold; n = customer messages (non-survey) in conversations "
            "started in the period", row.dim))
    return out


def sla_metrics(run: Run) -> list[EmpathyMetric]:
    """SLA attainment per emotional tier: first agent reply by the decision's due time."""
    conf = run.settings.confidence
    rows = run.grouped(_f, [func.count().label("n"), func.sum(_f.c.sla_met).label("met")],
                       where=[_f.c.sla_met.is_not(None), _f.c.tier.is_not(None)],
                       extra_group=_f.c.tier)
    order = {tier.value: tier.rank for tier in Tier}
    out = []
    totals: dict[object, tuple[int, int]] = {}
    for row in sorted(rows, key=lambda r: (str(r.dim), order.get(r.extra, 9))):
        n, met = int(row.n), int(row.met or 0)
        out.append(run.metric(
            f"sla_attainment_{row.extra}", proportion(met, n, conf),
            f"share of {row.extra}-tier conversations whose first agent reply after the decided "
            "customer message came by the decision's due_at (unanswered and overdue counts as "
            "missed; unanswered and not yet due is left out); n = conversations", row.dim))
        k0, n0 = totals.get(row.dim, (0, 0))
        totals[row.dim] = (k0 + met, n0 + n)
    for dim, (met, n) in totals.items():
        out.append(run.metric(
            "sla_attainment", proportion(met, n, conf),
            "share of conversations with a due time whose first agent reply after the decided "
            "customer message came by due_at, all tiers; n = conversations", dim))
    return out
