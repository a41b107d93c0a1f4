"""Public reply drafts: held for approval, checked for brand safety, posted exactly once.

State machine of a draft (``social_drafts.status``)::

    blocked ──edit──► pending ──approve──► approved ──claim──► posting ──► posted
       ▲                 │                    ▲                   │  └──► failed (refused)
       └────edit─────────┴──reject──► rejected│                   └─ ambiguous: stays posting,
                                              └── auto (no approval needed)   reconciled first

Every transition is a conditional ``UPDATE ... WHERE status IN (...)`` so two approvers or two
posting runs cannot both win. A draft is marked ``posting`` *before* the platform call; if the
process dies or the answer is lost, the next run calls the poster with ``reconcile=True``, which
looks for the reply on the platform before posting, so a reply never goes out twice and the
posting allowance is never spent on a post that already succeeded.
"""

from __future__ import annotations

import enum
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping

from empathy_bridge.errors import (
    EmpathyBridgeError,
    FatalError,
    QuotaExhaustedError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.schemas import Tier
from empathy_bridge.social import tables as st
from empathy_bridge.social.posting import ReplyPoster
from empathy_bridge.social.safety import check_draft
from empathy_bridge.social.settings import ApprovalSettings, SocialSettings
from empathy_bridge.store import Store

__all__ = ["Draft", "DraftStatus", "PostOutcome", "ReplyError", "ReplyQueue", "Target",
           "approval_needed"]

log = logging.getLogger("empathy_bridge.social")


class ReplyError(EmpathyBridgeError):
    """A reply workflow action cannot be done; the message says why and what to do."""


class DraftStatus(enum.StrEnum):
    """Where a draft is in its life."""

    PENDING = "pending"
    APPROVED = "approved"
    BLOCKED = "blocked"
    REJECTED = "rejected"
    POSTING = "posting"
    POSTED = "posted"
    FAILED = "failed"


@dataclass(frozen=True)
class Target:
    """The public post a draft answers, with what the approval rules look at."""

    source: str
    native_id: str
    conversation_id: str
    tier: Tier | None = None
    followers: int | None = None
    author_handle: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Draft:
    """A stored reply draft."""

    id: str
    source: str
    in_reply_to: str
    conversation_id: str
    text: str
    origin: str
    drafted_by: str
    status: DraftStatus
    needs_approval: bool
    approval_reason: str
    blocked_reasons: tuple[str, ...]
    approved_by: str | None
    approved_at: datetime | None
    rejected_by: str | None
    reject_reason: str | None
    posted_id: str | None
    posted_url: str | None
    posted_at: datetime | None
    attempts: int
    last_error: str | None
    tone: float | None
    target_tier: str | None
    target_followers: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def member(self) -> str:
        """Who answers for the reply in the audit: the author, or the approver of a suggestion."""
        if self.origin == "suggestion" and self.approved_by and not self.approved_by.startswith(
                "auto"):
            return self.approved_by
        return self.drafted_by


@dataclass(frozen=True)
class PostOutcome:
    """What happened to one draft in a posting run."""

    draft_id: str
    status: DraftStatus
    posted_id: str | None = None
    error: str | None = None


def approval_needed(target: Target, origin: str, settings: ApprovalSettings) -> tuple[bool, str]:
    """Whether a reply to ``target`` must wait for a human, and the rule that says so."""
    if settings.require_all:
        return True, "every public reply needs approval (approval.require_all)"
    if origin == "suggestion" and settings.suggestions_need_approval:
        return True, "drafted from a phrasing suggestion"
    if target.tier is not None and target.tier >= settings.min_tier:
        return True, (f"the post is {target.tier.value} "
                      f"(approval.min_tier = {settings.min_tier.value})")
    if target.followers is not None and target.followers >= settings.high_reach_followers:
        return True, (f"the author has {target.followers:,} followers "
                      f"(approval.high_reach_followers = {settings.high_reach_followers:,})")
    return False, "no approval rule applies"


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _draft(row: RowMapping) -> Draft:
    return Draft(
        id=row["id"], source=row["source"], in_reply_to=row["in_reply_to"],
        conversation_id=row["conversation_id"], text=row["text"], origin=row["origin"],
        drafted_by=row["drafted_by"], status=DraftStatus(row["status"]),
        needs_approval=bool(row["needs_approval"]), approval_reason=row["approval_reason"],
        blocked_reasons=tuple(json.loads(row["blocked_reasons"] or "[]")),
        approved_by=row["approved_by"], approved_at=_aware(row["approved_at"]),
        rejected_by=row["rejected_by"], reject_reason=row["reject_reason"],
        posted_id=row["posted_id"], posted_url=row["posted_url"],
        posted_at=_aware(row["posted_at"]), attempts=row["attempts"],
        last_error=row["last_error"], tone=row["tone"], target_tier=row["target_tier"],
        target_followers=row["target_followers"], created_at=_aware(row["created_at"]) or
        datetime.now(UTC), updated_at=_aware(row["updated_at"]) or datetime.now(UTC))


class ReplyQueue:
    """Drafts in the store and the actions on them.

    :param tone: scores a reply's tone (-1..1) for the audit; usually the bridge's analyzer.
    :param platform_max_length: post length limit by source (from the adapters), used when
        ``brand_safety.max_length`` is not set.
    """

    def __init__(self, store: Store, settings: SocialSettings, *,
                 tone: Callable[[str], float] | None = None,
                 platform_max_length: Callable[[str], int | None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.settings = settings
        self.tone = tone
        self.platform_max_length = platform_max_length or (lambda source: None)
        self.clock = clock

    # -- reading ----------------------------------------------------------------------------

    def get(self, draft_id: str) -> Draft:
        """One draft by id (a unique prefix of at least 6 characters works too)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(st.drafts).where(st.drafts.c.id == draft_id)).mappings().all()
            if not rows and len(draft_id) >= 6:
                rows = conn.execute(select(st.drafts).where(
                    st.drafts.c.id.startswith(draft_id, autoescape=True))).mappings().all()
        if not rows:
            raise ReplyError(f"no draft {draft_id!r}: see `empathy-bridge replies list`")
        if len(rows) > 1:
            raise ReplyError(f"draft id prefix {draft_id!r} is ambiguous: give more characters")
        return _draft(rows[0])

    def drafts(self, status: DraftStatus | None = None, limit: int = 100,
               since: datetime | None = None) -> list[Draft]:
        """Drafts, oldest first, optionally of one status / created since a time."""
        query = select(st.drafts).order_by(st.drafts.c.created_at, st.drafts.c.id).limit(limit)
        if status is not None:
            query = query.where(st.drafts.c.status == status.value)
        if since is not None:
            query = query.where(st.drafts.c.created_at >= since)
        with self.store.engine.connect() as conn:
            return [_draft(r) for r in conn.execute(query).mappings()]

    def posted_since(self, since: datetime) -> list[Draft]:
        """Drafts posted at or after ``since``, oldest first."""
        query = (select(st.drafts).where(st.drafts.c.status == DraftStatus.POSTED.value,
                                         st.drafts.c.posted_at >= since)
                 .order_by(st.drafts.c.posted_at))
        with self.store.engine.connect() as conn:
            return [_draft(r) for r in conn.execute(query).mappings()]

    def target(self, source: str, native_id: str) -> Target:
        """The stored post ``native_id`` of ``source`` as a reply target."""
        found = self.store.get_interaction(native_id, source)
        if found is None:
            raise ReplyError(f"post {native_id} of source {source!r} is not in the store: run "
                             "`empathy-bridge sync` first")
        interaction, context = found
        url = interaction.native_fields.get("url")
        return Target(source=source, native_id=native_id,
                      conversation_id=interaction.conversation_id,
                      tier=context.tier if context else None,
                      followers=interaction.author.followers if interaction.author else None,
                      author_handle=interaction.author.handle if interaction.author else None,
                      url=url if isinstance(url, str) else None)

    # -- evaluation -------------------------------------------------------------------------

    def _evaluate(self, source: str, text: str, target: Target, origin: str
                  ) -> tuple[DraftStatus, bool, str, list[str]]:
        violations = check_draft(text, self.settings.brand_safety,
                                 platform_max_length=self.platform_max_length(source))
        needs, reason = approval_needed(target, origin, self.settings.approval)
        if violations:
            return DraftStatus.BLOCKED, needs, reason, [v.reason for v in violations]
        return (DraftStatus.PENDING if needs else DraftStatus.APPROVED), needs, reason, []

    def _score(self, text: str) -> float | None:
        if self.tone is None:
            return None
        try:
            return float(self.tone(text))
        except EmpathyBridgeError as exc:
            log.warning("tone of a draft could not be scored: %s", exc)
            return None

    # -- actions ----------------------------------------------------------------------------

    def draft(self, source: str, in_reply_to: str, text: str, *, drafted_by: str,
              origin: str = "agent", target: Target | None = None,
              allow_another: bool = False) -> Draft:
        """Store a new draft replying to post ``in_reply_to``; returns it with its status.

        Drafts that need no approval and pass brand safety are ``approved`` at once
        (approver ``auto``); unsafe ones are ``blocked`` with the reasons. A post that already
        has a live draft (not rejected or failed) is refused unless ``allow_another``, so two
        agents do not both answer the same customer in public.
        """
        target = target or self.target(source, in_reply_to)
        if not allow_another:
            with self.store.engine.connect() as conn:
                existing = conn.execute(select(st.drafts.c.id, st.drafts.c.status).where(
                    st.drafts.c.source == source, st.drafts.c.in_reply_to == in_reply_to,
                    st.drafts.c.status.notin_([DraftStatus.REJECTED.value,
                                               DraftStatus.FAILED.value]))).first()
            if existing is not None:
                raise ReplyError(f"post {in_reply_to} already has draft {existing.id} "
                                 f"({existing.status}): edit that one, or pass --another to "
                                 "draft a second reply")
        status, needs, reason, blocked = self._evaluate(source, text, target, origin)
        now = self.clock()
        draft_id = "d_" + uuid.uuid4().hex[:16]
        auto = status is DraftStatus.APPROVED
        with self.store.transaction() as conn:
            conn.execute(st.drafts.insert().values(
                id=draft_id, source=source, in_reply_to=in_reply_to,
                conversation_id=target.conversation_id, text=text, origin=origin,
                drafted_by=drafted_by, status=status.value, needs_approval=int(needs),
                approval_reason=reason, blocked_reasons=json.dumps(blocked),
                approved_by="auto" if auto else None, approved_at=now if auto else None,
                attempts=0, tone=self._score(text),
                target_tier=target.tier.value if target.tier else None,
                target_followers=target.followers, created_at=now, updated_at=now))
            self.store.audit("social.reply_drafted", actor=drafted_by, source=source,
                             record_id=in_reply_to, conn=conn,
                             detail={"draft_id": draft_id, "status": status.value,
                                     "origin": origin, "approval": reason})
        return self.get(draft_id)

    def _transition(self, draft_id: str, allowed: Sequence[DraftStatus], values: dict[str, Any],
                    action: str, actor: str, detail: dict[str, Any], verb: str) -> Draft:
        current = self.get(draft_id)
        values = {**values, "updated_at": self.clock()}
        with self.store.transaction() as conn:
            changed = conn.execute(update(st.drafts).where(
                st.drafts.c.id == current.id,
                st.drafts.c.status.in_([s.value for s in allowed])).values(**values)).rowcount
            if changed:
                self.store.audit(action, actor=actor, source=current.source,
                                 record_id=current.in_reply_to, conn=conn,
                                 detail={"draft_id": current.id, **detail})
        if not changed:
            latest = self.get(current.id)
            hint = ""
            if latest.status is DraftStatus.BLOCKED:
                hint = (": blocked because it " + "; ".join(latest.blocked_reasons)
                        + " (fix it with `empathy-bridge replies edit`)")
            raise ReplyError(f"draft {current.id} is {latest.status.value}, cannot {verb} it"
                             f"{hint}")
        return self.get(current.id)

    def approve(self, draft_id: str, *, by: str) -> Draft:
        """Approve a pending draft on behalf of ``by`` (recorded and audited)."""
        if not by.strip():
            raise ReplyError("an approval needs a name: pass --by NAME")
        return self._transition(draft_id, [DraftStatus.PENDING],
                                {"status": DraftStatus.APPROVED.value, "approved_by": by,
                                 "approved_at": self.clock()},
                                "social.reply_approved", by, {}, "approve")

    def reject(self, draft_id: str, *, by: str, reason: str = "") -> Draft:
        """Reject a draft that has not been posted."""
        return self._transition(
            draft_id, [DraftStatus.PENDING, DraftStatus.BLOCKED, DraftStatus.APPROVED],
            {"status": DraftStatus.REJECTED.value, "rejected_by": by, "reject_reason": reason},
            "social.reply_rejected", by, {"reason": reason}, "reject")

    def edit(self, draft_id: str, text: str, *, by: str) -> Draft:
        """Replace a draft's text; safety and approval are evaluated again.

        An approved draft whose new text needs approval goes back to pending: approval was
        given to the old words.
        """
        current = self.get(draft_id)
        target = Target(source=current.source, native_id=current.in_reply_to,
                        conversation_id=current.conversation_id,
                        tier=Tier(current.target_tier) if current.target_tier else None,
                        followers=current.target_followers)
        status, needs, reason, blocked = self._evaluate(current.source, text, target,
                                                        current.origin)
        auto = status is DraftStatus.APPROVED
        return self._transition(
            draft_id, [DraftStatus.PENDING, DraftStatus.BLOCKED, DraftStatus.APPROVED],
            {"text": text, "status": status.value, "needs_approval": int(needs),
             "approval_reason": reason, "blocked_reasons": json.dumps(blocked),
             "approved_by": "auto" if auto else None, "approved_at": self.clock() if auto else None,
             "tone": self._score(text)},
            "social.reply_edited", by, {"status": status.value}, "edit")

    # -- posting ----------------------------------------------------------------------------

    def post_approved(self, poster_for: Callable[[str], ReplyPoster],
                      limit: int = 50) -> list[PostOutcome]:
        """Send approved drafts (and resume interrupted ones) through their source's poster.

        Stops early when the platform's allowance is spent or it keeps failing; what is not
        sent stays approved/posting for the next run.
        """
        query = (select(st.drafts.c.id).where(st.drafts.c.status.in_(
            [DraftStatus.APPROVED.value, DraftStatus.POSTING.value]))
            .order_by(st.drafts.c.approved_at, st.drafts.c.created_at).limit(limit))
        with self.store.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        outcomes: list[PostOutcome] = []
        for draft_id in ids:
            draft = self.get(draft_id)
            try:
                poster = poster_for(draft.source)
            except SkippableError as exc:  # the source's adapter cannot post at all
                self._fail(draft, str(exc))
                outcomes.append(PostOutcome(draft.id, DraftStatus.FAILED, error=str(exc)))
                continue
            except FatalError as exc:  # e.g. the source is no longer configured: fix, rerun
                self._set_error(draft.id, str(exc))
                outcomes.append(PostOutcome(draft.id, draft.status, error=str(exc)))
                continue
            try:
                outcomes.append(self._post_one(draft, poster))
            except (QuotaExhaustedError, RetriableError) as exc:
                self._set_error(draft.id, str(exc))
                outcomes.append(PostOutcome(draft.id, DraftStatus.POSTING, error=str(exc)))
                break
        return outcomes

    def _fail(self, draft: Draft, error: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(update(st.drafts).where(st.drafts.c.id == draft.id).values(
                status=DraftStatus.FAILED.value, last_error=error[:1000],
                updated_at=self.clock()))
            self.store.audit("social.reply_failed", actor=draft.approved_by or "unknown",
                             source=draft.source, record_id=draft.in_reply_to, conn=conn,
                             detail={"draft_id": draft.id, "error": error[:300]})

    def _set_error(self, draft_id: str, error: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(update(st.drafts).where(st.drafts.c.id == draft_id).values(
                last_error=error[:1000], updated_at=self.clock()))

    def _post_one(self, draft: Draft, poster: ReplyPoster) -> PostOutcome:
        violations = check_draft(draft.text, self.settings.brand_safety,
                                 platform_max_length=poster.reply_max_length)
        if violations:
            reasons = [v.reason for v in violations]
            with self.store.transaction() as conn:
                conn.execute(update(st.drafts).where(st.drafts.c.id == draft.id).values(
                    status=DraftStatus.BLOCKED.value, blocked_reasons=json.dumps(reasons),
                    updated_at=self.clock()))
            return PostOutcome(draft.id, DraftStatus.BLOCKED, error="; ".join(reasons))
        reconcile = draft.status is DraftStatus.POSTING
        with self.store.transaction() as conn:
            claimed = conn.execute(update(st.drafts).where(
                st.drafts.c.id == draft.id, st.drafts.c.status == draft.status.value).values(
                status=DraftStatus.POSTING.value, attempts=st.drafts.c.attempts + 1,
                updated_at=self.clock())).rowcount
        if not claimed:  # another run took it
            return PostOutcome(draft.id, self.get(draft.id).status)
        try:
            posted = poster.post_reply(draft.in_reply_to, draft.text, draft_id=draft.id,
                                       reconcile=reconcile)
        except SkippableError as exc:
            self._fail(draft, str(exc))
            return PostOutcome(draft.id, DraftStatus.FAILED, error=str(exc))
        now = self.clock()
        with self.store.transaction() as conn:
            conn.execute(update(st.drafts).where(st.drafts.c.id == draft.id).values(
                status=DraftStatus.POSTED.value, posted_id=posted.native_id,
                posted_url=posted.url, posted_at=now, last_error=None, updated_at=now))
            self.store.audit("social.reply_posted", actor=draft.approved_by or "unknown",
                             source=draft.source, record_id=draft.in_reply_to, conn=conn,
                             detail={"draft_id": draft.id, "posted_id": posted.native_id,
                                     "url": posted.url, "approved_by": draft.approved_by,
                                     "drafted_by": draft.drafted_by})
        log.info("posted draft %s as %s (approved by %s)", draft.id, posted.native_id,
                 draft.approved_by)
        return PostOutcome(draft.id, DraftStatus.POSTED, posted_id=posted.native_id)
