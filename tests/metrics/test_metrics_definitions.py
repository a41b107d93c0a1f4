"""Metric definitions on a small hand-computed fixture (four conversations, three customers).

Fixture (T0 = 2026-06-01 09:00 UTC, source "desk"):

- A, Alice (enterprise, billing): upset customer (-0.6, intensity 0.8) → personalised, apologetic
  reply by a1 after 20 min → customer +0.5, status solved → CSAT survey "good".
  Decision: distressed, due in 30 min (met).
- B, Bob (smb, tech), day 1: confused customer (-0.2) → generic reply by a2 after 180 min.
  Decision: concerned, due in 60 min (missed), priority raised from "low".
- C, Alice again, day 3 (a repeat within 7 days of A): one question (0.0) → a1 replies, closed.
- D, Dave (smb, tech), day 30 (sets the horizon): praise (+0.8, intensity 0.6) → a2, solved.
"""

from __future__ import annotations

import statistics
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from scipy import stats
from sqlalchemy import select, update
from statsmodels.stats.proportion import proportion_confint

from empathy_bridge.errors import ConfigError
from empathy_bridge.metrics import (
    MetricQuery,
    MetricsSettings,
    compute_metrics,
    refresh,
)
from empathy_bridge.metrics import tables as m
from empathy_bridge.metrics.ratings import import_ratings
from empathy_bridge.schemas import EmotionalState, EmpathyMetric, Party
from empathy_bridge.store import Store

T0_MINUTES_PER_DAY = 24 * 60


@pytest.fixture
def world(desk: Any, M: Any, alice: Party, bob: Party) -> Store:
    from datetime import UTC, datetime

    t0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    dave = Party(source="desk", id="c-dave", name="Dave Quinn", segment="smb")
    desk.conversation("A", alice, [
        M("customer", "My refund for the duplicate invoice has not arrived, I'm really upset.",
          0, -0.6, 0.8, EmotionalState.FRUSTRATION, team="billing"),
        M("agent", "Alice, I'm so sorry about the duplicate invoice. I'll refund you today.", 20,
          0.3, author="a1", team="billing"),
        M("customer", "Thanks, that works.", 60, 0.5, 0.3, EmotionalState.SATISFACTION,
          status="solved", team="billing"),
        M("customer", "Rated good", 120, 0.4, kind="survey", fields={"score": "good"},
          channel="survey", team="billing"),
    ], start=t0, decision={"tier": "distressed", "due_minutes": 30})
    desk.conversation("B", bob, [
        M("customer", "The export button is missing from the reports page.", 0, -0.2, 0.2,
          EmotionalState.CONFUSION, team="tech", channel="chat"),
        M("agent", "Please see the attached guide.", 180, 0.0, author="a2", team="tech",
          channel="chat"),
    ], start=t0 + timedelta(days=1),
        decision={"tier": "concerned", "due_minutes": 60, "raised_from": "low"})
    desk.conversation("C", alice, [
        M("customer", "Another question about my invoice.", 0, 0.0, 0.1, team="billing"),
        M("agent", "Here is how to download it: open Billing.", 10, 0.1, author="a1",
          status="closed", team="billing"),
    ], start=t0 + timedelta(days=3))
    desk.conversation("D", dave, [
        M("customer", "Great service, thank you!", 0, 0.8, 0.6, EmotionalState.SATISFACTION,
          team="tech"),
        M("agent", "Glad to hear it!", 5, 0.6, author="a2", status="solved", team="tech"),
    ], start=t0 + timedelta(days=30))
    refresh(desk.store, SETTINGS)
    return desk.store  # type: ignore[no-any-return]


SETTINGS = MetricsSettings(high_empathy=0.5, load_threshold=1)


def _get(metrics: list[EmpathyMetric], name: str, value: str | None = None) -> EmpathyMetric:
    found = [x for x in metrics if x.name == name
             and (value is None or x.dimension_value == value)]
    assert len(found) == 1, (name, value, [(x.name, x.dimension_value) for x in metrics])
    return found[0]


