"""Reply drafts: approval rules, brand safety, state transitions and posting exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update

from empathy_bridge.errors import QuotaExhaustedError, SkippableError
from empathy_bridge.schemas import Tier
from empathy_bridge.social import tables as st
from empathy_bridge.social.replies import (
    DraftStatus,
    ReplyError,
    ReplyQueue,
    Target,
    approval_needed,
)
from empathy_bridge.social.settings import ApprovalSettings, SocialSettings
from empathy_bridge.store import Store

SAFE = "So sorry about this, could you DM us so we can help?"


@pytest.fixture
def queue(social_store: Store) -> ReplyQueue:
    return ReplyQueue(social_store, SocialSettings(), tone=lambda text: 0.5,
                      platform_max_length=lambda source: 280)


def target(tier: Tier | None = Tier.CALM, followers: int | None = 10) -> Target:
    return Target(source="x", native_id="1", conversation_id="1", tier=tier, followers=followers)


@pytest.mark.parametrize(("tier", "followers", "origin", "settings", "needed"), [
    (Tier.CALM, 10, "agent", {}, False),
    (Tier.UPSET, 10, "agent", {}, True),
    (Tier.DISTRESSED, 10, "agent", {}, True),
    (Tier.CALM, 50_000, "agent", {}, True),
    (Tier.CALM, 10, "suggestion", {}, True),
    (Tier.CALM, 10, "suggestion", {"suggestions_need_approval": False}, False),
    (Tier.CALM, 10, "agent", {"require_all": True}, True),
    (None, None, "agent", {}, False),
    (Tier.UPSET, 10, "agent", {"min_tier": "distressed"}, False),
])
def test_approval_rules(tier: Tier | None, followers: int | None, origin: str,
                        settings: dict[str, Any], needed: bool) -> None:
    need, reason = approval_needed(target(tier, followers), origin,
                                   ApprovalSettings.model_validate(settings))
    assert need is needed and reason


def test_draft_to_distressed_post_is_held_then_approved_with_approver(
        queue: ReplyQueue, social_store: Store, add_posts: Callable[..., Any],
        post_factory: Callable[..., Any]) -> None:
    [post] = add_posts(post_factory(tier=Tier.DISTRESSED))
    draft = queue.draft("x", post.native_id, SAFE, drafted_by="alice")
    assert draft.status is DraftStatus.PENDING and draft.needs_approval
    assert "distressed" in draft.approval_reason and draft.tone == 0.5
    approved = queue.approve(draft.id[:8], by="bob")
    assert approved.status is DraftStatus.APPROVED and approved.approved_by == "bob"
    with pytest.raises(ReplyError, match="is approved, cannot approve it"):
        queue.approve(draft.id, by="carol")
    actions = [e["action"] for e in social_store.audit_entries()]
    assert actions == ["social.reply_approved", "social.reply_drafted"]
    assert social_store.audit_entries("social.reply_approved")[0]["actor"] == "bob"


def test_calm_post_reply_goes_straight_to_approved(
        queue: ReplyQueue, add_posts: Callable[..., Any], post_factory: Callable[..., Any]) -> None:
    [post] = add_posts(post_factory(tier=Tier.CALM, sentiment=0.5))
    draft = queue.draft("x", post.native_id, "Thanks so much, glad we could help!",
                        drafted_by="alice")
    assert draft.status is DraftStatus.APPROVED and draft.approved_by == "auto"


def test_blocked_draft_shows_reasons_cannot_be_approved_and_edit_unblocks(
        queue: ReplyQueue, add_posts: Callable[..., Any], post_factory: Callable[..., Any]) -> None:
    [post] = add_posts(post_factory(tier=Tier.UPSET))
    draft = queue.draft("x", post.native_id, "Call me at +1 555 123 4567 " + "!" * 280,
                        drafted_by="alice")
    assert draft.status is DraftStatus.BLOCKED
    assert any("phone number" in r for r in draft.blocked_reasons)
    assert any("the limit is 280" in r for r in draft.blocked_reasons)
    with pytest.raises(ReplyError, match="blocked because it contains a phone number"):
        queue.approve(draft.id, by="bob")
    edited = queue.edit(draft.id, SAFE, by="alice")
    assert edited.status is DraftStatus.PENDING and edited.blocked_reasons == ()


def test_editing_an_approved_draft_needs_approval_again(
        queue: ReplyQueue, add_posts: Callable[..., Any], post_factory: Callable[..., Any]) -> None:
    [post] = add_posts(post_factory(tier=Tier.DISTRESSED))
    draft = queue.approve(queue.draft("x", post.native_id, SAFE, drafted_by="a").id, by="b")
    edited = queue.edit(draft.id, SAFE + " Thank you.", by="a")
    assert edited.status is DraftStatus.PENDING and edited.approved_by is None


def test_reply_to_a_post_not_in_the_store_is_a_clear_error(queue: ReplyQueue) -> None:
    with pytest.raises(ReplyError, match="not in the store: run `empathy-bridge sync` first"):
        queue.draft("x", "404", SAFE, drafted_by="alice")
    with pytest.raises(ReplyError, match="no draft 'nope'"):
        queue.get("nope")


def test_approved_drafts_are_posted_once_and_audited(
        queue: ReplyQueue, social_store: Store, add_posts: Callable[..., Any],
        post_factory: Callable[..., Any], fake_poster: Any) -> None:
    [post] = add_posts(post_factory(tier=Tier.DISTRESSED))
    draft = queue.draft("x", post.native_id, SAFE, drafted_by="alice")
    assert queue.post_approved(lambda source: fake_poster) == []  # pending: not posted
    queue.approve(draft.id, by="bob")
    [outcome] = queue.post_approved(lambda source: fake_poster)
    assert outcome.status is DraftStatus.POSTED and outcome.posted_id == "p1"
    assert queue.post_approved(lambda source: fake_poster) == []
    assert len(fake_poster.posted) == 1 and fake_poster.posted[0]["draft_id"] == draft.id
    [entry] = social_store.audit_entries("social.reply_posted")
    assert entry["actor"] == "bob" and '"approved_by":"bob"' in entry["detail"]
    done = queue.get(draft.id)
    assert done.status is DraftStatus.POSTED and done.posted_url and done.attempts == 1


def test_crash_after_claim_is_reconciled_not_posted_twice(
        queue: ReplyQueue, social_store: Store, add_posts: Callable[..., Any],
        post_factory: Callable[..., Any], fake_poster: Any) -> None:
    [post] = add_posts(post_factory(tier=Tier.CALM, sentiment=0.4))
    draft = queue.draft("x", post.native_id, SAFE, drafted_by="alice")
    # The platform got the post, then the process died before recording it.
    fake_poster.post_reply(post.native_id, SAFE, draft_id=draft.id)
    with social_store.transaction() as conn:
        conn.execute(update(st.drafts).where(st.drafts.c.id == draft.id).values(
            status="posting"))
    [outcome] = queue.post_approved(lambda source: fake_poster)
    assert outcome.status is DraftStatus.POSTED and outcome.posted_id == "p1"
    assert len(fake_poster.posted) == 1 and fake_poster.lookups == 1


def test_platform_refusal_fails_the_draft_and_quota_stops_the_run(
        queue: ReplyQueue, add_posts: Callable[..., Any], post_factory: Callable[..., Any],
        fake_poster: Any) -> None:
    posts = add_posts(*(post_factory(tier=Tier.CALM, sentiment=0.3) for _ in range(3)))
    drafts = [queue.draft("x", p.native_id, f"{SAFE} {n}", drafted_by="a")
              for n, p in enumerate(posts)]
    fake_poster.fail_with = SkippableError("X refused: deleted or not visible", code="403")
    first = queue.post_approved(lambda source: fake_poster, limit=1)
    assert [o.status for o in first] == [DraftStatus.FAILED]
    assert queue.get(drafts[0].id).last_error == "X refused: deleted or not visible"
    fake_poster.fail_with = QuotaExhaustedError("posting allowance spent")
    second = queue.post_approved(lambda source: fake_poster)
    assert [o.status for o in second] == [DraftStatus.POSTING], "stops at the first quota error"
    fake_poster.fail_with = None
    third = queue.post_approved(lambda source: fake_poster)
    assert [o.status for o in third] == [DraftStatus.POSTED, DraftStatus.POSTED]
    assert len(fake_poster.posted) == 2


def test_reject_records_who_and_why(queue: ReplyQueue, add_posts: Callable[..., Any],
                                    post_factory: Callable[..., Any]) -> None:
    [post] = add_posts(post_factory(tier=Tier.DISTRESSED))
    draft = queue.reject(queue.draft("x", post.native_id, SAFE, drafted_by="a").id, by="b",
                         reason="too casual")
    assert draft.status is DraftStatus.REJECTED and draft.reject_reason == "too casual"
    with pytest.raises(ReplyError, match="is rejected"):
        queue.edit(draft.id, SAFE, by="a")


def test_a_post_gets_one_live_draft_unless_asked(
        queue: ReplyQueue, add_posts: Callable[..., Any], post_factory: Callable[..., Any]) -> None:
    [post] = add_posts(post_factory(tier=Tier.DISTRESSED))
    first = queue.draft("x", post.native_id, SAFE, drafted_by="alice")
    with pytest.raises(ReplyError, match=f"already has draft {first.id} \\(pending\\)"):
        queue.draft("x", post.native_id, SAFE + " Thanks!", drafted_by="bob")
    second = queue.draft("x", post.native_id, SAFE + " Thanks!", drafted_by="bob",
                         allow_another=True)
    assert second.status is DraftStatus.PENDING
    queue.reject(first.id, by="carol")
    queue.reject(second.id, by="carol")
    assert queue.draft("x", post.native_id, SAFE, drafted_by="dana").status is (
        DraftStatus.PENDING)
