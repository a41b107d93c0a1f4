"""Built-in cue detection, registered as the plugin ``builtin.cues``.

Other plugins add cue kinds by implementing the same hook; the engine concatenates every
implementation's results per message before the analyzer runs. The lexicon lives in
:mod:`empathy_bridge.analysis.cues`.
"""

from __future__ import annotations

from collections.abc import Sequence

from empathy_bridge.analysis.cues import detect_cues_batch
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import Cue, Interaction


@hookimpl
def empathy_bridge_detect_cues(interactions: Sequence[Interaction]) -> list[list[Cue]]:
    """Customer cues for customer messages; apology/empathy cues for agents' and bots'."""
    return detect_cues_batch(
        [i.text for i in interactions], [i.author_role for i in interactions]
    )
