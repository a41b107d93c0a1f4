"""Text preparation shared by training and run time: emoji become words the model can read.

VADER already reads emoji through its own emoji lexicon (``😡`` -> "enraged face"); the model
gets the same descriptions, so a message of only emoji still has features. The training script
applies :func:`model_text` before hashing, so run time and training see identical strings.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from empathy_bridge.analysis.hashing import tokens

__all__ = ["VADER", "model_text", "model_tokens"]

#: The one VADER instance of the process (loading its lexicon costs ~50 ms).
VADER = SentimentIntensityAnalyzer()

# VADER looks emoji up one character at a time, so only single-character keys can ever match;
# a translation table does the same replacement in C.
_EMOJI_TABLE: dict[int, str] = {
    ord(ch): f" {description} " for ch, description in VADER.emojis.items() if len(ch) == 1
}


def model_text(text: str) -> str:
    """``text`` with every emoji replaced by its description, padded with spaces."""
    if text.isascii():
        return text
    return text.translate(_EMOJI_TABLE)


# Cue detection (the hook, called first) and the analyzer both need a message's words; the
# second asks for the same string moments later, so a small memo saves a tokenisation. Two
# generations: when the young one is full it becomes the old one, so an entry survives at least
# _TOKENS_MAX newer texts (more than a batch). Texts over _TOKENS_MAX_CHARS are not kept, so the
# memo stays a few megabytes.
_TOKENS_MAX = 2048
_TOKENS_MAX_CHARS = 1000


_young: dict[str, list[str]] = {}
_old: dict[str, list[str]] = {}


def _remember(text: str) -> list[str]:
    global _young, _old
    found = _old.get(text)
    if found is None:
        found = tokens(model_text(text))
    if len(_young) >= _TOKENS_MAX:
        _old, _young = _young, {}
    _young[text] = found
    return found


def model_tokens(text: str) -> list[str]:
    """The model's tokens of ``text`` (:func:`model_text`, then the hashing tokenizer).

    Memoised for the last few thousand short texts; treat the list as read-only.
    """
    if len(text) > _TOKENS_MAX_CHARS:
        return tokens(model_text(text))
    found = _young.get(text)
    return _remember(text) if found is None else found
