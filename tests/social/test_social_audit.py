"""The public-reply audit: counts, tone, consistency and outliers per team member."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from empathy_bridge.social.audit import audit_replies
from empathy_bridge.social.replies import Draft, DraftStatus
from empathy_bridge.social.settings import AuditSettings

T0 = datetime(2026, 11, 1, tzinfo=UTC)
BASE = Draft(id="d", source="x", in_reply_to="1", conversation_id="1", text="hi",
             origin="agent", drafted_by="alice", status=DraftStatus.POSTED, needs_approval=True,
             approval_reason="", blocked_reasons=(), approved_by="bob", approved_at=T0,
             rejected_by=None, reject_reason=None, posted_id="9", posted_url="u", posted_at=T0,
             attempts=1, last_error=None, tone=0.5, target_tier="upset", target_followers=1,
             created_at=T0, updated_at=T0)


def reply(n: int, member: str, tone: float | None, origin: str = "agent",
          approver: str = "bob") -> Draft:
    return replace(BASE, id=f"d{n}", drafted_by=member, tone=tone, origin=origin,
                   approved_by=approver)


def test_members_counts_consistency_and_outliers() -> None:
    drafts = [reply(n, "alice", 0.5) for n in range(6)]
    drafts += [reply(10, "carol", 0.45), reply(11, "carol", -0.9)]
    drafts += [reply(20, "dave", 0.6), reply(21, "dave", None)]
    result = audit_replies(drafts, AuditSettings(), T0)
    by = {m.member: m for m in result.members}
    assert result.replies == 10 and set(by) == {"alice", "carol", "dave"}
    assert by["alice"].replies == 6 and by["alice"].std_tone == 0.0
    assert not by["alice"].inconsistent and by["alice"].outliers == ()
    assert by["carol"].inconsistent and by["carol"].std_tone == 0.675
    assert by["carol"].outliers == ("d11",)
    assert [o["draft_id"] for o in result.outliers] == ["d11"]
    assert by["dave"].replies == 2 and by["dave"].scored == 1 and by["dave"].std_tone == 0.0


def test_suggestion_replies_count_for_the_approver() -> None:
    drafts = [reply(1, "empathy-bridge", 0.4, origin="suggestion", approver="erin"),
              reply(2, "empathy-bridge", 0.4, origin="suggestion", approver="auto")]
    members = [m.member for m in audit_replies(drafts, AuditSettings(), T0).members]
    assert members == ["empathy-bridge", "erin"]


def test_empty_period() -> None:
    result = audit_replies([], AuditSettings(), T0)
    assert result.replies == 0 and result.members == [] and result.team_mean is None
    assert result.as_dict()["since"] == T0.isoformat()
