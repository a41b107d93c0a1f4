"""Entry point of the X distribution: registers the adapter and its sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from empathy_bridge.adapter import Adapter
from empathy_bridge.hookspecs import hookimpl


@hookimpl
def empathy_bridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the ``x`` adapter."""
    # Imported here, not at module level: the vendor client costs a noticeable share of
    # start-up that commands without a source (``analyze``) should not pay.
    from empathy_bridge_x.adapter import XAdapter

    register(XAdapter)


@hookimpl
def empathy_bridge_register_sandboxes(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register the ``x`` sandbox."""
    from empathy_bridge_x.sandbox import create_sandbox

    register("x", create_sandbox)
