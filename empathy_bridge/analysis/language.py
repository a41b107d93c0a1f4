"""Cheap language identification: the dominant writing system, then function words for Latin.

The emotion model and VADER read English only, so the analyzer needs to know when a message is
something else (it then reports state ``neutral`` with low confidence rather than guessing).
This is deliberately crude and fast:

1. Count letters per script (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Hangul,
   kana, Han). ASCII text is Latin without looking at a character.
2. A non-Latin dominant script gives a language where the script nearly implies one (Hangul ->
   ``ko``, kana -> ``ja``, Han -> ``zh``, Greek -> ``el``, Hebrew -> ``he``, Thai -> ``th``,
   Devanagari -> ``hi``, Arabic -> ``ar``) or ``und-Cyrl`` (Cyrillic covers many languages).
3. Latin text is compared against short function-word lists of English, Spanish, French,
   German, Portuguese, Italian and Dutch; English wins ties and texts with no evidence.

A text with no letters at all (emoji, punctuation, digits) has no language (``None``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

__all__ = ["ENGLISH", "detect_language"]

ENGLISH = "en"

# Only the first characters are inspected: the dominant script of a message shows early.
_SCAN_CHARS = 2000

# (first code point, last code point, script tag, language or None)
_RANGES: tuple[tuple[int, int, str, str], ...] = (
    (0x0041, 0x024F, "Latn", ""),
    (0x0370, 0x03FF, "Grek", "el"),
    (0x0400, 0x052F, "Cyrl", "und-Cyrl"),
    (0x0590, 0x05FF, "Hebr", "he"),
    (0x0600, 0x06FF, "Arab", "ar"),
    (0x0750, 0x077F, "Arab", "ar"),
    (0x0900, 0x097F, "Deva", "hi"),
    (0x0E00, 0x0E7F, "Thai", "th"),
    (0x1100, 0x11FF, "Hang", "ko"),
    (0x3040, 0x30FF, "Kana", "ja"),
    (0x3400, 0x4DBF, "Hani", "zh"),
    (0x4E00, 0x9FFF, "Hani", "zh"),
    (0xAC00, 0xD7AF, "Hang", "ko"),
    (0x1E00, 0x1EFF, "Latn", ""),
)

_RANGES_SORTED = sorted(_RANGES)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words only; single letters are left out because tokens have two letters or more.
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "the and is are was were to of in it you my me this that have has not for with on be "
        "do does did can will would what why how when your our they we he she but so just no "
        "at from an or if been get got"
    ),
    "es": _words(
        "el la los las es son que de en no por para con mi una un lo pero muy esta está como "
        "del se su yo tengo hace nada"
    ),
    "fr": _words(
        "le la les est sont que de des en et ne pas pour avec mon une un je vous mais très ce "
        "cette du au il elle nous rien"
    ),
    "de": _words(
        "der die das ist sind und nicht ich mit für ein eine mein meine aber sehr zu von den "
        "dem auf es sie wir noch nichts"
    ),
    "pt": _words(
        "os as são que de em não por para com meu minha uma um mas muito esta está do da se "
        "eu nada"
    ),
    "it": _words(
        "il lo gli le sono che di in non per con mio mia una un ma molto questo questa del "
        "della io ho niente"
    ),
    "nl": _words(
        "de het een is zijn en niet ik met voor mijn maar heel dit dat van op je we geen nog "
        "niets"
    ),
}


_ASCII_LETTER = re.compile(r"[A-Za-z]")
_ASCII_LETTER_BYTES = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))
_NON_ASCII_LETTER = re.compile(r"[^\x00-\x7f]")
_RANGE_STARTS = [low for low, _, _, _ in _RANGES_SORTED]


def _script_counts(text: str) -> dict[str, int]:
    head = text[:_SCAN_CHARS]
    counts: dict[str, int] = {}
    # UTF-8 encodes every non-ASCII character with bytes >= 0x80, so deleting the ASCII letter
    # bytes removes exactly one byte per ASCII letter, without a Python object per letter.
    raw = head.encode("utf-8", "surrogatepass")
    ascii_letters = len(raw) - len(raw.translate(None, _ASCII_LETTER_BYTES))
    if ascii_letters:
        counts["Latn"] = ascii_letters
    # Only the non-ASCII characters need a range look-up (usually a few accents or emoji).
    for ch in _NON_ASCII_LETTER.findall(head):
        if not ch.isalpha():
            continue
        cp = ord(ch)
        k = bisect.bisect_right(_RANGE_STARTS, cp) - 1
        script = "Zyyy"
        if k >= 0 and cp <= _RANGES_SORTED[k][1]:
            script = _RANGES_SORTED[k][2]
        counts[script] = counts.get(script, 0) + 1
    return counts


_SCRIPT_LANGUAGE = {script: lang for _, _, script, lang in _RANGES}

def _latin_language(words: Sequence[str]) -> str:
    sample = words if len(words) <= 200 else words[:200]
    english = len(_ENGLISH_WORDS.intersection(sample))
    if english >= 2 or _OTHER_WORDS.isdisjoint(sample):
        return ENGLISH  # the common cases, each decided by one set operation
    best, hits = ENGLISH, english
    for lang, stop in _OTHER_STOPWORDS:
        n = len(stop.intersection(sample))
        if n > hits:
            best, hits = lang, n
    # English unless another language has real evidence (two function words) and more of it.
    return best if hits >= 2 else ENGLISH


_ENGLISH_WORDS = _STOPWORDS[ENGLISH]
_OTHER_STOPWORDS = tuple((lang, stop) for lang, stop in _STOPWORDS.items() if lang != ENGLISH)
_OTHER_WORDS = frozenset().union(*(stop for _, stop in _OTHER_STOPWORDS))


def detect_language(text: str, words: Sequence[str]) -> tuple[str | None, float]:
    """Language tag of ``text`` and the share of its letters in the dominant script.

    :param words: the lower-cased tokens of ``text`` (the analyzer already has them).
    :returns: ``(None, 0.0)`` when the text has no letters.
    """
    if text.isascii():
        if not _ASCII_LETTER.search(text, 0, _SCAN_CHARS):
            return None, 0.0
        return _latin_language(words), 1.0
    counts = _script_counts(text)
    total = sum(counts.values())
    if not total:
        return None, 0.0
    script = max(counts, key=lambda s: counts[s])
    share = counts[script] / total
    if script == "Latn":
        return _latin_language(words), share
    if script in ("Kana", "Hani") and counts.get("Kana"):
        # Japanese mixes kana with Han characters; any kana means Japanese.
        return "ja", share
    return _SCRIPT_LANGUAGE.get(script) or None, share
