"""What a social network adapter offers the reply workflow: post a reply once, find it again.

Any adapter that implements :class:`ReplyPoster` (X today; another network tomorrow) can send
approved drafts; the workflow in :mod:`empathy_bridge.social.replies` never needs to know which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["PostedReply", "ReplyPoster"]


@dataclass(frozen=True)
class PostedReply:
    """A reply the platform accepted: its native id and public link."""

    native_id: str
    url: str | None = None


@runtime_checkable
class ReplyPoster(Protocol):
    """Posting side of a social adapter.

    ``post_reply`` must never post twice for one ``draft_id``: after an ambiguous failure (or
    when ``reconcile`` is true because an earlier run crashed mid-post) it first looks for the
    reply with :meth:`find_reply`.
    """

    reply_max_length: int

    def post_reply(self, in_reply_to: str, text: str, *, draft_id: str,
                   reconcile: bool = False) -> PostedReply:
        """Post ``text`` in reply to post ``in_reply_to``; returns the new post."""
        ...

    def find_reply(self, in_reply_to: str, text: str) -> PostedReply | None:
        """Our existing reply to ``in_reply_to`` with this text, if any."""
        ...
