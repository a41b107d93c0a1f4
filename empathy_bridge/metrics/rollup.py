"""Refresh the metrics rollups from the store: reply assessments and conversation facts.

Run after a sync (``empathy-bridge metrics``, ``report`` and ``metrics push`` run it first; SDK:
``refresh(bridge.store, settings, rubric)``). It is incremental: a conversation is rebuilt only
when its interaction count, latest message, latest decision or one of its replies' content
fingerprints differ from what the rollup saw, so a refresh after a quiet cycle reads almost
nothing. Conversations are processed in chunks (memory is bounded by the chunk, not the store).

Per conversation it derives, once, what the metrics aggregate: the rubric verdict of every reply,
opening/closing customer sentiment, SLA outcome of the latest decision, escalation flags,
resolution, CSAT answers, and the gap to the same customer's next conversation.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, or_, select, tuple_, update
from sqlalchemy import func as sa_func

from empathy_bridge.defaults.assessment import (
    RUBRIC_VERSION,
    AssessmentSettings,
    ReplyAssessment,
    answered_message,
    assess_reply,
    is_reply,
)
from empathy_bridge.metrics import tables as m
from empathy_bridge.metrics.settings import MetricsSettings
from empathy_bridge.schemas import AuthorRole, EmotionalContext, Interaction, Party
from empathy_bridge.store import Store, fingerprint
from empathy_bridge.store import tables as t

__all__ = ["RefreshReport", "conversation_rows", "iter_assessments", "refresh"]

_DAY = 86_400.0
log = logging.getLogger("empathy_bridge.metrics")


@dataclass
class RefreshReport:
    """What one refresh did."""

    conversations: int = 0
    replies: int = 0
    removed: int = 0
    customers: int = 0
    failed: int = 0


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone=True columns; the store writes UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _dirty_conversations(conn: Connection, full: bool) -> list[tuple[str, str]]:
    i, f, d, a = t.interactions, m.conversation_facts, t.decisions, m.reply_assessments
    sig = (select(i.c.source, i.c.conversation_id, sa_func.count().label("n"),
                  sa_func.max(i.c.created_at).label("last"))
           .group_by(i.c.source, i.c.conversation_id).subquery())
    joined = (sig.outerjoin(f, and_(f.c.source == sig.c.source,
                                    f.c.conversation_id == sig.c.conversation_id))
              .outerjoin(d, and_(d.c.source == sig.c.source,
                                 d.c.conversation_id == sig.c.conversation_id)))
    query = select(sig.c.source, sig.c.conversation_id).select_from(joined)
    if not full:
        query = query.where(or_(
            f.c.source.is_(None), f.c.n_interactions != sig.c.n, f.c.last_at != sig.c.last,
            and_(d.c.decided_at.is_not(None),
                 or_(f.c.decided_at.is_(None), f.c.decided_at != d.c.decided_at))))
    found = {(r.source, r.conversation_id) for r in conn.execute(query)}
    if not full:
        # An edited reply keeps the count and time but changes its fingerprint.
        stale = (select(i.c.source, i.c.conversation_id)
                 .select_from(i.outerjoin(a, and_(a.c.source == i.c.source,
                                                  a.c.native_id == i.c.native_id)))
                 .where(i.c.author_role.in_([AuthorRole.AGENT.value, AuthorRole.BOT.value]),
                        a.c.native_id.is_not(None),
                        or_(a.c.fingerprint != i.c.fingerprint,
                            a.c.rubric_version != RUBRIC_VERSION))
                 .distinct())
        found |= {(r.source, r.conversation_id) for r in conn.execute(stale)}
    return sorted(found)


def _remove_vanished(conn: Connection) -> int:
    f, i = m.conversation_facts, t.interactions
    gone = conn.execute(select(f.c.source, f.c.conversation_id).where(~exists().where(
        i.c.source == f.c.source, i.c.conversation_id == f.c.conversation_id))).all()
    keys = [(r.source, r.conversation_id) for r in gone]
    for chunk in _chunks(keys, 300):
        conn.execute(delete(f).where(tuple_(f.c.source, f.c.conversation_id).in_(chunk)))
        conn.execute(delete(m.reply_assessments).where(tuple_(
            m.reply_assessments.c.source, m.reply_assessments.c.conversation_id).in_(chunk)))
    return len(keys)


def _csat(survey: Interaction, context: EmotionalContext | None, positive: float) -> bool | None:
    score = survey.native_fields.get("score", survey.native_fields.get("rating"))
    if isinstance(score, str):
        lowered = score.strip().lower()
        if lowered in ("good", "satisfied", "positive", "yes"):
            return True
        if lowered in ("bad", "unsatisfied", "dissatisfied", "negative", "no"):
            return False
        try:
            score = float(lowered)
        except ValueError:
            score = None
    if isinstance(score, int | float) and not isinstance(score, bool):
        # 1-5 scales: 4 and 5 are satisfied (the usual CSAT cut); 0..1 scales: above one half.
        return bool(score >= 4) if score > 1 else bool(score > 0.5)
    if context is not None:
        return context.sentiment > positive
    return None


def conversation_rows(
    items: Sequence[tuple[Interaction, EmotionalContext | None]],
    decision: Mapping[str, Any] | None,
    ledger_priority: bool,
    settings: MetricsSettings,
    rubric: AssessmentSettings,
    now: datetime,
) -> tuple[dict[str, Any], list[tuple[ReplyAssessment, dict[str, Any]]]]:
    """The facts row of one conversation and its replies' assessments (pure; no I/O).

    :param items: the conversation's interactions, oldest first, with their contexts.
    :param decision: its stored decision row (``tier``, ``due_at``, ``handoff``, ``payload``,
        ``native_id``, ``decided_at``), if any.
    :param ledger_priority: whether the write-back ledger holds a priority write for the record.
    """
    interactions = [i for i, _ in items]
    contexts = {i.native_id: c for i, c in items}
    first = interactions[0]
    customer: Party | None = next((i.customer for i in interactions if i.customer), None)
    teams = [i.team for i in interactions if i.team]
    team = teams[-1] if teams else None
    messages = [i for i in interactions if i.kind != "survey"]
    channel = (messages or interactions)[0].channel
    customer_msgs = [i for i in messages if i.author_role is AuthorRole.CUSTOMER]
    sentiments = [c.sentiment for i in customer_msgs if (c := contexts.get(i.native_id))]
    intensities = [c.intensity for i in customer_msgs if (c := contexts.get(i.native_id))]

    assessments: list[tuple[ReplyAssessment, dict[str, Any]]] = []
    for index, interaction in enumerate(interactions):
        if not is_reply(interaction):
            continue
        answered = answered_message(interactions, index)
        result = assess_reply(
            interaction, answered, customer, tone=contexts.get(interaction.native_id),
            answered_context=contexts.get(answered.native_id) if answered else None,
            settings=rubric)
        assessments.append((result, {
            "source": interaction.source, "native_id": interaction.native_id,
            "conversation_id": interaction.conversation_id, "answered_id": result.answered_id,
            "author_role": interaction.author_role.value, "agent_id": result.agent_id,
            "team": team, "channel": channel,
            "segment": customer.segment if customer else None,
            "customer_id": customer.id if customer else None,
            "organization_id": customer.organization_id if customer else None,
            "created_at": interaction.created_at,
            "created_ts": interaction.created_at.timestamp(),
            "response_seconds": result.response_seconds,
            "answered_intensity": result.answered_intensity,
            "personalised": int(result.personalised), "personalisation": result.personalisation,
            "listening": int(result.listening), "validation": int(bool(result.validation)),
            "acknowledgment": int(bool(result.acknowledgment)),
            "paraphrase": int(bool(result.paraphrase)), "tone": result.tone,
            "clarity": result.clarity, "next_step": int(bool(result.next_step)),
            "empathy": result.empathy, "fingerprint": fingerprint(interaction),
            "rubric_version": RUBRIC_VERSION,
            "evidence": json.dumps(result.evidence(), ensure_ascii=False),
        }))
    # Internal notes are not answers: only public agent messages count as replies.
    agent_replies = [i for i in messages if i.author_role is AuthorRole.AGENT and is_reply(i)]
    agents = Counter(i.author.id for i in agent_replies if i.author)
    tones = [a.tone for a, _ in assessments
             if a.author_role is AuthorRole.AGENT and a.tone is not None]

    payload: dict[str, Any] = json.loads(decision["payload"]) if decision else {}
    priority = payload.get("priority") or {}
    routing = payload.get("routing") or []
    due_at = _aware(decision["due_at"]) if decision else None
    sla_met: int | None = None
    if due_at is not None and decision is not None:
        decided_for = next((i for i in interactions if i.native_id == decision["native_id"]), None)
        since = decided_for.created_at if decided_for else first.created_at
        reply = next((i for i in agent_replies if i.created_at >= since), None)
        if reply is not None:
            sla_met = int(reply.created_at <= due_at)
        elif now > due_at:
            sla_met = 0
    first_reply_seconds = None
    if customer_msgs:
        opened = customer_msgs[0].created_at
        reply = next((i for i in agent_replies if i.created_at >= opened), None)
        if reply is not None:
            first_reply_seconds = (reply.created_at - opened).total_seconds()
    resolved_set = {s.lower() for s in settings.resolved_statuses}
    status = next((i.native_status for i in reversed(messages) if i.native_status), None)
    csat = [v for i in interactions if i.kind == "survey"
            if (v := _csat(i, contexts.get(i.native_id), settings.positive_threshold)) is not None]
    last = interactions[-1]
    facts = {
        "source": first.source, "conversation_id": first.conversation_id,
        "customer_id": customer.id if customer else None,
        "organization_id": customer.organization_id if customer else None,
        "segment": customer.segment if customer else None, "team": team, "channel": channel,
        "agent_id": agents.most_common(1)[0][0] if agents else None,
        "first_at": first.created_at, "last_at": last.created_at,
        "first_ts": first.created_at.timestamp(), "last_ts": last.created_at.timestamp(),
        "n_interactions": len(interactions), "n_customer": len(customer_msgs),
        "n_positive": sum(s > settings.positive_threshold for s in sentiments),
        "n_high_intensity": sum(x >= settings.high_intensity for x in intensities),
        "n_replies": len(assessments), "n_agent_replies": len(agent_replies),
        "opening_sentiment": sentiments[0] if sentiments else None,
        "closing_sentiment": sentiments[-1] if sentiments else None,
        "recovery": sentiments[-1] - sentiments[0] if len(sentiments) >= 2 else None,
        "peak_intensity": max(intensities) if intensities else None,
        "mean_empathy": statistics.fmean(a.empathy for a, _ in assessments)
        if assessments else None,
        "personalised_share": statistics.fmean(a.personalised for a, _ in assessments)
        if assessments else None,
        "listening_share": statistics.fmean(a.listening for a, _ in assessments)
        if assessments else None,
        "agent_tone": statistics.fmean(tones) if tones else None,
        "decided_at": _aware(decision["decided_at"]) if decision else None,
        "tier": decision["tier"] if decision else None,
        "due_at": due_at, "sla_met": sla_met, "first_reply_seconds": first_reply_seconds,
        "priority_raised": int(bool(priority.get("raised_from")) or ledger_priority),
        "transferred": int(len(set(teams)) > 1 or any(_is_transfer(r, team) for r in routing)),
        "handoff": int(bool(decision and decision["handoff"])),
        "resolved": int(bool(status and status.lower() in resolved_set)),
        "csat_good": sum(csat), "csat_n": len(csat), "next_gap_days": None,
        "refreshed_at": now,
    }
    return facts, assessments


def _is_transfer(decision: Any, team: str | None) -> bool:
    """A routing decision that moves the work: a case in another system, or a group/queue
    other than the one handling it."""
    if not isinstance(decision, Mapping):
        return False
    action, target = decision.get("action"), decision.get("target")
    if action == "create_case":
        return True
    return action in ("group", "queue") and team is not None and str(target) != team


def _is_priority_field(field: str) -> bool:
    return field.rsplit(".", 1)[-1].lower() == "priority"


def _refresh_gaps(conn: Connection, customers: set[tuple[str, str]]) -> None:
    """Days from each conversation's last message to the same customer's next conversation."""
    f = m.conversation_facts
    for chunk in _chunks(sorted(customers), 300):
        rows = conn.execute(
            select(f.c.source, f.c.customer_id, f.c.conversation_id, f.c.first_ts, f.c.last_ts)
            .where(tuple_(f.c.source, f.c.customer_id).in_(chunk))
            .order_by(f.c.source, f.c.customer_id, f.c.first_ts, f.c.conversation_id)).all()
        gaps = []
        for current, following in zip(rows, [*rows[1:], None], strict=True):
            gap = None
            if following is not None and (following.source, following.customer_id) == (
                    current.source, current.customer_id):
                gap = max(0.0, (following.first_ts - current.last_ts) / _DAY)
            gaps.append({"b_source": current.source, "b_id": current.conversation_id,
                         "b_gap": gap})
        if gaps:
            # One executemany per chunk rather than a statement per conversation.
            conn.execute(update(f).where(f.c.source == bindparam("b_source"),
                                         f.c.conversation_id == bindparam("b_id"))
                         .values(next_gap_days=bindparam("b_gap")), gaps)


def refresh(
    store: Store,
    settings: MetricsSettings | None = None,
    rubric: AssessmentSettings | None = None,
    *,
    full: bool = False,
    now: datetime | None = None,
    chunk_size: int = 200,
) -> RefreshReport:
    """Bring the rollups up to date with the store; ``full`` rebuilds every conversation."""
    settings = settings or MetricsSettings()
    rubric = rubric or AssessmentSettings()
    now = now or datetime.now(UTC)
    report = RefreshReport()
    with store.engine.connect() as conn:
        dirty = _dirty_conversations(conn, full)
    by_source: dict[str, list[str]] = {}
    for source, conversation_id in dirty:
        by_source.setdefault(source, []).append(conversation_id)
    customers: set[tuple[str, str]] = set()
    f, a, d, ledger = m.conversation_facts, m.reply_assessments, t.decisions, t.writeback_ledger
    for source, ids in by_source.items():
        for chunk in _chunks(ids, chunk_size):
            history = store.conversation_history(source, list(chunk))
            with store.transaction() as conn:
                decisions: dict[str, Mapping[str, Any]] = {
                    r.conversation_id: dict(r._mapping) for r in conn.execute(
                    select(d).where(d.c.source == source, d.c.conversation_id.in_(chunk)))}
                records = {i.target_record for items in history.values() for i, _ in items}
                raised = {r.record_id for r in conn.execute(
                    select(ledger.c.record_id, ledger.c.field).where(
                        ledger.c.source == source, ledger.c.record_id.in_(sorted(records))))
                    if _is_priority_field(r.field)}
                facts_rows: list[dict[str, Any]] = []
                reply_rows: list[dict[str, Any]] = []
                for conversation_id, items in history.items():
                    try:
                        facts, assessed = conversation_rows(
                            items, decisions.get(conversation_id),
                            items[0][0].target_record in raised, settings, rubric, now)
                    except Exception as exc:
                        # One odd conversation must not stop the refresh; it is retried next
                        # time (no facts row means dirty).
                        log.warning("metrics: conversation %s/%s skipped: %s: %s", source,
                                    conversation_id, type(exc).__name__, exc)
                        report.failed += 1
                        continue
                    facts_rows.append(facts)
                    reply_rows.extend(row for _, row in assessed)
                    if facts["customer_id"] is not None:
                        customers.add((source, facts["customer_id"]))
                conn.execute(delete(f).where(f.c.source == source,
                                             f.c.conversation_id.in_(chunk)))
                conn.execute(delete(a).where(a.c.source == source,
                                             a.c.conversation_id.in_(chunk)))
                if facts_rows:
                    conn.execute(f.insert(), facts_rows)
                if reply_rows:
                    conn.execute(a.insert(), reply_rows)
            report.conversations += len(facts_rows)
            report.replies += len(reply_rows)
    with store.transaction() as conn:
        report.removed = _remove_vanished(conn)
        if customers:
            _refresh_gaps(conn, customers)
    report.customers = len(customers)
    return report


def iter_assessments(
    store: Store,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    agent: str | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Stored reply assessments (oldest first) with their evidence, streamed."""
    a = m.reply_assessments
    query = select(a).order_by(a.c.created_at, a.c.native_id)
    if since is not None:
        query = query.where(a.c.created_at >= since)
    if until is not None:
        query = query.where(a.c.created_at < until)
    if agent is not None:
        query = query.where(a.c.agent_id == agent)
    if limit is not None:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        for row in conn.execution_options(yield_per=1000).execute(query).mappings():
            record = {k: v for k, v in row.items() if k not in ("evidence", "created_ts")}
            record["created_at"] = _aware(row["created_at"])
            for flag in ("personalised", "listening", "validation", "acknowledgment",
                         "paraphrase", "next_step"):
                record[flag] = bool(row[flag])
            record["evidence"] = json.loads(row["evidence"])
            yield record
