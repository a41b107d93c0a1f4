"""Built-in cue detection, registered as the plugin ``builtin.cues``.

Other plugins add cue kinds by implementing the same hook; the engine merges every
implementation's results before the analyzer runs. The lexicon lives in
:mod:`empathy_bridge.analysis.cues`.
"""

from __future__ import annotations

from empathy_bridge.analysis.cues import detect_cues
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import AuthorRole, Cue, Interaction


@hookimpl
def empathy_bridge_detect_cues(text: str, interaction: Interaction | None) -> list[Cue]:
    """Customer cues for customer messages and free text; apology/empathy cues for agents."""
    agent = interaction is not None and interaction.author_role is not AuthorRole.CUSTOMER
    return detect_cues(text, agent=agent)
