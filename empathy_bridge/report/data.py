"""What the report shows, read from the store and the metrics layer (no HTML here).

Customer text only leaves this module redacted: emails, phone and card numbers are replaced by
:func:`empathy_bridge.logs.redact`, and the names of the parties of the message by ``[name]``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, desc, func, select

from empathy_bridge.logs import redact
from empathy_bridge.metrics import MetricQuery, MetricsSettings, compute_metrics, compute_series
from empathy_bridge.metrics import tables as m
from empathy_bridge.metrics.load import agent_load
from empathy_bridge.metrics.query import Run
from empathy_bridge.schemas import EmpathyMetric, Interaction
from empathy_bridge.store import Store
from empathy_bridge.store import tables as t

__all__ = [
    "CustomerHistory",
    "Quote",
    "ReplyExample",
    "ReportData",
    "Touchpoint",
    "gather",
    "redact_quote",
]

_QUOTE_CHARS = 280


@dataclass(frozen=True)
class Quote:
    """A redacted customer message behind the numbers."""

    text: str
    sentiment: float
    state: str
    channel: str
    at: datetime


@dataclass(frozen=True)
class ReplyExample:
    """An assessed reply shown with the evidence the rubric counted (redacted)."""

    text: str
    empathy: float
    agent: str
    evidence: dict[str, list[str]]


@dataclass(frozen=True)
class Touchpoint:
    """One interaction on a customer's relationship timeline."""

    at: datetime
    role: str
    channel: str
    kind: str
    state: str | None
    sentiment: float | None
    intensity: float | None
    tier: str | None
    excerpt: str
    conversation_id: str
    empathy: float | None = None


@dataclass
class CustomerHistory:
    """A customer's relationship page: touchpoints and per-conversation outcomes."""

    key: str
    label: str
    source: str
    segment: str | None
    contacts: int
    peak_intensity: float
    touchpoints: list[Touchpoint] = field(default_factory=list)
    resolutions: list[tuple[datetime, str]] = field(default_factory=list)
    conversations: list[dict[str, object]] = field(default_factory=list)


@dataclass
class ReportData:
    """Everything the report renders."""

    start: datetime
    end: datetime
    overall: list[EmpathyMetric]
    by_agent: list[EmpathyMetric]
    by_channel: list[EmpathyMetric]
    series: list[EmpathyMetric]
    quarter: list[EmpathyMetric]
    previous_quarter: list[EmpathyMetric]
    load: dict[str, dict[int, int]]
    negative_quotes: list[Quote]
    positive_quotes: list[Quote]
    customers: list[CustomerHistory]
    counts: dict[str, int]
    settings: MetricsSettings
    best_replies: list[ReplyExample] = field(default_factory=list)
    worst_replies: list[ReplyExample] = field(default_factory=list)


def redact_quote(interaction: Interaction, limit: int = _QUOTE_CHARS) -> str:
    """The interaction's text with personal data and the parties' names removed, shortened."""
    text = redact(interaction.text)
    for party in (interaction.customer, interaction.author):
        if party is None:
            continue
        for value in (party.name, party.handle, party.id):
            if value and len(value) >= 2:
                text = re.sub(re.escape(value), "[name]", text, flags=re.IGNORECASE)
                for part in value.split():
                    if len(part) >= 3:
                        text = re.sub(r"(?<!\w)" + re.escape(part) + r"(?!\w)", "[name]", text,
                                      flags=re.IGNORECASE)
    # Placeholders keep a space after them ("[card] was", not "[card]was").
    text = re.sub(r"\[(email|card|phone|name)\](?=\w)", r"[\1] ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _reply_examples(conn: Connection, run: Run, *, best: bool, limit: int
                    ) -> list[ReplyExample]:
    a, i = m.reply_assessments, t.interactions
    query = (select(i.c.payload, a.c.empathy, a.c.agent_id, a.c.evidence)
             .select_from(a.join(i, and_(i.c.source == a.c.source,
                                         i.c.native_id == a.c.native_id)))
             .where(*run.period(a), a.c.author_role == "agent")
             .order_by(desc(a.c.empathy) if best else a.c.empathy).limit(limit * 3))
    out: list[ReplyExample] = []
    seen: set[str] = set()
    for row in conn.execute(query):
        interaction = Interaction.model_validate_json(row.payload)
        text = redact_quote(interaction, 220)
        if text in seen or len(text) < 8:
            continue
        seen.add(text)
        evidence = {k: [redact_quote(interaction.model_copy(update={"text": v}), 60) for v in vs]
                    for k, vs in json.loads(row.evidence).items() if vs}
        out.append(ReplyExample(text, float(row.empathy), str(row.agent_id or ""), evidence))
        if len(out) >= limit:
            break
    return out


def customer_key(source: str, customer_id: str) -> str:
    """A file-name-safe, non-identifying key of a customer (for page names)."""
    return hashlib.sha256(f"{source}\x00{customer_id}".encode()).hexdigest()[:12]


def _quotes(conn: Connection, start: datetime, end: datetime, *, positive: bool,
            limit: int) -> list[Quote]:
    a, i = t.analyses, t.interactions
    order = desc(a.c.sentiment) if positive else a.c.sentiment
    query = (select(i.c.payload, a.c.sentiment, a.c.state, i.c.channel)
             .select_from(a.join(i, and_(i.c.source == a.c.source,
                                         i.c.native_id == a.c.native_id)))
             .where(a.c.author_role == "customer", a.c.created_at >= start,
                    a.c.created_at <= end, (a.c.sentiment > 0.3) if positive
                    else (a.c.sentiment < -0.3))
             .order_by(order, desc(a.c.intensity)).limit(limit * 4))
    seen: set[str] = set()
    out: list[Quote] = []
    for row in conn.execute(query):
        interaction = Interaction.model_validate_json(row.payload)
        text = redact_quote(interaction)
        if len(text) < 12 or text in seen:
            continue
        seen.add(text)
        out.append(Quote(text, float(row.sentiment), str(row.state), str(row.channel or ""),
                         interaction.created_at))
        if len(out) >= limit:
            break
    return out


