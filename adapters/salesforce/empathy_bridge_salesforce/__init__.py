"""Salesforce Service Cloud adapter for empathy-bridge, with a local HTTPS sandbox.

Install ``empathy-bridge-salesforce`` and configure a source with ``adapter = "salesforce"``;
see ``docs/adapters/salesforce.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from empathy_bridge.lazy import lazy_exports

if TYPE_CHECKING:
    from empathy_bridge_salesforce.adapter import SalesforceAdapter
    from empathy_bridge_salesforce.config import CaseFields, SalesforceConfig
    from empathy_bridge_salesforce.sandbox import SalesforceSandbox

__all__ = ["CaseFields", "SalesforceAdapter", "SalesforceConfig", "SalesforceSandbox"]
__version__ = "0.1.0"

# The public names load on first use (PEP 562): the plugin entry point imports this package,
# and every command (even ``analyze``) would otherwise pay for simple-salesforce at start-up.
__getattr__ = lazy_exports(__name__, {
    "SalesforceAdapter": "empathy_bridge_salesforce.adapter",
    "CaseFields": "empathy_bridge_salesforce.config",
    "SalesforceConfig": "empathy_bridge_salesforce.config",
    "SalesforceSandbox": "empathy_bridge_salesforce.sandbox",
})
