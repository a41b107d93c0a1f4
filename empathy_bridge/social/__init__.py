"""Social care operations, reusable by any social network adapter.

- :mod:`~empathy_bridge.social.posting`: the protocol a network adapter implements to post replies;
- :mod:`~empathy_bridge.social.safety`: brand-safety checks on a draft (personal data, phrases,
  platform length);
- :mod:`~empathy_bridge.social.replies`: drafts held for approval, approval rules and posting
  exactly once;
- :mod:`~empathy_bridge.social.rules`: declarative listening rules, windows and alerts;
- :mod:`~empathy_bridge.social.sinks`: where alerts go (log, webhook, a CRM case);
- :mod:`~empathy_bridge.social.reach`: reach-based tier raising for public-thread SLAs;
- :mod:`~empathy_bridge.social.audit`: the public-reply tone audit.
"""

from empathy_bridge.social.posting import PostedReply, ReplyPoster

__all__ = ["PostedReply", "ReplyPoster"]