def _customers(conn: Connection, store: Store, run: Run, limit: int) -> list[CustomerHistory]:
    f = m.conversation_facts
    query = (select(f.c.source, f.c.customer_id, func.max(f.c.segment).label("segment"),
                    func.count().label("contacts"),
                    func.max(f.c.peak_intensity).label("peak"))
             .where(*run.period(f), f.c.customer_id.is_not(None))
             .group_by(f.c.source, f.c.customer_id)
             .order_by(desc("peak"), desc("contacts")).limit(limit))
    found: list[CustomerHistory] = []
    for row in conn.execute(query):
        history = CustomerHistory(
            key=customer_key(row.source, row.customer_id),
            label=f"{row.source} customer {redact(str(row.customer_id))}", source=row.source,
            segment=row.segment, contacts=int(row.contacts), peak_intensity=float(row.peak or 0))
        conversations = conn.execute(
            select(f).where(f.c.source == row.source, f.c.customer_id == row.customer_id)
            .order_by(f.c.first_ts).limit(50)).mappings().all()
        ids = [c["conversation_id"] for c in conversations]
        replies = {r.native_id: float(r.empathy) for r in conn.execute(
            select(m.reply_assessments.c.native_id, m.reply_assessments.c.empathy).where(
                m.reply_assessments.c.source == row.source,
                m.reply_assessments.c.conversation_id.in_(ids)))}
        for conversation_id, items in sorted(
                store.conversation_history(row.source, ids).items(),
                key=lambda kv: kv[1][0][0].created_at if kv[1] else datetime.max):
            for interaction, context in items[-40:]:
                history.touchpoints.append(Touchpoint(
                    at=interaction.created_at, role=interaction.author_role.value,
                    channel=interaction.channel, kind=interaction.kind,
                    state=context.state.value if context else None,
                    sentiment=context.sentiment if context else None,
                    intensity=context.intensity if context else None,
                    tier=context.tier.value if context else None,
                    excerpt=redact_quote(interaction, 160), conversation_id=conversation_id,
                    empathy=replies.get(interaction.native_id)))
        for c in conversations:
            last = c["last_at"]
            if isinstance(last, str):
                last = datetime.fromisoformat(last)
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=run.start.tzinfo)
            if c["resolved"]:
                history.resolutions.append((last, f"conversation {c['conversation_id']} resolved"))
            history.conversations.append(dict(c))
        found.append(history)
    return found


def gather(store: Store, settings: MetricsSettings, *, since: datetime | None = None,
           until: datetime | None = None, customers: int = 10) -> ReportData:
    """Compute every figure the report shows (the rollups must be fresh)."""
    query = MetricQuery(since=since, until=until)
    overall = compute_metrics(store, settings, query)
    with store.engine.connect() as conn:
        run = Run.open(conn, settings, query)
        start, end = run.start, run.end
        load = {agent: dict(shifts) for agent, shifts in agent_load(run).items()}
        negative = _quotes(conn, start, end, positive=False, limit=4)
        positive = _quotes(conn, start, end, positive=True, limit=3)
        pages = _customers(conn, store, run, customers)
        best = _reply_examples(conn, run, best=True, limit=3)
        worst = _reply_examples(conn, run, best=False, limit=3)
        f = m.conversation_facts
        counts = {
            "conversations": int(conn.execute(select(func.count()).select_from(f).where(
                *run.period(f))).scalar_one()),
            "customers": int(conn.execute(select(func.count(func.distinct(f.c.customer_id)))
                                          .where(*run.period(f))).scalar_one()),
            "replies": int(conn.execute(select(func.count()).select_from(m.reply_assessments)
                                        .where(*run.period(m.reply_assessments))).scalar_one()),
        }
    span = end - start
    bucket = timedelta(days=7) if span > timedelta(days=21) else timedelta(days=1)
    series = compute_series(store, settings, since=start, until=end + timedelta(seconds=1),
                            bucket=bucket) if span > timedelta(0) else []
    quarter_start = max(start, end - timedelta(days=91))
    quarter = compute_metrics(store, settings, MetricQuery(since=quarter_start, until=end),
                              ("replies", "sentiment", "sla", "escalation", "outcomes"))
    previous = compute_metrics(
        store, settings, MetricQuery(since=quarter_start - timedelta(days=91),
                                     until=quarter_start),
        ("replies", "sentiment", "sla", "escalation", "outcomes"))
    return ReportData(
        start=start, end=end, overall=overall,
        by_agent=compute_metrics(store, settings, MetricQuery(since=since, until=until,
                                                              by="agent"),
                                 ("replies", "sentiment")),
        by_channel=compute_metrics(store, settings, MetricQuery(since=since, until=until,
                                                                by="channel"),
                                   ("replies", "sentiment", "escalation")),
        series=series, quarter=quarter, previous_quarter=previous, load=load,
        negative_quotes=negative, positive_quotes=positive, customers=pages, counts=counts,
        best_replies=best, worst_replies=worst,
        settings=settings)
