"""Text preparation shared by training and run time: emoji become words the model can read.

VADER already reads emoji through its own emoji lexicon (``😡`` -> "enraged face"); the model
gets the same descriptions, so a message of only emoji still has features. The training script
applies :func:`model_text` before hashing, so run time and training see identical strings.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

__all__ = ["VADER", "model_text"]

#: The one VADER instance of the process (loading its lexicon costs ~50 ms).
VADER = SentimentIntensityAnalyzer()

_EMOJI: dict[str, str] = dict(VADER.emojis)


def model_text(text: str) -> str:
    """``text`` with every emoji replaced by its description, padded with spaces."""
    if text.isascii():
        return text
    emoji = _EMOJI
    return "".join([f" {emoji[ch]} " if ch in emoji else ch for ch in text])