def test_reply_rates_with_wilson_intervals(world: Store) -> None:
    metrics = compute_metrics(world, SETTINGS, families=["replies"])
    personalised = _get(metrics, "personalisation_rate")
    assert (personalised.value, personalised.n) == (0.25, 4)
    low, high = proportion_confint(1, 4, alpha=0.05, method="wilson")
    assert personalised.ci_low == pytest.approx(low, abs=1e-6)
    assert personalised.ci_high == pytest.approx(high, abs=1e-6)
    assert "n = replies" in personalised.definition
    assert _get(metrics, "active_listening_rate").value == 0.25
    assert _get(metrics, "next_step_rate").value == 0.5  # "I'll", "Here is how"


def test_breakdown_by_team_and_agent(world: Store) -> None:
    by_team = compute_metrics(world, SETTINGS, MetricQuery(by="team"), ["replies"])
    billing = _get(by_team, "personalisation_rate", "billing")
    assert (billing.value, billing.n, billing.dimension) == (0.5, 2, "team")
    assert _get(by_team, "personalisation_rate", "tech").value == 0.0
    by_agent = compute_metrics(world, SETTINGS, MetricQuery(by="agent"), ["escalation"])
    assert _get(by_agent, "escalation_rate", "a2").value == 0.5  # B raised, D not


def test_escalation(world: Store) -> None:
    metrics = compute_metrics(world, SETTINGS, families=["escalation"])
    assert (_get(metrics, "escalation_rate").value, _get(metrics, "escalation_rate").n) == (0.25, 4)
    assert _get(metrics, "priority_raised_rate").value == 0.25
    assert _get(metrics, "transfer_rate").value == 0.0
    assert _get(metrics, "handoff_rate").value == 0.0


def test_sentiment_metrics(world: Store) -> None:
    metrics = compute_metrics(world, SETTINGS, families=["sentiment"])
    recovery = _get(metrics, "sentiment_recovery")
    assert recovery.value == pytest.approx(1.1) and recovery.n == 1
    positive = _get(metrics, "unprompted_positive_rate")
    assert (positive.value, positive.n) == (0.4, 5)  # the survey answer is not counted
    spread = _get(metrics, "agent_tone_spread")
    assert spread.value == pytest.approx(statistics.stdev([0.3, 0.0, 0.1, 0.6]), abs=1e-6)
    assert spread.n == 4


def test_sla_attainment_by_tier(world: Store) -> None:
    metrics = compute_metrics(world, SETTINGS, families=["sla"])
    assert (_get(metrics, "sla_attainment_distressed").value,
            _get(metrics, "sla_attainment_distressed").n) == (1.0, 1)
    assert _get(metrics, "sla_attainment_concerned").value == 0.0
    assert (_get(metrics, "sla_attainment").value, _get(metrics, "sla_attainment").n) == (0.5, 2)


def test_fcr_repeat_and_correlation(world: Store) -> None:
    metrics = compute_metrics(world, SETTINGS, families=["outcomes"])
    fcr, repeat = _get(metrics, "first_contact_resolution"), _get(metrics, "repeat_contact_rate")
    # D ended less than 7 days before the horizon (its own last message): not observable.
    assert (fcr.value, fcr.n) == (pytest.approx(1 / 3), 3)  # only C: resolved, one message
    assert (repeat.value, repeat.n) == (pytest.approx(1 / 3), 3)  # A, followed by C
    corr = _get(metrics, "corr_empathy_fcr")
    with world.engine.connect() as conn:
        rows = conn.execute(select(m.conversation_facts.c.conversation_id,
                                   m.conversation_facts.c.mean_empathy)
                            .order_by(m.conversation_facts.c.conversation_id)).all()
    empathy = {r.conversation_id: r.mean_empathy for r in rows}
    expected = stats.pearsonr([empathy["A"], empathy["B"], empathy["C"]], [0, 0, 1])
    assert corr.n == 3
    assert corr.value == pytest.approx(expected.statistic, abs=1e-6)
    assert corr.ci_low is None  # n = 3: Fisher z has no standard error yet


