"""Built-in analyzer (minimal VADER polarity until issue 3 lands the full one)."""

from __future__ import annotations

from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from empathy_bridge.config import BridgeConfig
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import Cue, EmotionalContext, EmotionalState, Interaction, Tier

_vader = SentimentIntensityAnalyzer()


@hookimpl
def empathy_bridge_analyze(
    interactions: Sequence[Interaction], cues: Sequence[Sequence[Cue]], config: BridgeConfig
) -> list[EmotionalContext]:
    """Polarity only."""
    out = []
    for interaction, found in zip(interactions, cues, strict=True):
        score = _vader.polarity_scores(interaction.text[: config.analysis.max_chars])["compound"]
        state = (EmotionalState.FRUSTRATION if score < -0.05 else
                 EmotionalState.SATISFACTION if score > 0.05 else EmotionalState.NEUTRAL)
        intensity = abs(score)
        tier = [Tier.CALM, Tier.CONCERNED, Tier.UPSET, Tier.DISTRESSED, Tier.CRITICAL][
            min(4, int(intensity * 5))] if score < 0 else Tier.CALM
        out.append(EmotionalContext(sentiment=score, state=state, states={state: intensity},
                                    intensity=intensity, tier=tier, cues=tuple(found),
                                    author_role=interaction.author_role,
                                    analyzer="builtin", analyzer_version="0.1"))
    return out
