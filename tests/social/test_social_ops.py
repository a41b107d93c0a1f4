"""The social cycle's drafting and posting steps: suggestions become held drafts, approved
drafts go out through the source's poster, a source that cannot post is reported."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from empathy_bridge.schemas import EmotionalContext, Interaction, Tier
from empathy_bridge.secrets import Secrets
from empathy_bridge.social.ops import SocialOps
from empathy_bridge.social.replies import DraftStatus
from empathy_bridge.social.settings import SocialSettings
from empathy_bridge.store import Store


def suggest(post: Interaction, context: EmotionalContext) -> str | None:
    return "I'm so sorry this happened. Could you DM us so we can sort it out today?"


def test_suggestions_become_held_drafts_once(
        social_store: Store, add_posts: Callable[..., Any], post_factory: Callable[..., Any],
        now: datetime, fake_poster: Any) -> None:
    settings = SocialSettings.model_validate({"approval": {"draft_from_suggestions": True}})
    ops = SocialOps(social_store, settings, adapter_for=lambda source: fake_poster,
                    secrets=Secrets(environ={}), suggest=suggest)
    angry, _calm = add_posts(post_factory(tier=Tier.DISTRESSED),
                            post_factory(tier=Tier.CALM, sentiment=0.3))
    report = ops.run(now)
    assert len(report.drafts) == 1 and report.posted == []
    [draft] = ops.replies.drafts()
    assert draft.in_reply_to == angry.native_id and draft.origin == "suggestion"
    assert draft.status is DraftStatus.PENDING and draft.drafted_by == "empathy-bridge"
    ops.replies.approve(draft.id, by="dana")
    again = ops.run(now)
    assert again.drafts == [] and [o.status for o in again.posted] == [DraftStatus.POSTED]
    assert len(fake_poster.posted) == 1
    assert ops.run(now).posted == []


def test_posting_through_a_source_that_cannot_post_fails_the_draft(
        social_store: Store, add_posts: Callable[..., Any], post_factory: Callable[..., Any],
        now: datetime) -> None:
    class Helpdesk:
        name = "helpdesk"

    def helpdesk(source: str) -> Any:
        return Helpdesk()

    ops = SocialOps(social_store, SocialSettings(), adapter_for=helpdesk,
                    secrets=Secrets(environ={}))
    [post] = add_posts(post_factory(tier=Tier.CALM, sentiment=0.3))
    ops.replies.draft("x", post.native_id, "Thanks for the kind words!", drafted_by="erin")
    [outcome] = ops.run(now).posted
    assert outcome.status is DraftStatus.FAILED
    assert outcome.error == "source 'x' (helpdesk) cannot post replies"
