"""Salesforce Service Cloud adapter for empathy-bridge, with a local HTTPS sandbox.

Install ``empathy-bridge-salesforce`` and configure a source with ``adapter = "salesforce"``;
see ``docs/adapters/salesforce.md``.
"""

from empathy_bridge_salesforce.adapter import SalesforceAdapter
from empathy_bridge_salesforce.config import CaseFields, SalesforceConfig
from empathy_bridge_salesforce.sandbox import SalesforceSandbox

__all__ = ["CaseFields", "SalesforceAdapter", "SalesforceConfig", "SalesforceSandbox"]
__version__ = "0.1.0"
