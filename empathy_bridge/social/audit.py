"""The public-reply audit: per team member, how many replies, their tone and its consistency.

Tone is the sentiment (-1..1) the analyzer gave each reply's text when it was drafted or last
edited. A reply is an outlier when its tone is more than ``outlier_z`` standard deviations from
the team's mean; a member is *inconsistent* when the standard deviation of their own tone
exceeds ``inconsistent_std``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from empathy_bridge.social.replies import Draft
from empathy_bridge.social.settings import AuditSettings

__all__ = ["MemberAudit", "ReplyAudit", "audit_replies"]


@dataclass(frozen=True)
class MemberAudit:
    """One team member's public replies in the period."""

    member: str
    replies: int
    scored: int
    mean_tone: float | None
    std_tone: float | None
    min_tone: float | None
    max_tone: float | None
    outliers: tuple[str, ...] = ()
    inconsistent: bool = False


@dataclass(frozen=True)
class ReplyAudit:
    """The whole audit."""

    since: datetime
    replies: int
    team_mean: float | None
    team_std: float | None
    members: list[MemberAudit] = field(default_factory=list)
    outliers: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (for ``--json``)."""
        return {"since": self.since.isoformat(), "replies": self.replies,
                "team_mean": self.team_mean, "team_std": self.team_std,
                "members": [m.__dict__ | {"outliers": list(m.outliers)} for m in self.members],
                "outliers": self.outliers}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def audit_replies(drafts: Sequence[Draft], settings: AuditSettings, since: datetime) -> ReplyAudit:
    """Audit posted replies (``drafts`` already filtered to the period)."""
    scored = [d for d in drafts if d.tone is not None]
    tones = [d.tone for d in scored if d.tone is not None]
    team_mean = statistics.fmean(tones) if tones else None
    team_std = statistics.pstdev(tones) if len(tones) > 1 else None
    outliers: list[dict[str, Any]] = []
    outlier_ids: set[str] = set()
    if team_mean is not None and team_std:
        for draft in scored:
            assert draft.tone is not None
            z = (draft.tone - team_mean) / team_std
            if abs(z) > settings.outlier_z:
                outlier_ids.add(draft.id)
                outliers.append({"draft_id": draft.id, "member": draft.member,
                                 "tone": _round(draft.tone), "z": _round(z),
                                 "posted_url": draft.posted_url, "text": draft.text})
    by_member: dict[str, list[Draft]] = {}
    for draft in drafts:
        by_member.setdefault(draft.member, []).append(draft)
    members = []
    for member, items in sorted(by_member.items()):
        own = [d.tone for d in items if d.tone is not None]
        std = statistics.pstdev(own) if len(own) > 1 else (0.0 if own else None)
        members.append(MemberAudit(
            member=member, replies=len(items), scored=len(own),
            mean_tone=_round(statistics.fmean(own)) if own else None, std_tone=_round(std),
            min_tone=_round(min(own)) if own else None, max_tone=_round(max(own)) if own else None,
            outliers=tuple(d.id for d in items if d.id in outlier_ids),
            inconsistent=std is not None and std > settings.inconsistent_std))
    return ReplyAudit(since=since, replies=len(drafts), team_mean=_round(team_mean),
                      team_std=_round(team_std), members=members, outliers=outliers)
