"""Small extractive text helpers for personalisation and summaries (no generation, no models).

Suggestions and handoff packets quote the customer rather than paraphrase them with a model:
what is quoted was actually said, and it costs nothing offline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from empathy_bridge.schemas import Cue, Party

__all__ = [
    "first_name",
    "key_phrase",
    "key_sentence",
    "shorten",
    "split_sentences",
]

_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
_POSSESSIVE = re.compile(r"\b(my|our)\s+([A-Za-z0-9#][\w#'\-]*(?:\s+[A-Za-z0-9#][\w#'\-]*){0,3})",
                         re.IGNORECASE)
# Words that end a noun phrase: verbs, negations, conjunctions and prepositions that commonly
# follow "my order ...", so "my order still hasn't arrived" yields "order".
_PHRASE_STOP = frozenset("""
is was are were has have had hasn't haven't hadn't isn't wasn't aren't weren't does doesn't
did didn't do don't will won't would wouldn't can can't cannot could couldn't should keeps
kept still never not no just already again and but or so because since after before for from
to with without on in at by of as that which who when where why how it this that keeps got
gets get went stopped broke broken arrived came been being yet ever even also too very
really
""".split())  # noqa: SIM905 (a word list reads best as text)
_NEGATIVE_MARKERS = re.compile(
    r"\b(not|never|no|still|again|can't|cannot|won't|didn't|doesn't|isn't|hasn't|haven't|wrong|"
    r"broken|fail\w*|error|late|delay\w*|charged|refund|cancel\w*|worst|terrible|awful|angry|"
    r"upset|ridiculous|unacceptable)\b|!",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (a simple punctuation/newline split), stripped, empty ones dropped."""
    return [part.strip() for part in _SENTENCE.split(text) if part and part.strip()]


def shorten(text: str, limit: int = 160) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis if cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def key_sentence(text: str, cues: Sequence[Cue] = ()) -> str | None:
    """The sentence that best carries the customer's point.

    The sentence holding the strongest cue wins; otherwise the one with most complaint markers
    (negations, "still", "again", "!"); otherwise the first.
    """
    sentences = split_sentences(text)
    if not sentences:
        return None
    for cue in sorted(cues, key=lambda c: -c.weight):
        if cue.start is not None:
            offset = 0
            for sentence in sentences:
                found = text.find(sentence, offset)
                if found <= cue.start < found + len(sentence):
                    return sentence
                offset = max(offset, found)
        if cue.span:
            for sentence in sentences:
                if cue.span.lower() in sentence.lower():
                    return sentence
    scored = [(len(_NEGATIVE_MARKERS.findall(s)), -i, s) for i, s in enumerate(sentences)]
    best = max(scored)
    return best[2] if best[0] > 0 else sentences[0]


def key_phrase(text: str) -> str | None:
    """A short noun phrase about the customer's own thing, in the agent's voice.

    "My order still hasn't arrived" → "your order"; "our billing account was charged twice" →
    "your billing account"; "my father passed away" → "your father". ``None`` when the message
    names nothing of theirs.
    """
    for match in _POSSESSIVE.finditer(text):
        words: list[str] = []
        for word in match.group(2).split():
            lowered = word.lower().strip(".,;:!?")
            # A past participle after the head noun is a verb ("my father passed away").
            if lowered in _PHRASE_STOP or (words and lowered.endswith("ed")):
                break
            words.append(word.strip(".,;:!?"))
            if word[-1] in ".,;:!?":
                break
        if words and words[0]:
            return "your " + " ".join(w for w in words if w)
    return None


def first_name(party: Party | None) -> str | None:
    """The first name of a party's display name, or ``None`` when unknown or an email/handle."""
    if party is None or not party.name:
        return None
    name = party.name.strip()
    if not name or "@" in name:
        return None
    return name.split()[0]
