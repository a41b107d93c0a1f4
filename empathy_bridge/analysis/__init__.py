"""The built-in emotional-context analysis, usable without a Bridge.

>>> from empathy_bridge.analysis import analyze_texts
>>> context = analyze_texts(["This is the third time I ask. Cancel my account."])[0]
>>> context.tier.rank >= 2
True

Pieces: :mod:`~empathy_bridge.analysis.cues` (cue lexicon), :mod:`~.hashing` (features
identical to scikit-learn's HashingVectorizer), :mod:`~.model` (the shipped linear model),
:mod:`~.language` (script-based language detection), :mod:`~.scoring` (state, intensity, tier),
:mod:`~.trajectory` (conversation trend). The engine reaches them through the built-in plugins
in :mod:`empathy_bridge.defaults`.
"""

from empathy_bridge.analysis.cues import CUE_KINDS, detect_cues
from empathy_bridge.analysis.language import detect_language
from empathy_bridge.analysis.scoring import (
    ANALYZER_NAME,
    ANALYZER_VERSION,
    analyze_texts,
    read_batch,
    tier_for,
)
from empathy_bridge.analysis.trajectory import compute_trajectory, distress

__all__ = [
    "ANALYZER_NAME",
    "ANALYZER_VERSION",
    "CUE_KINDS",
    "analyze_texts",
    "compute_trajectory",
    "detect_cues",
    "detect_language",
    "distress",
    "read_batch",
    "tier_for",
]
