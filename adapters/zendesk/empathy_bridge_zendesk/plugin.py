"""Registers the Zendesk adapter and its sandbox through the ``empathy_bridge`` hooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from empathy_bridge.hookspecs import hookimpl

__all__ = ["empathy_bridge_register_adapters", "empathy_bridge_register_sandboxes"]


@hookimpl
def empathy_bridge_register_adapters(register: Callable[[type[Any]], None]) -> None:
    """Contribute :class:`~empathy_bridge_zendesk.adapter.ZendeskAdapter` as ``zendesk``."""
    from empathy_bridge_zendesk.adapter import ZendeskAdapter

    register(ZendeskAdapter)


@hookimpl
def empathy_bridge_register_sandboxes(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Contribute the local Zendesk emulator as ``zendesk``."""
    from empathy_bridge_zendesk.sandbox import ZendeskSandbox

    register("zendesk", ZendeskSandbox)
