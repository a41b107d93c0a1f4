"""Entry-point module: registers the analyzer with empathy-bridge."""

from __future__ import annotations

from collections.abc import Callable

from empathy_bridge import hookimpl
from empathy_bridge.analyzers import Analyzer
from empathy_bridge_google_language.analyzer import ANALYZER


@hookimpl
def empathy_bridge_register_analyzers(register: Callable[[type[Analyzer]], None]) -> None:
    """Register the analyzer for use in ``[[analyzers.chain]]``."""
    register(ANALYZER)
