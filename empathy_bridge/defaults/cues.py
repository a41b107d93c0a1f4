"""Built-in cue detectors (placeholder until the analyzer lands; see issue 3)."""

from __future__ import annotations

from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import Cue, Interaction


@hookimpl
def empathy_bridge_detect_cues(text: str, interaction: Interaction | None) -> list[Cue]:
    """No built-in cues yet."""
    return []
