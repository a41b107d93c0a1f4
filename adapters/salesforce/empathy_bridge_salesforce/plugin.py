"""Entry point of the ``empathy_bridge`` plugin group: the Salesforce adapter and sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from empathy_bridge.adapter import Adapter
from empathy_bridge.hookspecs import hookimpl

__all__ = ["empathy_bridge_register_adapters", "empathy_bridge_register_sandboxes"]


@hookimpl
def empathy_bridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the ``salesforce`` adapter."""
    # Imported here, not at module level: the vendor client costs a noticeable share of
    # start-up that commands without a source (``analyze``) should not pay.
    from empathy_bridge_salesforce.adapter import SalesforceAdapter

    register(SalesforceAdapter)


@hookimpl
def empathy_bridge_register_sandboxes(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register the ``salesforce`` sandbox (HTTPS on loopback with a throwaway CA)."""
    from empathy_bridge_salesforce.sandbox import make_sandbox

    register("salesforce", make_sandbox)
