"""empathy-bridge adapter for X (Twitter) API v2, with webhook helpers and a local sandbox."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from empathy_bridge_x.adapter import XAdapter, XCursor, XSourceConfig
    from empathy_bridge_x.webhooks import crc_response, verify_signature

__all__ = ["XAdapter", "XCursor", "XSourceConfig", "crc_response", "verify_signature"]

# The public names load on first use (PEP 562): the plugin entry point imports this package,
# and every command (even ``analyze``) would otherwise pay for tweepy at start-up.
_HOME = {
    "XAdapter": "empathy_bridge_x.adapter",
    "XCursor": "empathy_bridge_x.adapter",
    "XSourceConfig": "empathy_bridge_x.adapter",
    "crc_response": "empathy_bridge_x.webhooks",
    "verify_signature": "empathy_bridge_x.webhooks",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
