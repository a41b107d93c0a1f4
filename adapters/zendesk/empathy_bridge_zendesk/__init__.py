"""empathy-bridge adapter for Zendesk Support, built on zenpy, with a local Zendesk sandbox.

Install the distribution and name ``adapter = "zendesk"`` in a ``[sources.NAME]`` table; see
``docs/adapters/zendesk.md``.
"""

from empathy_bridge_zendesk.adapter import ZendeskAdapter
from empathy_bridge_zendesk.config import ZendeskConfig
from empathy_bridge_zendesk.webhook import verify_signature

__all__ = ["ZendeskAdapter", "ZendeskConfig", "verify_signature"]
__version__ = "0.1.0"