def test_cohorts(world: Store) -> None:
    metrics = compute_metrics(world, SETTINGS, families=["cohorts"])
    high = _get(metrics, "cohort_repeat_contact", "high_empathy")
    rest = _get(metrics, "cohort_repeat_contact", "rest")
    assert (high.value, high.n, rest.value, rest.n) == (1.0, 1, 0.0, 1)  # Alice vs Bob
    assert _get(metrics, "cohort_repeat_contact_difference").value == 1.0
    assert (_get(metrics, "cohort_csat", "high_empathy").value,
            _get(metrics, "cohort_csat", "high_empathy").n) == (1.0, 1)
    assert _get(metrics, "cohort_csat", "rest").n == 0
    active = _get(metrics, "cohort_active_30d", "high_empathy")
    assert (active.value, active.n) == (0.0, 1)  # Alice not seen 30 days after her first contact


def test_agent_load(world: Store) -> None:
    metrics = compute_metrics(world, SETTINGS, families=["load"])
    a1 = _get(metrics, "agent_emotional_load", "a1")
    assert (a1.value, a1.n) == (0.5, 2)  # A's reply answered intensity 0.8; C's did not
    assert _get(metrics, "agent_overloaded_shifts", "a1").value == 0.0
    busy = compute_metrics(world, MetricsSettings(high_intensity=0.05, load_threshold=1),
                           families=["load"])
    assert _get(busy, "agent_emotional_load", "a1").value == 1.0


def test_period_filter(world: Store) -> None:
    from datetime import UTC, datetime

    query = MetricQuery(since=datetime(2026, 6, 2, tzinfo=UTC),
                        until=datetime(2026, 6, 10, tzinfo=UTC))
    metrics = compute_metrics(world, SETTINGS, query, ["escalation", "replies"])
    assert _get(metrics, "escalation_rate").n == 2  # B and C
    assert _get(metrics, "personalisation_rate").n == 2
    assert _get(metrics, "escalation_rate").period_start == query.since


def test_unknown_dimension_is_one_line_error() -> None:
    with pytest.raises(ConfigError, match="unknown dimension"):
        MetricQuery(by="planet")


def test_refresh_is_incremental(world: Store, desk: Any, M: Any, bob: Party) -> None:
    assert refresh(world, SETTINGS).conversations == 0
    from datetime import UTC, datetime

    desk.conversation("B", bob, [
        M("customer", "The export button is missing from the reports page.", 0, -0.2, 0.2),
        M("agent", "Bob, sorry! The export button moved: open Reports, then Export.", 30, 0.2,
          author="a2"),
    ], start=datetime(2026, 6, 2, 9, 0, tzinfo=UTC))
    again = refresh(world, SETTINGS)
    assert (again.conversations, again.replies) == (1, 1)
    metrics = compute_metrics(world, SETTINGS, families=["replies"])
    assert _get(metrics, "personalisation_rate").value == 0.5


def test_removed_conversations_leave_the_rollups(world: Store) -> None:
    with world.transaction() as conn:
        world.delete_conversations(conn, "desk", ["D"])
    assert refresh(world, SETTINGS).removed == 1
    with world.engine.connect() as conn:
        assert conn.execute(select(m.reply_assessments.c.native_id).where(
            m.reply_assessments.c.conversation_id == "D")).all() == []


def test_min_n_withholds_values(world: Store) -> None:
    metrics = compute_metrics(world, MetricsSettings(min_n=5), families=["replies"])
    rate = _get(metrics, "personalisation_rate")
    assert rate.value is None and rate.n == 4 and rate.ci_low is None


def test_internal_vs_external_ratings(world: Store, tmp_path: Path) -> None:
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("conversation_id,source,score,scale_max,rater\n"
                       "A,desk,5,5,reviewer\nB,desk,2,5,reviewer\nC,desk,3,5,reviewer\n"
                       "D,desk,4,5,reviewer\nA,desk,0.9,,self\n", encoding="utf-8")
    assert import_ratings(world, ratings) == 5
    assert import_ratings(world, ratings) == 5  # re-import replaces, does not duplicate
    metrics = compute_metrics(world, SETTINGS, families=["ratings"])
    reviewer = _get(metrics, "internal_empathy_score", "reviewer")
    assert reviewer.value == pytest.approx((1.0 + 0.4 + 0.6 + 0.8) / 4) and reviewer.n == 4
    closing = _get(metrics, "internal_vs_closing_sentiment", "reviewer")
    expected = stats.spearmanr([1.0, 0.4, 0.6, 0.8], [0.5, -0.2, 0.0, 0.8])
    assert closing.n == 4 and closing.value == pytest.approx(expected.statistic, abs=1e-6)
    assert _get(metrics, "internal_empathy_score", "self").n == 1


