"""empathy-bridge adapter for X (Twitter) API v2, with webhook helpers and a local sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from empathy_bridge.lazy import lazy_exports

if TYPE_CHECKING:
    from empathy_bridge_x.adapter import XAdapter, XCursor, XSourceConfig
    from empathy_bridge_x.webhooks import crc_response, verify_signature

__all__ = ["XAdapter", "XCursor", "XSourceConfig", "crc_response", "verify_signature"]

# The public names load on first use (PEP 562): the plugin entry point imports this package,
# and every command (even ``analyze``) would otherwise pay for tweepy at start-up.
__getattr__ = lazy_exports(__name__, {
    "XAdapter": "empathy_bridge_x.adapter",
    "XCursor": "empathy_bridge_x.adapter",
    "XSourceConfig": "empathy_bridge_x.adapter",
    "crc_response": "empathy_bridge_x.webhooks",
    "verify_signature": "empathy_bridge_x.webhooks",
})
