"""empathy-bridge adapter for X (Twitter) API v2, with webhook helpers and a local sandbox."""

from empathy_bridge_x.adapter import XAdapter, XCursor, XSourceConfig
from empathy_bridge_x.webhooks import crc_response, verify_signature

__all__ = ["XAdapter", "XCursor", "XSourceConfig", "crc_response", "verify_signature"]
