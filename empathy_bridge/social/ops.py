"""One social care cycle over the store: listen, alert, escalate, draft, post.

:meth:`SocialOps.run` reads the public interactions the sync has stored and analysed since the
last cycle (a ``social_seen`` ledger, so each post is counted once), then

1. counts matching posts into each spike rule's buckets and fires post rules per post;
2. evaluates every spike rule over its sliding window against its baseline; a rule that starts
   firing creates one alert (``dedupe_key`` unique in the store) and re-arms only once the
   window falls back under the threshold;
3. delivers undelivered alerts to their sinks, once per (alert, sink), retrying failures on later
   cycles;
4. escalates distressed (or high-reach upset) posts to a CRM case, once per post;
5. optionally drafts replies from phrasing suggestions, and posts approved drafts.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError

from empathy_bridge.adapter import Adapter
from empathy_bridge.errors import (
    EmpathyBridgeError,
    QuotaExhaustedError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import EmotionalContext, Interaction, Tier, Visibility
from empathy_bridge.secrets import Secrets
from empathy_bridge.social import tables as st
from empathy_bridge.social.posting import ReplyPoster
from empathy_bridge.social.replies import DraftStatus, PostOutcome, ReplyQueue
from empathy_bridge.social.rules import (
    WindowCounts,
    bucket_floor,
    matches,
    spike_verdict,
    window_buckets,
)
from empathy_bridge.social.settings import (
    CaseSink,
    LogSink,
    PostRule,
    SocialSettings,
    SpikeRule,
    WebhookSink,
)
from empathy_bridge.social.sinks import (
    Alert,
    case_description,
    deliver_case,
    deliver_log,
    deliver_webhook,
    open_case,
)
from empathy_bridge.store import Store
from empathy_bridge.store import tables as core

__all__ = ["SocialOps", "SocialReport"]

log = logging.getLogger("empathy_bridge.social")

#: A delivery that failed this many times is left failed (visible in `social alerts`).
MAX_DELIVERY_ATTEMPTS = 5
_BATCH = 500


@dataclass
class SocialReport:
    """What one cycle did."""

    seen: int = 0
    matched: dict[str, int] = field(default_factory=dict)
    alerts: list[int] = field(default_factory=list)
    delivered: int = 0
    delivery_failures: int = 0
    cases: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    posted: list[PostOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _sample(post: Interaction) -> dict[str, Any]:
    url = post.native_fields.get("url")
    return {"id": post.native_id, "author": post.author.handle if post.author else None,
            "text": post.text[:280], "url": url if isinstance(url, str) else None,
            "created_at": post.created_at.isoformat()}


class SocialOps:
    """The social care cycle over one store.

    :param adapter_for: the adapter of a configured source (case sinks, posting).
    :param http: the client webhook sinks use (tests pass one routed by respx).
    """

    def __init__(self, store: Store, settings: SocialSettings, *,
                 adapter_for: Callable[[str], Adapter], secrets: Secrets,
                 replies: ReplyQueue | None = None, policy: RetryPolicy | None = None,
                 http: httpx.Client | None = None,
                 suggest: Callable[[Interaction, EmotionalContext], str | None] | None = None,
                 lookback: timedelta = timedelta(hours=24)) -> None:
        self.store = store
        self.settings = settings
        self.adapter_for = adapter_for
        self.secrets = secrets
        self.replies = replies or ReplyQueue(store, settings)
        self.policy = policy or RetryPolicy(attempts=4, max_seconds=60)
        self.http = http
        self.suggest = suggest
        self.lookback = lookback
        self.windows = WindowCounts(store)

    # -- the cycle --------------------------------------------------------------------------

    def run(self, now: datetime | None = None, *, post: bool | None = None) -> SocialReport:
        """One cycle (see module docstring). ``post`` overrides ``approval.post_in_run``."""
        now = now or datetime.now(UTC)
        report = SocialReport()
        samples: dict[str, list[tuple[Interaction, EmotionalContext | None]]] = {}
        while True:
            batch = self._unseen()
            if not batch:
                break
            self._listen(batch, now, report, samples)
        for rule in self.settings.rules:
            if isinstance(rule, SpikeRule):
                self._evaluate_spike(rule, now, report, samples.get(rule.name, []))
        self._deliver(report)
        if post if post is not None else self.settings.approval.post_in_run:
            report.posted = self.post_approved()
        return report

    def post_approved(self) -> list[PostOutcome]:
        """Post approved drafts through their sources' adapters."""
        return self.replies.post_approved(self._poster)

    def _poster(self, source: str) -> ReplyPoster:
        adapter = self.adapter_for(source)
        if not isinstance(adapter, ReplyPoster):
            raise SkippableError(f"source {source!r} ({adapter.name}) cannot post replies")
        return adapter

    # -- listening --------------------------------------------------------------------------

    def _unseen(self) -> list[tuple[Interaction, EmotionalContext | None]]:
        i, a = core.interactions, core.analyses
        query = (select(i.c.payload, a.c.context)
                 .select_from(i.outerjoin(a, and_(a.c.source == i.c.source,
                                                  a.c.native_id == i.c.native_id)))
                 .where(i.c.channel.in_(self.settings.channels),
                        ~exists().where(st.seen.c.source == i.c.source,
                                        st.seen.c.native_id == i.c.native_id))
                 .order_by(i.c.created_at).limit(_BATCH))
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(Interaction.model_validate_json(r.payload),
                 EmotionalContext.model_validate_json(r.context) if r.context else None)
                for r in rows]

    def _listen(self, batch: list[tuple[Interaction, EmotionalContext | None]], now: datetime,
                report: SocialReport,
                samples: dict[str, list[tuple[Interaction, EmotionalContext | None]]]) -> None:
        # Idempotent side effects (alerts by dedupe key, cases by key, drafts by target) come
        # first; the counts, which are not idempotent, commit in one transaction with the
        # "seen" marks. A crash in between repeats only the idempotent part.
        fresh_after = now - self.lookback
        counts: collections.Counter[tuple[str, datetime]] = collections.Counter()
        for post, context in batch:
            if post.visibility is not Visibility.PUBLIC:
                continue
            fresh = post.created_at >= fresh_after
            for rule in self.settings.rules:
                if not matches(rule.match, post, context):
                    continue
                report.matched[rule.name] = report.matched.get(rule.name, 0) + 1
                if isinstance(rule, SpikeRule):
                    counts[(rule.name, bucket_floor(post.created_at, rule.bucket_minutes))] += 1
                    samples.setdefault(rule.name, []).append((post, context))
                elif fresh:
                    self._fire_post_rule(rule, post, context, now, report)
            if fresh and context is not None:
                self._maybe_escalate(post, context, report)
                self._maybe_draft(post, context, report)
        with self.store.transaction() as conn:
            conn.execute(st.seen.insert(), [
                {"source": post.source, "native_id": post.native_id, "seen_at": now}
                for post, _ in batch])
            for (rule_name, bucket), n in counts.items():
                self.windows.add(conn, rule_name, bucket, n)
        report.seen += len(batch)

    def _fire_post_rule(self, rule: PostRule, post: Interaction, context: EmotionalContext | None,
                        now: datetime, report: SocialReport) -> None:
        followers = post.author.followers if post.author else None
        state = f"{context.state.value} (tier {context.tier.value})" if context else "unread"
        summary = (f"{rule.description or rule.name}: post by "
                   f"{post.author.handle if post.author and post.author.handle else 'unknown'}"
                   + (f" ({followers:,} followers)" if followers is not None else "")
                   + f", {state}")
        alert_id = self._create_alert(
            f"post:{rule.name}:{post.source}:{post.native_id}", rule.name, rule.severity, summary,
            {"post": _sample(post), "thread_url": _sample(post)["url"]}, now, rule.sinks)
        if alert_id is not None:
            report.alerts.append(alert_id)
            if rule.escalate and context is not None:
                self._escalate(post, context, report, reason=f"listening rule {rule.name!r}")

    def _evaluate_spike(self, rule: SpikeRule, now: datetime, report: SocialReport,
                        samples: list[tuple[Interaction, EmotionalContext | None]]) -> None:
        baseline_start, start, end = window_buckets(rule, now)
        verdict = spike_verdict(rule, self.windows.total(rule.name, start, end),
                                self.windows.total(rule.name, baseline_start, start))
        with self.store.engine.connect() as conn:
            active = bool(conn.execute(select(st.rule_state.c.active).where(
                st.rule_state.c.rule == rule.name)).scalar_one_or_none())
        if verdict.firing and not active:
            recent = [s for s in samples if s[0].created_at >= start]
            recent.sort(key=lambda s: -(s[1].intensity if s[1] else 0.0))
            summary = (f"{verdict.current} matching posts in the last {rule.window_minutes} min, "
                       f"{verdict.current / max(verdict.baseline, rule.baseline_floor):.1f}× the "
                       f"baseline of {verdict.baseline:.2f} per window")
            top = recent[0] if recent else None
            detail = {"current": verdict.current, "baseline": round(verdict.baseline, 3),
                      "threshold": round(verdict.threshold, 3), "window_start": start.isoformat(),
                      "window_end": end.isoformat(),
                      "samples": [_sample(p) for p, _ in recent[:5]],
                      "thread_url": _sample(top[0])["url"] if top else None}
            alert_id = self._create_alert(f"spike:{rule.name}:{start.isoformat()}", rule.name,
                                          rule.severity, summary, detail, now, rule.sinks,
                                          top=top)
            if alert_id is not None:
                report.alerts.append(alert_id)
        if verdict.firing != active:
            self._set_active(rule.name, verdict.firing, now)
        self.windows.prune(rule.name, baseline_start)

    def _set_active(self, rule: str, active: bool, now: datetime) -> None:
        with self.store.transaction() as conn:
            changed = conn.execute(update(st.rule_state).where(st.rule_state.c.rule == rule)
                                   .values(active=int(active), changed_at=now)).rowcount
            if not changed:
                conn.execute(st.rule_state.insert().values(rule=rule, active=int(active),
                                                           changed_at=now))

    def _create_alert(self, key: str, rule: str, severity: str, summary: str,
                      detail: dict[str, Any], now: datetime, sinks: list[str],
                      top: tuple[Interaction, EmotionalContext | None] | None = None
                      ) -> int | None:
        """Insert the alert and its pending deliveries; ``None`` if ``key`` already fired."""
        if top is not None:
            detail = {**detail, "_post": top[0].model_dump_json(),
                      "_context": top[1].model_dump_json() if top[1] else None}
        try:
            with self.store.transaction() as conn:
                result = conn.execute(st.alerts.insert().values(
                    dedupe_key=key, rule=rule, severity=severity, summary=summary,
                    detail=json.dumps(detail, ensure_ascii=False, default=str), fired_at=now))
                alert_id = int(result.inserted_primary_key[0])  # type: ignore[index]
                for sink in dict.fromkeys(sinks):
                    conn.execute(st.deliveries.insert().values(
                        alert_id=alert_id, sink=sink, status="pending", attempts=0,
                        updated_at=now))
        except IntegrityError:
            return None
        log.info("social alert %d fired by rule %s: %s", alert_id, rule, summary)
        return alert_id

    # -- delivery ---------------------------------------------------------------------------

    def alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        """Recent alerts with their delivery states, newest first."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(st.alerts).order_by(st.alerts.c.id.desc()).limit(limit)
                                ).mappings().all()
            out = []
            for row in rows:
                deliveries = conn.execute(select(st.deliveries).where(
                    st.deliveries.c.alert_id == row["id"])).mappings().all()
                detail = {k: v for k, v in json.loads(row["detail"]).items()
                          if not k.startswith("_")}
                out.append({"id": row["id"], "rule": row["rule"], "severity": row["severity"],
                            "summary": row["summary"], "fired_at": _aware(row["fired_at"]),
                            "detail": detail,
                            "deliveries": {d["sink"]: {"status": d["status"],
                                                       "attempts": d["attempts"],
                                                       "reference": d["reference"],
                                                       "error": d["last_error"]}
                                           for d in deliveries}})
        return out

    def _load_alert(self, alert_id: int) -> Alert:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(st.alerts).where(st.alerts.c.id == alert_id)).mappings().one()
        detail = json.loads(row["detail"])
        raw_post = detail.pop("_post", None)
        raw_context = detail.pop("_context", None)
        post = Interaction.model_validate_json(raw_post) if raw_post else None
        context = EmotionalContext.model_validate_json(raw_context) if raw_context else None
        if post is None and isinstance(detail.get("post"), dict):
            found = self.store.get_interaction(detail["post"]["id"])
            if found is not None:
                post, context = found
        return Alert(id=row["id"], rule=row["rule"], severity=row["severity"],
                     summary=row["summary"], fired_at=_aware(row["fired_at"]), detail=detail,
                     post=post, context=context)

    def _deliver(self, report: SocialReport) -> None:
        with self.store.engine.connect() as conn:
            pending = conn.execute(select(st.deliveries).where(
                st.deliveries.c.status.in_(["pending", "retry"]),
                st.deliveries.c.attempts < MAX_DELIVERY_ATTEMPTS)
                .order_by(st.deliveries.c.alert_id)).mappings().all()
        for row in pending:
            alert = self._load_alert(row["alert_id"])
            sink_name = row["sink"]
            status, reference, error = "delivered", None, None
            try:
                sink = self.settings.sink(sink_name)
                reference = self._deliver_one(sink, alert)
                if isinstance(sink, CaseSink):
                    self._record_case(f"alert:{alert.id}", sink.name, reference)
                    report.cases.append(reference)
                report.delivered += 1
            except KeyError:
                status, error = "failed", f"sink {sink_name!r} is no longer configured"
            except SkippableError as exc:
                status, error = "failed", str(exc)
            except (RetriableError, QuotaExhaustedError) as exc:
                status, error = "retry", str(exc)
            except EmpathyBridgeError as exc:
                status, error = "retry", str(exc)
            if error:
                report.delivery_failures += 1
                report.errors.append(f"alert {alert.id} -> {sink_name}: {error}")
                log.warning("delivery of alert %d to %s failed: %s", alert.id, sink_name, error)
            with self.store.transaction() as conn:
                conn.execute(update(st.deliveries).where(
                    st.deliveries.c.alert_id == alert.id, st.deliveries.c.sink == sink_name)
                    .values(status=status, attempts=st.deliveries.c.attempts + 1,
                            last_error=error, reference=reference,
                            updated_at=datetime.now(UTC)))

    def _deliver_one(self, sink: LogSink | WebhookSink | CaseSink, alert: Alert) -> str:
        if isinstance(sink, LogSink):
            return deliver_log(sink, alert)
        if isinstance(sink, WebhookSink):
            if self.http is None:
                self.http = httpx.Client()
            return deliver_webhook(sink, alert, client=self.http, policy=self.policy,
                                   secrets=self.secrets)
        return deliver_case(sink, alert, adapter_for=self.adapter_for)

    # -- escalation and drafting ------------------------------------------------------------

    def _record_case(self, key: str, sink: str, case_id: str) -> None:
        # A failed insert aborts a PostgreSQL transaction: catch outside the transaction.
        with contextlib.suppress(IntegrityError), self.store.transaction() as conn:
            conn.execute(st.cases.insert().values(key=key, sink=sink, case_id=case_id,
                                                  created_at=datetime.now(UTC)))

    def _maybe_escalate(self, post: Interaction, context: EmotionalContext,
                        report: SocialReport) -> None:
        esc = self.settings.escalation
        if not esc.enabled:
            return
        followers = post.author.followers if post.author else None
        reach = (esc.high_reach_followers is not None and followers is not None
                 and followers >= esc.high_reach_followers and context.tier >= Tier.UPSET)
        if context.tier >= esc.min_tier or reach:
            why = (f"tier {context.tier.value}" if context.tier >= esc.min_tier
                   else f"{followers:,} followers at tier {context.tier.value}")
            self._escalate(post, context, report, reason=why)

    def _escalate(self, post: Interaction, context: EmotionalContext, report: SocialReport,
                  *, reason: str) -> None:
        name = self.settings.escalation.sink or next(
            (s.name for s in self.settings.sinks if isinstance(s, CaseSink)), None)
        if name is None:
            report.errors.append(f"post {post.native_id}: escalation needs a sink of kind 'case'")
            return
        key = f"post:{post.source}:{post.native_id}"
        with self.store.engine.connect() as conn:
            if conn.execute(select(st.cases.c.case_id).where(st.cases.c.key == key)).first():
                return
        sink = self.settings.sink(name)
        assert isinstance(sink, CaseSink)
        url = post.native_fields.get("url")
        handle = post.author.handle if post.author and post.author.handle else "a customer"
        description = case_description(post, context, f"Escalated public post ({reason}).",
                                       url if isinstance(url, str) else None)
        try:
            case_id = open_case(self.adapter_for(sink.source), post, context,
                                f"{sink.subject_prefix} {context.state.value} public post from "
                                f"{handle}"[:250],
                                f"empathy-bridge-social-post-{post.source}-{post.native_id}",
                                description)
        except EmpathyBridgeError as exc:
            report.errors.append(f"post {post.native_id}: escalation failed: {exc}")
            log.warning("escalation of post %s failed: %s", post.native_id, exc)
            return
        self._record_case(key, sink.name, case_id)
        report.cases.append(case_id)

    def _maybe_draft(self, post: Interaction, context: EmotionalContext,
                     report: SocialReport) -> None:
        approval = self.settings.approval
        if (not approval.draft_from_suggestions or self.suggest is None
                or context.tier < approval.draft_min_tier
                or post.author_role.value != "customer"):
            return
        with self.store.engine.connect() as conn:
            if conn.execute(select(st.drafts.c.id).where(
                    st.drafts.c.source == post.source, st.drafts.c.in_reply_to == post.native_id,
                    st.drafts.c.status != DraftStatus.REJECTED.value)).first():
                return
        text = self.suggest(post, context)
        if not text:
            return
        draft = self.replies.draft(post.source, post.native_id, text,
                                   drafted_by="empathy-bridge", origin="suggestion")
        report.drafts.append(draft.id)
