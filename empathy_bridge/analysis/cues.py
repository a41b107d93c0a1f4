"""Built-in cue lexicon and detector: the signals in a message that policies key on.

Every pattern is compiled once at import. A cue records its kind, the matched text and its
character span in the analysed text, and a weight (how much it raises intensity; see
:mod:`empathy_bridge.analysis.scoring`). Customer cue kinds:

==================  ======================================================================
kind                examples
==================  ======================================================================
repeated_contact    "third time", "still not fixed", "again", "how many times"
churn_threat        "cancel my subscription", "switching to", "take my business elsewhere"
human_request       "speak to a human", "real person", "get me a manager"
urgency             "urgent", "asap", "immediately", "right now"
shouting            runs of capitalised words ("THIS IS UNACCEPTABLE"), "!!" or "?!?"
profanity           swear words, also masked ("f***")
confusion_marker    "I don't understand", "how do I", "makes no sense"
anxiety_money       "charged twice", "unauthorized charge", "my money", "fraud"
anxiety_safety      "dangerous", "caught fire", "injured", "gas leak"
anxiety_deadline    "deadline", "by tomorrow", "before my flight", "running out of time"
gratitude           "thank you", "appreciate", "grateful"
==================  ======================================================================

Agent and bot messages get two more kinds, ``apology`` and ``empathy_statement``, which the
analyzer masks before reading their tone (an apology is not frustration) and which the empathy
metrics count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import reduce
from operator import or_

from empathy_bridge.analysis.prepare import model_tokens
from empathy_bridge.schemas import AuthorRole, Cue

__all__ = ["AGENT_CUE_KINDS", "CUE_KINDS", "CUE_WEIGHTS", "MAX_CUES_PER_KIND", "detect_cues",
           "detect_cues_batch"]

_I = re.IGNORECASE

#: Cue kind -> how much one such cue adds to a customer's intensity (gratitude lowers it).
CUE_WEIGHTS: dict[str, float] = {
    "repeated_contact": 0.15,
    "churn_threat": 0.15,
    "human_request": 0.10,
    "urgency": 0.10,
    "shouting": 0.15,
    "profanity": 0.15,
    "confusion_marker": 0.05,
    "anxiety_money": 0.10,
    "anxiety_safety": 0.20,
    "anxiety_deadline": 0.10,
    "gratitude": 0.10,
    "apology": 0.0,
    "empathy_statement": 0.0,
}

#: Stop after this many cues of one kind: a 1 MB rant must not produce a million cues.
MAX_CUES_PER_KIND = 5

_ORDINAL = r"(?:second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|tenth|umpteenth|\d+(?:st|nd|rd|th))"
_ACCOUNT = (
    r"(?:account|subscription|membership|contract|plan|service|order|policy|card|booking|"
    r"reservation)"
)

_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "repeated_contact": [
        re.compile(
            rf"\b(?:(?:for\s+)?the\s+{_ORDINAL}\s+time|{_ORDINAL}\s+(?:time|email|call|ticket|"
            r"message|request|attempt)s?)\b",
            _I,
        ),
        re.compile(
            r"\bstill\s+(?:not|no|isn'?t|hasn'?t|haven'?t|doesn'?t|don'?t|can'?t|won'?t|waiting|"
            r"broken|having|getting|the\s+same)\b",
            _I,
        ),
        re.compile(r"\b(?:once\s+)?again\b", _I),
        re.compile(r"\bhow\s+many\s+(?:more\s+)?times\b", _I),
        re.compile(
            r"\b(?:already|repeatedly|multiple\s+times|several\s+times|many\s+times)\s+"
            r"(?:told|asked|contacted|called|emailed|explained|reported|sent|tried|written)\b",
            _I,
        ),
        re.compile(
            r"\b(?:i(?:'ve|\s+have)\s+(?:already\s+)?(?:called|contacted|emailed|written|"
            r"reported)\s+(?:you\s+)?(?:\w+\s+)?(?:times|twice|before))\b",
            _I,
        ),
        re.compile(r"\bkeep\s+(?:asking|calling|getting|telling|emailing|being)\b", _I),
    ],
    "churn_threat": [
        re.compile(
            rf"\bcancel(?:l?ing|l?ed)?\s+(?:my|our|the|this)\s+(?:\w+\s+)?{_ACCOUNT}s?\b", _I
        ),
        re.compile(r"\b(?:i(?:'m|\s+am|\s+will|'ll)?\s+)?(?:cancel+ing|going\s+to\s+cancel)\b", _I),
        re.compile(r"\bswitch(?:ing|ed)?\s+(?:over\s+)?to\b", _I),
        re.compile(
            r"\b(?:take|taking)\s+(?:my|our)\s+business\s+elsewhere\b|\bgo(?:ing)?\s+elsewhere\b",
            _I,
        ),
        re.compile(r"\bclos(?:e|ing)\s+(?:my|our)\s+account\b", _I),
        re.compile(
            r"\b(?:competitor|never\s+(?:buy|order|use|shop|fly|book)(?:ing)?\s+"
            r"(?:\w+\s+){0,3}again)\b",
            _I,
        ),
        re.compile(
            r"\b(?:unsubscrib\w*|leaving\s+(?:you|for)|last\s+straw|done\s+with\s+you)\b", _I
        ),
    ],
    "human_request": [
        re.compile(
            r"\b(?:speak|talk|chat)\s+(?:to|with)\s+(?:a|an|your|the|some)?\s*(?:real\s+|live\s+)?"
            r"(?:human|person|agent|representative|rep|manager|supervisor|someone|somebody)\b",
            _I,
        ),
        re.compile(
            r"\b(?:real|actual|live)\s+(?:human|person|agent|people)\b|\bhuman\s+being\b", _I
        ),
        re.compile(
            r"\b(?:get|give|transfer|connect)\s+me\s+(?:to\s+)?(?:a|an|your|the)?\s*"
            r"(?:human|person|agent|manager|supervisor|representative|someone)\b",
            _I,
        ),
        re.compile(r"\b(?:not\s+a\s+bot|stop\s+the\s+bot|no\s+more\s+bots?)\b", _I),
        re.compile(r"\bescalate\b", _I),
    ],
    "urgency": [
        re.compile(
            r"\b(?:urgent(?:ly)?|asap|immediately|emergency|right\s+now|right\s+away|"
            r"as\s+soon\s+as\s+possible|time[-\s]sensitive|straight\s+away)\b",
            _I,
        ),
    ],
    "shouting": [
        # Two or more capitalised words in a row, the first of three letters or more.
        re.compile(r"\b[A-Z][A-Z']{2,}(?:[\s,.!?-]+[A-Z][A-Z']+){1,}\b"),
        re.compile(r"!{2,}|[!?]{3,}"),
    ],
    "profanity": [
        re.compile(
            r"\b(?:fuck\w*|f\*+k?\w*|shit\w*|sh\*+t|bullshit|crap+y?|damn\w*|wtf|"
            r"asshole\w*|arse\w*|bastard\w*|bitch\w*|piss(?:ed)?|bloody|screw\s+(?:you|this|"
            r"that)|goddamn\w*|hell)\b",
            _I,
        ),
    ],
    "confusion_marker": [
        re.compile(
            r"\b(?:i\s+(?:don'?t|do\s+not|dont|can'?t|cannot)\s+(?:understand|get\s+it|figure)|"
            r"(?:don'?t|do\s+not)\s+know\s+how|how\s+(?:do|can|should)\s+i|"
            r"what\s+does\s+(?:this|that|it)\s+mean|makes?\s+no\s+sense|confus\w+|unclear|"
            r"not\s+sure\s+(?:how|what|why|where|if|whether)|where\s+(?:do|can)\s+i\s+find|"
            r"can\s+(?:someone|you)\s+explain)\b",
            _I,
        ),
    ],
    "anxiety_money": [
        re.compile(
            r"\b(?:(?:charged|billed)\s+(?:me\s+)?(?:twice|double|two\s+times|again)|"
            r"double[-\s]charged|overcharged|unauthori[sz]ed\s+(?:charge|payment|transaction)s?|"
            r"fraud\w*|stolen\s+card|my\s+(?:money|savings|rent)|lost\s+(?:my\s+)?money|"
            r"bank\s+account|overdraft|overdrawn|can'?t\s+afford)\b",
            _I,
        ),
    ],
    "anxiety_safety": [
        re.compile(
            r"\b(?:unsafe|dangerous|danger|hazard\w*|caught\s+fire|on\s+fire|fire|smoke|"
            r"smoking|burn(?:ed|t|ing)|injur(?:ed|y|ies)|hurt|bleeding|electric(?:al)?\s+shock|"
            r"explod\w*|gas\s+leak|choking|poison\w*|safety|allergic\s+reaction)\b",
            _I,
        ),
    ],
    "anxiety_deadline": [
        re.compile(
            r"\b(?:deadline|by\s+(?:tomorrow|tonight|today|monday|tuesday|wednesday|thursday|"
            r"friday|saturday|sunday|the\s+end\s+of\s+(?:the\s+)?(?:day|week))|"
            r"before\s+my\s+(?:flight|trip|wedding|exam|interview|surgery|appointment)|"
            r"running\s+out\s+of\s+time|due\s+(?:tomorrow|today|tonight)|expires?\s+"
            r"(?:today|tomorrow|soon)|in\s+\d+\s+hours?)\b",
            _I,
        ),
    ],
    "gratitude": [
        re.compile(
            r"\b(?:thank(?:s|\s+you|\s+u)?|thx|appreciate[ds]?|grateful|much\s+obliged|"
            r"you(?:'re|\s+are)\s+(?:a\s+)?(?:star|lifesaver|the\s+best))\b",
            _I,
        ),
    ],
}

_AGENT_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "apology": [
        re.compile(
            r"\b(?:(?:i'?m|i\s+am|we'?re|we\s+are)\s+(?:so\s+|very\s+|truly\s+|really\s+)?sorry"
            r"(?:\s+(?:for|about|that)\s+[^.!?\n]*)?|(?:my|our)\s+(?:sincere\s+)?apologies"
            r"(?:\s+for\s+[^.!?\n]*)?|(?:i|we)\s+(?:sincerely\s+)?apologi[sz]e"
            r"(?:\s+for\s+[^.!?\n]*)?|sorry\s+(?:for|about)\s+[^.!?\n]*|sorry)",
            _I,
        ),
    ],
    "empathy_statement": [
        re.compile(
            r"\b(?:i\s+(?:completely\s+|totally\s+|fully\s+)?understand\s+(?:how|that|why|your)"
            r"[^.!?\n]*|i\s+can\s+(?:only\s+)?imagine[^.!?\n]*|that\s+must\s+(?:be|have\s+been)"
            r"[^.!?\n]*|i\s+hear\s+you|i\s+know\s+how\s+(?:frustrating|stressful|annoying|"
            r"upsetting)[^.!?\n]*)",
            _I,
        ),
    ],
}

#: Kinds the built-in detector emits for customer messages.
CUE_KINDS: tuple[str, ...] = tuple(_PATTERNS)
#: Kinds the built-in detector emits for agent and bot messages only.
AGENT_CUE_KINDS: tuple[str, ...] = tuple(_AGENT_PATTERNS)

# Cheap gates: each pattern runs only when the text has one of its trigger words (or, for a
# trigger ending in "*", a word starting with it). Set look-ups over the message's words cost
# far less than the patterns, and most messages trigger none. Every match of a pattern contains
# one of its triggers; tests/analysis/test_analysis_cues.py checks that on its sentences and on
# the whole dev split. The triggers follow the patterns above, one string per pattern.
_TRIGGER_SPECS: dict[str, tuple[str, ...]] = {
    "repeated_contact": (
        "second third fourth fifth sixth tenth umpteenth 2nd 3rd 4th 5th",
        "still",
        "again",
        "many",
        "already repeatedly times",
        "times twice before",
        "keep",
    ),
    "churn_threat": (
        "cance*",
        "cance*",
        "switc*",
        "elsewhere",
        "account",
        "competitor never",
        "unsub* leaving straw done",
    ),
    "human_request": (
        "speak talk chat",
        "real actual live being",
        "human person agent manager supervisor representative someone",
        "bot bots",
        "escalate",
    ),
    "urgency": ("urgent urgently asap immediately emergency right soon sensitive straight",),
    "shouting": ("", ""),  # gated by _may_shout instead
    "profanity": (
        "wtf bullshit bloody screw hell fuck* shit* crap* damn* arse* bast* bitc* piss* godd* "
        "assh*",
    ),
    "confusion_marker": (
        "understand get figure how mean sense unclear sure find explain confu*",
    ),
    "anxiety_money": (
        "charged billed double overcharged stolen money savings rent bank afford overdraft "
        "overdrawn unaut* fraud*",
    ),
    "anxiety_safety": (
        "unsafe dangerous danger fire smoke smoking hurt bleeding shock gas choking safety "
        "allergic burn* haza* expl* pois* inju*",
    ),
    "anxiety_deadline": ("deadline by before running due expire expires hour hours",),
    "gratitude": (
        "thank thanks thx appreciate appreciated appreciates grateful obliged star lifesaver "
        "best",
    ),
}

_Rule = tuple[str, int]  # (kind, index of the pattern in _PATTERNS[kind])


def _trigger_index() -> tuple[dict[str, tuple[_Rule, ...]], tuple[tuple[str, _Rule], ...]]:
    words: dict[str, tuple[_Rule, ...]] = {}
    prefixes: list[tuple[str, _Rule]] = []
    for kind, specs in _TRIGGER_SPECS.items():
        if len(specs) != len(_PATTERNS[kind]):
            raise RuntimeError(f"cue kind {kind!r}: one trigger string per pattern is required")
        for n, spec in enumerate(specs):
            for trigger in spec.split():
                if trigger.endswith("*"):
                    prefixes.append((trigger[:-1], (kind, n)))
                else:
                    words[trigger] = (*words.get(trigger, ()), (kind, n))
    return words, tuple(prefixes)


_TRIGGER_WORDS, _TRIGGER_PREFIXES = _trigger_index()

# prefix -> the rules it triggers, and the prefix lengths to try: a word is looked up by its first
# n characters for each such n, instead of testing every prefix with startswith.
_PREFIX_RULES: dict[str, tuple[_Rule, ...]] = {}
for _prefix, _rule in _TRIGGER_PREFIXES:
    _PREFIX_RULES[_prefix] = (*_PREFIX_RULES.get(_prefix, ()), _rule)
_PREFIX_LENGTHS = tuple(sorted({len(prefix) for prefix in _PREFIX_RULES}))


# Every customer pattern has one bit, in kind then pattern order: a message's patterns are the OR
# of its words' masks, and the patterns to run for a mask are computed once per distinct mask.
_RULES: tuple[_Rule, ...] = tuple(
    (kind, k) for kind, patterns in _PATTERNS.items() for k in range(len(patterns))
)
_BIT: dict[_Rule, int] = {rule: 1 << n for n, rule in enumerate(_RULES)}
# Entries a memo holds before it starts over. A long backfill keeps meeting new words (order
# numbers, names), so the word memo fills to this bound: 10,000 words is ~1 MB; 50,000 was ~5 MB
# of a million-ticket sync's peak, for a miss that costs a few dict lookups.
_MEMO_MAX = 10_000


class _WordMasks(dict[str, int]):
    """word -> mask of the patterns it triggers (as a whole word or through a prefix).

    A dict with ``__missing__``, so the gate looks a message's words up in C and drops into
    Python only for a word it has not seen.
    """

    def __missing__(self, word: str) -> int:
        mask = 0
        for rule in _rules_of(word):
            mask |= _BIT[rule]
        if len(self) >= _MEMO_MAX:
            self.clear()
        self[word] = mask
        return mask


class _MaskRules(dict[int, tuple[tuple[str, re.Pattern[str]], ...]]):
    """mask -> ``(kind, pattern)`` of each of its bits, in kind then pattern order."""

    def __missing__(self, mask: int) -> tuple[tuple[str, re.Pattern[str]], ...]:
        rules = tuple(
            (kind, _PATTERNS[kind][k]) for n, (kind, k) in enumerate(_RULES) if mask >> n & 1
        )
        if len(self) >= _MEMO_MAX:
            self.clear()
        self[mask] = rules
        return rules


_WORD_MASKS = _WordMasks()
_MASK_RULES = _MaskRules()


# Ordinals written with digits ("6th time") have no fixed trigger word: a word ending in a digit
# and an ordinal suffix triggers the pattern instead (casefold, as the pattern ignores case).
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_DIGIT_ORDINAL_RULE: _Rule = ("repeated_contact", 0)


def _rules_of(word: str) -> tuple[_Rule, ...]:
    rules = _TRIGGER_WORDS.get(word, ())
    for n in _PREFIX_LENGTHS:
        found = _PREFIX_RULES.get(word[:n]) if len(word) >= n else None
        if found:
            rules = (*rules, *found)
    if (
        len(word) >= 3
        and word[-3].isdecimal()
        and word[-2:].casefold() in _ORDINAL_SUFFIXES
        and _DIGIT_ORDINAL_RULE not in rules
    ):
        rules = (*rules, _DIGIT_ORDINAL_RULE)
    return rules


# Each shouting pattern runs only where its necessary condition holds: a run of capitals
# starts with a capital and two more capitals or apostrophes; "!!" or three of "!?" contain one
# of the four two-character pairs below. Substring tests and a one-class pattern cost much less
# than the patterns themselves.
_CAPS_HINT = re.compile(r"[A-Z][A-Z'][A-Z']")
_MASKED_SWEARING = _BIT[("profanity", 0)]
_SHOUTING_CAPS = _BIT[("shouting", 0)]
_SHOUTING_MARKS = _BIT[("shouting", 1)]


def _may_shout_caps(text: str) -> bool:
    return _CAPS_HINT.search(text) is not None


def _may_shout_marks(text: str) -> bool:
    return "!!" in text or "?!" in text or "!?" in text or "??" in text


def _may_shout(text: str) -> bool:
    return _may_shout_marks(text) or _may_shout_caps(text)


def _gate(text: str) -> int:
    """Mask of the customer patterns worth running on ``text``."""
    # The model's tokens (memoised for the analyzer that runs next) are the \b-delimited
    # words the patterns see, lower-cased.
    mask = reduce(or_, map(_WORD_MASKS.__getitem__, model_tokens(text)), 0)
    if "*" in text:  # masked swearing, "f***"
        mask |= _MASKED_SWEARING
    if _may_shout_caps(text):
        mask |= _SHOUTING_CAPS
    if _may_shout_marks(text):
        mask |= _SHOUTING_MARKS
    return mask


def _gated_rules(text: str) -> list[_Rule]:
    """The customer patterns worth running on ``text``, in kind then pattern order."""
    mask = _gate(text)
    return [rule for n, rule in enumerate(_RULES) if mask >> n & 1]


def _gated_kinds(text: str) -> list[str]:
    """Kinds with at least one pattern worth running (used by the gate test)."""
    return list(dict.fromkeys(kind for kind, _ in _gated_rules(text)))


def _cue(kind: str, start: int, end: int, span: str) -> Cue:
    return Cue(
        kind=kind, span=span, start=start, end=end, weight=CUE_WEIGHTS.get(kind, 0.1),
        detector="builtin",
    )


# Case-insensitive matching costs the regex engine a case fold per character. On ASCII text the
# same matches come from the pattern compiled case-sensitively and run on the lower-cased text
# (same length, so the spans hold): the patterns spell every letter in lower case, and their
# escapes (\b \s \w \d) are lower-case too. Non-ASCII text keeps the case-insensitive pattern,
# whose Unicode folding (e.g. the long s) lower() does not reproduce.
def _folded(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    if not pattern.flags & re.IGNORECASE or any("A" <= ch <= "Z" for ch in pattern.pattern):
        return None
    return re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)


_FOLDED: dict[re.Pattern[str], re.Pattern[str] | None] = {
    p: _folded(p) for table in (_PATTERNS, _AGENT_PATTERNS) for ps in table.values() for p in ps
}


def _run(
    text: str, rules: Iterable[tuple[str, re.Pattern[str]]], *, fold: bool = False
) -> list[Cue]:
    """Matches of ``rules`` (grouped by kind), overlaps within a kind merged, capped per kind.

    :param fold: run case-insensitive patterns case-sensitively on the lower-cased text where
        that gives the same matches (ASCII text); spans are always taken from ``text``.
    """
    out: list[Cue] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    lowered = text.lower() if fold and text.isascii() else None
    for kind, pattern in rules:
        taken = spans.setdefault(kind, [])
        if len(taken) >= MAX_CUES_PER_KIND:
            continue
        subject = text
        if lowered is not None:
            folded = _FOLDED.get(pattern)
            if folded is not None:
                pattern, subject = folded, lowered
        for match in pattern.finditer(subject):
            start, end = match.span()
            # Two patterns of one kind matching the same words make one cue, not two.
            if end == start or any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            out.append(_cue(kind, start, end, text[start:end]))
            if len(taken) >= MAX_CUES_PER_KIND:
                break
    return out


def _scan(text: str, table: dict[str, list[re.Pattern[str]]], kinds: Iterable[str]) -> list[Cue]:
    """Every pattern of ``kinds``, ungated (the agent path, and the reference in tests)."""
    return _run(text, ((kind, p) for kind in kinds for p in table[kind]))


def detect_cues(text: str, *, agent: bool = False) -> list[Cue]:
    """Cues in ``text``, ordered by kind then pattern, each with its span.

    :param agent: the text is an agent's or bot's message: customer-only kinds (churn threat,
        request for a human, anxiety, repeated contact, urgency, confusion, gratitude) are
        skipped, and apologies and empathy statements are reported instead.
    """
    if not text:
        return []
    if agent:
        return _run(
            text,
            [(k, p) for k in AGENT_CUE_KINDS for p in _AGENT_PATTERNS[k]]
            + [("profanity", p) for p in _PATTERNS["profanity"]]
            + ([("shouting", p) for p in _PATTERNS["shouting"]] if _may_shout(text) else []),
            fold=True,
        )
    mask = _gate(text)
    if not mask:
        return []
    return _run(text, _MASK_RULES[mask], fold=True)


def detect_cues_batch(texts: Sequence[str], roles: Sequence[AuthorRole]) -> list[list[Cue]]:
    """:func:`detect_cues` of each text, read as an agent's unless its role is the customer's.

    The shape of the ``empathy_bridge_detect_cues`` hook: one list per text, in order.
    """
    customer = AuthorRole.CUSTOMER
    return [detect_cues(t, agent=r is not customer) for t, r in zip(texts, roles, strict=True)]
