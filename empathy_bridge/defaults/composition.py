"""Built-in plugin: the ``[analyzers]`` section that chains hosted analyzers after the primary."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from empathy_bridge.composition import AnalyzersSettings
from empathy_bridge.hookspecs import hookimpl


@hookimpl
def empathy_bridge_register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Own the ``[analyzers]`` section."""
    register("analyzers", AnalyzersSettings)