@pytest.mark.parametrize(("content", "message"), [
    ("conversation_id,source,score\nA,desk,7\n", "outside 0..1"),
    ("conversation_id,source,score\nA,desk,abc\n", "must be numbers"),
    ("conversation_id,score\nA,0.5\n", "needs conversation_id and source"),
    ("conversation_id,source,score,rater\nA,desk,0.5,boss\n", "rater must be"),
])
def test_bad_ratings_are_one_line_errors(store: Store, tmp_path: Path, content: str,
                                         message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        import_ratings(store, path)


def test_ratings_json_lines(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"conversation_id": "A", "score": 0.7}\n', encoding="utf-8")
    assert import_ratings(store, path, default_source="desk") == 1


def test_sla_pending_is_left_out(world: Store) -> None:
    # A decision whose due time is in the future and has no reply yet is neither met nor missed.
    with world.transaction() as conn:
        conn.execute(update(m.conversation_facts).where(
            m.conversation_facts.c.conversation_id == "B").values(sla_met=None))
    metrics = compute_metrics(world, SETTINGS, families=["sla"])
    assert _get(metrics, "sla_attainment").n == 1


def test_interval_wrappers_match_the_libraries() -> None:
    from empathy_bridge.metrics.stats import correlation, diff_proportions, mean_interval

    x, y = [0.1, 0.4, 0.35, 0.8, 0.7, 0.9], [0, 0, 1, 1, 0, 1]
    est = correlation(x, y)
    ref = stats.pearsonr(x, y)
    ci = ref.confidence_interval(0.95)
    assert (est.value, est.n) == (pytest.approx(ref.statistic), 6)
    assert (est.low, est.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    values = [1.0, 2.0, 4.0]
    mean = mean_interval(3, sum(values), sum(v * v for v in values))
    low, high = stats.t.interval(0.95, 2, loc=statistics.fmean(values),
                                 scale=stats.sem(values))
    assert (mean.low, mean.high) == (pytest.approx(low), pytest.approx(high))
    diff = diff_proportions(30, 50, 20, 50)
    assert diff.value == pytest.approx(0.2) and diff.low is not None and diff.low < 0.2
    assert diff.p_value is not None and 0 < diff.p_value < 0.1
    assert correlation([1, 1, 1, 1], [0, 1, 0, 1]).value is None  # no variance: no figure


def test_reply_metrics_are_not_broken_down_by_tier(world: Store) -> None:
    metrics = compute_metrics(world, SETTINGS, MetricQuery(by="tier"), ["replies", "escalation"])
    assert not [x for x in metrics if x.name == "personalisation_rate"]
    assert _get(metrics, "escalation_rate", "distressed").n == 1


def test_high_impact_segments(world: Store) -> None:
    settings = MetricsSettings(low_empathy=0.5, lost_activity_days=20)
    metrics = compute_metrics(world, settings, families=["segments"])
    # enterprise: A (reply empathy ≥ 0.5, connected, repeat) and C (disconnected, no repeat).
    repeat = _get(metrics, "disconnection_repeat_lift", "enterprise")
    assert (repeat.value, repeat.n, repeat.dimension) == (-1.0, 2, "segment")
    # smb: only B is observable for repeats (D ended too recently); B is disconnected.
    assert _get(metrics, "disconnection_repeat_lift", "smb").value is None
    lost = _get(metrics, "disconnection_lost_activity_lift", "enterprise")
    # A was followed by C within 20 days (not lost); C was not (lost): disconnected 1/1 - 0/1.
    assert (lost.value, lost.n) == (1.0, 2)


def test_breakdown_by_customer_and_organization(desk: Any, M: Any) -> None:
    from datetime import UTC, datetime

    acme = Party(source="desk", id="u1", name="Uma Roy", organization_id="org-9")
    desk.conversation("X", acme, [M("customer", "Hello, the invoice is wrong.", 0, -0.3, 0.3),
                                  M("agent", "Uma, sorry about the invoice.", 5, 0.2)],
                      start=datetime(2026, 6, 1, tzinfo=UTC))
    refresh(desk.store)
    by_org = compute_metrics(desk.store, SETTINGS, MetricQuery(by="organization"), ["replies"])
    assert _get(by_org, "personalisation_rate", "org-9").value == 1.0
    by_customer = compute_metrics(desk.store, SETTINGS, MetricQuery(by="customer"),
                                  ["sentiment"])
    assert _get(by_customer, "unprompted_positive_rate", "u1").n == 1


def test_one_odd_conversation_does_not_stop_the_refresh(desk: Any, M: Any, alice: Party) -> None:
    from datetime import UTC, datetime

    desk.conversation("ok", alice, [M("customer", "Hello there, my invoice.", 0, 0.1),
                                    M("agent", "Alice, here it is.", 5, 0.2)],
                      start=datetime(2026, 6, 1, tzinfo=UTC))
    desk.conversation("odd", alice, [M("customer", "Hi", 0, 0.1)],
                      start=datetime(2026, 6, 2, tzinfo=UTC),
                      decision={"tier": "upset", "due_minutes": 30})
    with desk.store.transaction() as conn:  # a decision payload another version wrote
        from empathy_bridge.store import tables as t

        conn.execute(update(t.decisions).values(payload="not json"))
    report = refresh(desk.store, SETTINGS)
    assert (report.conversations, report.failed) == (1, 1)


def test_bad_validation_phrase_is_a_config_error() -> None:
    from empathy_bridge.engine import Bridge

    with pytest.raises(ConfigError, match=r"assessment\.validation_phrases"):
        Bridge.from_config({"store": {"url": "sqlite://"},
                            "assessment": {"validation_phrases": ["(unclosed"]}},
                           environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"})


def test_migration_6_adds_the_organisation_to_old_rollups(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, inspect, text

    from empathy_bridge.store.migrations import MIGRATIONS, migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    migrate(engine)
    with engine.begin() as conn:  # a store made by the first version of migration 4
        conn.execute(text("ALTER TABLE conversation_facts DROP COLUMN organization_id"))
        conn.execute(text("ALTER TABLE reply_assessments DROP COLUMN organization_id"))
        conn.execute(text("DELETE FROM schema_version WHERE version >= 6"))
    assert migrate(engine) == MIGRATIONS[-1][0]
    columns = {c["name"] for c in inspect(engine).get_columns("conversation_facts")}
    assert "organization_id" in columns
    engine.dispose()


def test_transfer_by_routing_to_another_group(desk: Any, M: Any, bob: Party) -> None:
    from datetime import UTC, datetime

    start = datetime(2026, 6, 1, tzinfo=UTC)
    routed = {"tier": "upset", "routing": [{"action": "group", "target": "retention",
                                            "rule": "churn"}]}
    same = {"tier": "upset", "routing": [{"action": "group", "target": "tech", "rule": "x"}]}
    desk.conversation("R1", bob, [M("customer", "I will cancel.", 0, -0.5, 0.6, team="tech")],
                      start=start, decision=routed)
    desk.conversation("R2", bob, [M("customer", "It broke.", 0, -0.5, 0.6, team="tech")],
                      start=start, decision=same)
    refresh(desk.store)
    metrics = compute_metrics(desk.store, SETTINGS, families=["escalation"])
    transfer = _get(metrics, "transfer_rate")
    assert (transfer.value, transfer.n) == (0.5, 2)


def test_internal_notes_are_not_replies(desk: Any, M: Any, bob: Party) -> None:
    from datetime import UTC, datetime

    desk.conversation("N", bob, [
        M("customer", "It broke again.", 0, -0.5, 0.6),
        M("agent", "Bob is angry, looking at logs.", 5, -0.3, author="a1", private=True),
        M("agent", "Bob, sorry it broke again; I'll fix it today.", 90, 0.2, author="a1"),
    ], start=datetime(2026, 6, 1, tzinfo=UTC), decision={"tier": "upset", "due_minutes": 60})
    refresh(desk.store)
    metrics = compute_metrics(desk.store, SETTINGS, families=["sla", "replies"])
    assert _get(metrics, "sla_attainment").value == 0.0  # the public reply came at 90 > 60
    assert _get(metrics, "personalisation_rate").n == 1  # the note is not assessed
