"""Built-in analyzer, registered as the plugin ``builtin.analyzer``: VADER plus the shipped model.

See :mod:`empathy_bridge.analysis.scoring` for the rules and ``docs/analysis.md`` for the
figures. :func:`analyze_interactions` is the same batch path without a plugin manager.
"""

from __future__ import annotations

from collections.abc import Sequence

from empathy_bridge.analysis.cues import detect_cues
from empathy_bridge.analysis.scoring import read_batch
from empathy_bridge.config import AnalysisSettings, BridgeConfig
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import AuthorRole, Cue, EmotionalContext, Interaction

__all__ = ["analyze_interactions", "empathy_bridge_analyze"]

_DEFAULT_MAX_CHARS = AnalysisSettings().max_chars


def analyze_interactions(
    interactions: Sequence[Interaction],
    cues: Sequence[Sequence[Cue]] | None = None,
    max_chars: int = _DEFAULT_MAX_CHARS,
) -> list[EmotionalContext]:
    """One context per interaction, in order; the built-in cues are detected when not given.

    Texts longer than ``max_chars`` are read on their prefix and marked ``truncated``.
    """
    texts = [i.text[:max_chars] for i in interactions]
    truncated = [len(i.text) > max_chars for i in interactions]
    roles = [i.author_role for i in interactions]
    if cues is None:
        cues = [
            detect_cues(t, agent=r is not AuthorRole.CUSTOMER)
            for t, r in zip(texts, roles, strict=True)
        ]
    languages = [i.language for i in interactions]
    return read_batch(texts, roles, cues, truncated, languages)


@hookimpl
def empathy_bridge_analyze(
    interactions: Sequence[Interaction], cues: Sequence[Sequence[Cue]], config: BridgeConfig
) -> list[EmotionalContext]:
    """Sentiment, emotional state, intensity and tier of each interaction (batch, in order)."""
    return analyze_interactions(interactions, cues, config.analysis.max_chars)
