"""Outcome metrics: first-contact resolution, repeat contact, their correlation with empathy,
the high-empathy cohort comparison and the high-impact segments.

"Observable" matters here: whether a customer came back within N days is only known for
conversations that ended at least N days before the newest message in the store (the horizon),
so only those count in ``n``. Rows are streamed from SQL; correlations keep two floats per
conversation, cohorts one accumulator per cohort.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from empathy_bridge.metrics import tables as m
from empathy_bridge.metrics.query import Run
from empathy_bridge.metrics.stats import Estimate, correlation, diff_proportions, proportion
from empathy_bridge.schemas import EmpathyMetric

__all__ = ["cohort_metrics", "outcome_metrics", "segment_metrics"]

_f = m.conversation_facts
_DAY = 86_400.0
#: Windows of "continued activity" in the cohort comparison, in days.
ACTIVITY_DAYS = (30, 60, 90)


def _window(run: Run) -> float:
    return run.settings.repeat_window_days


def _observable(run: Run) -> Any:
    return _f.c.last_ts <= run.horizon_ts - _window(run) * _DAY


def _repeat(run: Run) -> Any:
    return case((and_(_f.c.next_gap_days.is_not(None),
                      _f.c.next_gap_days <= _window(run)), 1), else_=0)


def _fcr(run: Run) -> Any:
    return case((and_(_f.c.resolved == 1, _f.c.n_customer <= 1,
                      or_(_f.c.next_gap_days.is_(None), _f.c.next_gap_days > _window(run))), 1),
                else_=0)


def _stream(run: Run, columns: list[Any], where: list[Any]) -> Iterator[Any]:
    dim = run.dim(_f)
    query = select((dim if dim is not None else _f.c.source).label("dim"), *columns).where(
        *run.period(_f), *where)
    result = run.conn.execution_options(yield_per=5000).execute(query)
    yield from result


def outcome_metrics(run: Run) -> list[EmpathyMetric]:
    """FCR and repeat-contact rates, and their correlation with the empathy measures."""
    conf, days = run.settings.confidence, _window(run)
    out: list[EmpathyMetric] = []
    rows = run.grouped(_f, [func.count().label("n"), func.sum(_fcr(run)).label("fcr"),
                            func.sum(_repeat(run)).label("repeat")],
                       where=[_observable(run), _f.c.n_customer >= 1])
    for row in rows:
        n = int(row.n)
        out.append(run.metric(
            "first_contact_resolution", proportion(int(row.fcr or 0), n, conf),
            f"share of conversations resolved (status in [metrics] resolved_statuses) after a "
            f"single customer message, with no new conversation by the same customer within "
            f"{days:g} days; n = conversations that ended at least {days:g} days before the "
            "newest message in the store", row.dim))
        out.append(run.metric(
            "repeat_contact_rate", proportion(int(row.repeat or 0), n, conf),
            f"share of conversations followed by a new conversation of the same customer (same "
            f"source and customer id) within {days:g} days of their last message; n = "
            f"conversations that ended at least {days:g} days before the newest message", row.dim))
    measures = {"empathy": 0, "personalisation": 1, "listening": 2}
    pairs: dict[Any, list[list[float]]] = {}
    for row in _stream(run, [_f.c.mean_empathy, _f.c.personalised_share, _f.c.listening_share,
                             _fcr(run).label("fcr"), _repeat(run).label("repeat")],
                       [_observable(run), _f.c.n_customer >= 1, _f.c.mean_empathy.is_not(None)]):
        lists = pairs.setdefault(row.dim if run.dim(_f) is not None else None,
                                 [[], [], [], [], []])
        for index, value in enumerate((row.mean_empathy, row.personalised_share,
                                       row.listening_share, row.fcr, row.repeat)):
            lists[index].append(float(value))
    labels = {"empathy": "mean reply empathy score", "personalisation": "share of personalised "
              "replies", "listening": "share of replies with active listening"}
    for dim, lists in pairs.items():
        for measure, index in measures.items():
            for outcome, column in (("fcr", 3), ("repeat_contact", 4)):
                est = correlation(lists[index], lists[column], conf)
                out.append(run.metric(
                    f"corr_{measure}_{outcome}", est,
                    f"Pearson (point-biserial) correlation between the conversation's "
                    f"{labels[measure]} and its {outcome.replace('_', ' ')} flag, Fisher-z "
                    f"interval (scipy.stats.pearsonr){_p(est)}; n = observable conversations with "
                    "at least one reply", dim))
    return out


def _p(est: Estimate) -> str:
    return f", p = {est.p_value:.3g}" if est.p_value is not None else ""


@dataclass
class _Cohort:
    customers: int = 0
    repeat_n: int = 0
    repeat_k: int = 0
    csat_n: int = 0
    csat_k: int = 0
    active_n: dict[int, int] = field(default_factory=lambda: dict.fromkeys(ACTIVITY_DAYS, 0))
    active_k: dict[int, int] = field(default_factory=lambda: dict.fromkeys(ACTIVITY_DAYS, 0))


def cohort_metrics(run: Run) -> list[EmpathyMetric]:
    """High-empathy customers vs the rest: repeat contact, CSAT, continued activity."""
    conf, days, s = run.settings.confidence, _window(run), run.settings
    weighted = func.sum(_f.c.mean_empathy * _f.c.n_replies)
    per_customer = (
        select(_f.c.source, _f.c.customer_id,
               (weighted / func.nullif(func.sum(case((_f.c.mean_empathy.is_not(None),
                                                      _f.c.n_replies), else_=0)), 0))
               .label("empathy"),
               func.min(_f.c.first_ts).label("first_ts"), func.max(_f.c.last_ts).label("last_ts"),
               func.max(_repeat(run)).label("repeat"), func.sum(_f.c.csat_good).label("csat_k"),
               func.sum(_f.c.csat_n).label("csat_n"))
        .where(*run.period(_f), _f.c.customer_id.is_not(None))
        .group_by(_f.c.source, _f.c.customer_id))
    cohorts = {"high_empathy": _Cohort(), "rest": _Cohort()}
    for row in run.conn.execution_options(yield_per=5000).execute(per_customer):
        if row.empathy is None:
            continue
        cohort = cohorts["high_empathy" if row.empathy >= s.high_empathy else "rest"]
        cohort.customers += 1
        if row.first_ts <= run.horizon_ts - days * _DAY:
            cohort.repeat_n += 1
            cohort.repeat_k += int(row.repeat or 0)
        cohort.csat_n += int(row.csat_n or 0)
        cohort.csat_k += int(row.csat_k or 0)
        for d in ACTIVITY_DAYS:
            if row.first_ts + d * _DAY <= run.horizon_ts:
                cohort.active_n[d] += 1
                cohort.active_k[d] += int(row.last_ts >= row.first_ts + d * _DAY)
    split = (f"customers whose replies averaged an empathy score of at least "
             f"{s.high_empathy:g} ([metrics] high_empathy) form 'high_empathy', the others 'rest'")
    outcomes: list[tuple[str, str, Any]] = [
        ("repeat_contact", f"share of customers with a repeat contact within {days:g} days "
         f"(customers first seen at least {days:g} days before the horizon)",
         lambda c: (c.repeat_k, c.repeat_n)),
        ("csat", "share of survey answers rated satisfied (good, or 4-5 of 5); n = survey answers",
         lambda c: (c.csat_k, c.csat_n)),
    ]
    for d in ACTIVITY_DAYS:
        outcomes.append((f"active_{d}d", f"share of customers seen again at least {d} days after "
                         f"their first contact (customers first seen at least {d} days before "
                         "the horizon)", lambda c, d=d: (c.active_k[d], c.active_n[d])))
    out: list[EmpathyMetric] = []
    for outcome, text, counts in outcomes:
        for name, cohort in cohorts.items():
            k, n = counts(cohort)
            out.append(run.metric(f"cohort_{outcome}", proportion(k, n, conf),
                                  f"{text}; {split}", name, dimension="cohort"))
        (k1, n1), (k2, n2) = counts(cohorts["high_empathy"]), counts(cohorts["rest"])
        est = diff_proportions(k1, n1, k2, n2, conf)
        out.append(run.metric(
            f"cohort_{outcome}_difference", est,
            f"high_empathy minus rest in {text.split(' (')[0]}; Newcomb interval and two-sided "
            f"test (statsmodels){_p(est)}; {split}", "high_empathy - rest", dimension="cohort"))
    return out


def segment_metrics(run: Run) -> list[EmpathyMetric]:
    """Where emotional disconnection goes with repeat contact or lost activity: the high-impact
    segments. Breaks down by ``--by`` (default: customer segment)."""
    conf, days, s = run.settings.confidence, _window(run), run.settings
    dim = run.dim(_f) if run.query.by else None
    if dim is None:
        dim = _f.c.segment
    dimension = run.query.by or "segment"
    disconnected = or_(_f.c.mean_empathy < s.low_empathy, _f.c.recovery < 0)
    flag = case((disconnected, 1), else_=0)
    lost_days = s.lost_activity_days
    lost = case((or_(_f.c.next_gap_days.is_(None), _f.c.next_gap_days > lost_days), 1), else_=0)
    lost_observable = _f.c.last_ts <= run.horizon_ts - lost_days * _DAY
    outcomes = [
        ("disconnection_repeat_lift", _repeat(run), _observable(run),
         f"repeat-contact rate ({days:g} days)",
         f"conversations that ended at least {days:g} days before the horizon"),
        ("disconnection_lost_activity_lift", lost, lost_observable,
         f"lost-activity rate (customer not seen again within {lost_days:g} days)",
         f"conversations that ended at least {lost_days:g} days before the horizon"),
    ]
    out = []
    for name, outcome, observable, label, population in outcomes:
        query = (select(dim.label("dim"), flag.label("disc"), func.count().label("n"),
                        func.sum(outcome).label("k"))
                 .where(*run.period(_f), observable, _f.c.mean_empathy.is_not(None))
                 .group_by(dim, flag))
        groups: dict[Any, dict[int, tuple[int, int]]] = {}
        for row in run.conn.execute(query):
            groups.setdefault(row.dim, {})[int(row.disc)] = (int(row.k or 0), int(row.n))
        for value, parts in groups.items():
            k1, n1 = parts.get(1, (0, 0))
            k2, n2 = parts.get(0, (0, 0))
            est = diff_proportions(k1, n1, k2, n2, conf)
            out.append(run.metric(
                name, est,
                f"{label} of emotionally disconnected conversations (reply empathy below "
                f"{s.low_empathy:g} or customer sentiment fell) minus that of the others in the "
                f"same group; a lower interval bound above 0 marks a high-impact segment; "
                f"Newcomb interval (statsmodels){_p(est)}; n = {population}, with a reply "
                f"({n1} disconnected)", value, dimension=dimension))
    return out
