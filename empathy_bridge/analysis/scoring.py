"""From readings to an EmotionalContext: state, sentiment, intensity, tier, confidence.

This is where the model's probabilities, VADER's polarity and the cues meet. The rules (also in
``docs/analysis.md``):

**Customer messages**

- *state*: the model's decision (argmax after tuned offsets), with customer-service cues
  shifting the log-odds towards the state they signal (:data:`CUE_STATE_BOOST`). Text that is
  not English, or has no words at all, is ``neutral`` with low confidence: the model cannot
  read it. A message of only emoji is read by a rule over the emoji's descriptions.
- *sentiment*: VADER's compound blended with the model's sentiment head, which itself reads
  VADER's four scores (blend weight and neutral band tuned on train); VADER alone for
  non-English text (it still reads emoji and punctuation).
- *intensity*: how strongly the state is felt. For the negative states (frustration, anxiety,
  disappointment, confusion) it is the mean of the state's probability and VADER's negativity,
  confusion scaled by 0.7; for satisfaction the mean of its probability and VADER's positivity;
  for neutral a quarter of ``|sentiment|``. Each cue kind present adds its weight once
  (:data:`~empathy_bridge.analysis.cues.CUE_WEIGHTS`; a plugin's cue kind adds ``0.1 * weight``);
  gratitude subtracts. Satisfaction ignores cue boosts.
- *tier*: from distress = intensity (0 when satisfied) with thresholds 0.25 / 0.45 / 0.65 /
  0.82, then raised to cue floors: churn threat -> upset, safety worry -> distressed,
  profanity together with shouting -> distressed, request for a human / urgency / money or
  deadline worry -> concerned; repeated contact while in a negative state raises one step.

**Agent and bot messages** are read for *tone*, never as customer emotion: apologies and
empathy statements are masked before reading (an apology is not frustration), ``state`` is
``satisfaction`` (warm), ``neutral`` or ``frustration`` (curt or hostile: negative tone, or
profanity/shouting), ``states`` holds the tone probabilities on those three keys, ``intensity``
is the strength of the tone, and ``tier`` is always calm. System messages are neutral.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from empathy_bridge.analysis.cues import CUE_WEIGHTS, detect_cues
from empathy_bridge.analysis.hashing import hash_words
from empathy_bridge.analysis.language import ENGLISH, detect_language
from empathy_bridge.analysis.model import STATES, load_model, vader_features
from empathy_bridge.analysis.prepare import model_text, model_tokens
from empathy_bridge.schemas import AuthorRole, Cue, EmotionalContext, EmotionalState, Tier

__all__ = [
    "ANALYZER_NAME",
    "ANALYZER_VERSION",
    "CUE_STATE_BOOST",
    "NEGATIVE_STATES",
    "TIER_THRESHOLDS",
    "analyze_texts",
    "read_batch",
    "tier_for",
]

#: ``analyzer`` recorded on every context this module produces.
ANALYZER_NAME = "builtin"
#: Bumped whenever the model or the rules change, so stored analyses can be told apart.
ANALYZER_VERSION = "1.0"

#: States that count as distress for tiers and trajectories.
NEGATIVE_STATES = frozenset(
    {
        EmotionalState.FRUSTRATION,
        EmotionalState.ANXIETY,
        EmotionalState.DISAPPOINTMENT,
        EmotionalState.CONFUSION,
    }
)

#: Lowest distress of concerned, upset, distressed and critical.
TIER_THRESHOLDS: tuple[float, float, float, float] = (0.25, 0.45, 0.65, 0.82)

_TIERS = (Tier.CALM, Tier.CONCERNED, Tier.UPSET, Tier.DISTRESSED, Tier.CRITICAL)

# Cue kind -> the tier a customer message carrying it is at least.
_CUE_FLOORS: dict[str, Tier] = {
    "churn_threat": Tier.UPSET,
    "anxiety_safety": Tier.DISTRESSED,
    "human_request": Tier.CONCERNED,
    "urgency": Tier.CONCERNED,
    "anxiety_money": Tier.CONCERNED,
    "anxiety_deadline": Tier.CONCERNED,
}

# Words of VADER's emoji descriptions that name a state. The model, trained on Reddit text,
# barely knows them, so a message of only emoji is read by this rule instead.
_EMOJI_WORDS: dict[str, EmotionalState] = {
    **dict.fromkeys(
        ("pouting", "angry", "symbols", "steam", "rage", "enraged", "cursing", "swearing"),
        EmotionalState.FRUSTRATION,
    ),
    **dict.fromkeys(
        ("crying", "disappointed", "pensive", "broken", "sad", "frowning", "weary", "tired"),
        EmotionalState.DISAPPOINTMENT,
    ),
    **dict.fromkeys(
        ("fearful", "anxious", "screaming", "fear", "worried", "grimacing", "sweat"),
        EmotionalState.ANXIETY,
    ),
    **dict.fromkeys(
        ("confused", "thinking", "confounded", "puzzled", "raised", "question"),
        EmotionalState.CONFUSION,
    ),
    **dict.fromkeys(
        ("grinning", "smiling", "thumbs", "folded", "heart", "hearts", "joy", "clapping",
         "party", "hugging", "star", "relieved", "ok"),
        EmotionalState.SATISFACTION,
    ),
}
# Customer-service cues shift the model's log-odds towards the state they signal: the model
# learnt from Reddit comments, where "cancel my account" or "get me a human" are rare. The size
# is a design choice for support text, not fitted to GoEmotions (docs/analysis.md gives its
# effect on both splits: -0.007 macro-F1 on train, in-sample; +0.007 on dev).
CUE_STATE_BOOST = 1.0
_CUE_STATES: dict[str, EmotionalState] = {
    "churn_threat": EmotionalState.FRUSTRATION,
    "repeated_contact": EmotionalState.FRUSTRATION,
    "human_request": EmotionalState.FRUSTRATION,
    "profanity": EmotionalState.FRUSTRATION,
    "shouting": EmotionalState.FRUSTRATION,
    "anxiety_money": EmotionalState.ANXIETY,
    "anxiety_safety": EmotionalState.ANXIETY,
    "anxiety_deadline": EmotionalState.ANXIETY,
    "confusion_marker": EmotionalState.CONFUSION,
    "gratitude": EmotionalState.SATISFACTION,
}
_STATE_INDEX = {state: k for k, state in enumerate(STATES)}
_CONFIDENCE_EMOJI = 0.5
_EMOJI_VALENCE = {
    **dict.fromkeys(NEGATIVE_STATES, -0.4),
    EmotionalState.CONFUSION: -0.1,
    EmotionalState.SATISFACTION: 0.4,
}
_CONFIDENCE_FOREIGN = 0.2
_CONFIDENCE_EMPTY = 0.1
_AGENT_MASKED = frozenset({"apology", "empathy_statement"})
_NEUTRAL_STATES = {EmotionalState.NEUTRAL: 1.0}
_NO_KINDS: frozenset[str] = frozenset()


def _cue_boost(kinds: AbstractSet[str], cues: Sequence[Cue]) -> float:
    boost = 0.0
    seen: set[str] = set()
    for cue in cues:
        if cue.kind in seen:
            continue
        seen.add(cue.kind)
        if cue.kind == "gratitude":
            boost -= CUE_WEIGHTS["gratitude"]
        elif cue.kind in CUE_WEIGHTS:
            boost += CUE_WEIGHTS[cue.kind]
        else:
            boost += 0.1 * cue.weight
    return boost


def tier_for(state: EmotionalState, intensity: float, kinds: AbstractSet[str]) -> Tier:
    """The customer tier for a state, an intensity and the cue kinds present."""
    distress = 0.0 if state is EmotionalState.SATISFACTION else intensity
    rank = bisect.bisect_right(TIER_THRESHOLDS, distress)
    if not kinds:
        return _TIERS[rank]
    for kind in kinds:
        floor = _CUE_FLOORS.get(kind)
        if floor is not None:
            rank = max(rank, floor.rank)
    if "profanity" in kinds and "shouting" in kinds:
        rank = max(rank, Tier.DISTRESSED.rank)
    if "repeated_contact" in kinds and state in NEGATIVE_STATES:
        rank = min(max(rank + 1, Tier.CONCERNED.rank), Tier.CRITICAL.rank)
    return _TIERS[rank]


def _mask(text: str, cues: Sequence[Cue]) -> str:
    """``text`` with apology and empathy spans blanked (same length, so offsets stay valid)."""
    spans = [
        (c.start, c.end)
        for c in cues
        if c.kind in _AGENT_MASKED and c.start is not None and c.end is not None
    ]
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _emoji_state(words: Sequence[str], compound: float) -> EmotionalState:
    """The state most emoji descriptions name; VADER's sign breaks ties and unknown emoji."""
    votes: dict[EmotionalState, int] = {}
    for word in words:
        state = _EMOJI_WORDS.get(word)
        if state is not None:
            votes[state] = votes.get(state, 0) + 1
    if votes:
        best = max(votes.values())
        leaders = [state for state, n in votes.items() if n == best]
        if len(leaders) == 1:
            return leaders[0]
    if compound <= -0.05:
        return EmotionalState.FRUSTRATION
    if compound >= 0.05:
        return EmotionalState.SATISFACTION
    return EmotionalState.NEUTRAL


def _cue_shift(
    probs: list[float], offsets: Sequence[float], kinds: AbstractSet[str]
) -> tuple[int, list[float]] | None:
    """Decision and renormalised probabilities after the cue boosts, or ``None`` if no cue."""
    shift = [0.0] * len(probs)
    for kind in kinds:
        state = _CUE_STATES.get(kind)
        if state is not None:
            shift[_STATE_INDEX[state]] = CUE_STATE_BOOST
    if not any(shift):
        return None
    logits = [math.log(p + 1e-12) + b for p, b in zip(probs, shift, strict=True)]
    top = max(logits)
    exp = [math.exp(z - top) for z in logits]
    total = sum(exp)
    shifted = [e / total for e in exp]
    scores = [z + b for z, b in zip(logits, offsets, strict=True)]
    # index(max) is the first maximum, like max(range(...), key=...).
    return scores.index(max(scores)), shifted


def _clip(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


# Every context this module builds starts as a copy of this one: validating a context costs about
# half as much again as copying this one with its fields replaced, in the loop that runs once per
# message. The values read_batch computes are already of the model's types and within range
# (probabilities, clipped scores), so the copy is the same model. Built with the same arguments as
# each copy, so the copies' ``model_fields_set`` equals a validated context's.
_TEMPLATE = EmotionalContext(
    sentiment=0.0,
    state=EmotionalState.NEUTRAL,
    states={},
    intensity=0.0,
    tier=Tier.CALM,
    cues=(),
    confidence=1.0,
    language=None,
    truncated=False,
    author_role=AuthorRole.CUSTOMER,
    analyzer=ANALYZER_NAME,
    analyzer_version=ANALYZER_VERSION,
)


def _context(fields: dict[str, Any]) -> EmotionalContext:
    """The context with ``fields``; validated only where a caller's input may need it."""
    # Roles and cues come from callers (plugins may hand over plain values): anything but the
    # model types goes through validation, as before.
    cues = fields["cues"]
    if type(fields["author_role"]) is AuthorRole and (
        not cues or all(isinstance(cue, Cue) for cue in cues)
    ):
        fields["cues"] = tuple(cues)
        return _TEMPLATE.model_copy(update=fields)
    return EmotionalContext(**fields, analyzer=ANALYZER_NAME, analyzer_version=ANALYZER_VERSION)


def read_batch(
    texts: Sequence[str],
    roles: Sequence[AuthorRole],
    cues: Sequence[Sequence[Cue]],
    truncated: Sequence[bool],
    languages: Sequence[str | None] | None = None,
) -> list[EmotionalContext]:
    """Contexts for a batch of already capped texts, one per text, in order.

    :param roles: who wrote each text (customer messages get the emotional reading).
    :param cues: the cues found in each text (built-in and plugins').
    :param truncated: whether each text is a capped prefix of a longer message.
    :param languages: the language each source recorded, if any; used only when detection
        finds no letters to go on (the text decides whether we can read it).
    """
    model = load_model()
    customer = AuthorRole.CUSTOMER
    # Agents' apologies and empathy statements are not the writer's own emotion.
    reading = [
        text if role is customer or not found else _mask(text, found)
        for text, role, found in zip(texts, roles, cues, strict=True)
    ]
    word_lists = [model_tokens(t) for t in reading]
    dense = vader_features(reading)
    out = model.predict(hash_words(word_lists, model.n_features), dense)
    p6 = out.states.tolist()
    p3 = out.sentiment_probs.tolist()
    decisions = out.decision.tolist()
    sentiments = out.sentiment.tolist()
    compounds = dense[:, 0].tolist()
    band = model.neutral_band
    offsets = model.offsets.tolist()
    contexts: list[EmotionalContext] = []
    for i, text in enumerate(reading):
        role, found, words = roles[i], cues[i], word_lists[i]
        language, share = detect_language(text, words)
        if language is None and languages is not None:
            # Nothing to detect from (emoji, digits): keep what the source says, if anything.
            language = languages[i]
        kinds = {c.kind for c in found} if found else _NO_KINDS
        english = bool(words) and (
            language is None or language == ENGLISH or language.lower().startswith("en-")
        )
        probs = p6[i]
        if role is AuthorRole.SYSTEM:
            state, states, sentiment = EmotionalState.NEUTRAL, dict(_NEUTRAL_STATES), 0.0
            intensity, tier, confidence = 0.0, Tier.CALM, 1.0
        elif role is not AuthorRole.CUSTOMER:
            sentiment = sentiments[i] if english else compounds[i]
            hostile = "profanity" in kinds or "shouting" in kinds
            if hostile or sentiment <= -band:
                state = EmotionalState.FRUSTRATION
            elif sentiment >= band:
                state = EmotionalState.SATISFACTION
            else:
                state = EmotionalState.NEUTRAL
            neg, neu, pos = p3[i] if english else (0.0, 1.0, 0.0)
            states = {
                EmotionalState.FRUSTRATION: neg,
                EmotionalState.NEUTRAL: neu,
                EmotionalState.SATISFACTION: pos,
            }
            intensity = _clip(abs(sentiment) + (0.2 if hostile else 0.0))
            tier = Tier.CALM
            confidence = max(states.values()) * share if english else _CONFIDENCE_FOREIGN
        else:
            boost = _cue_boost(kinds, found) if found else 0.0
            if not english:
                state, states = EmotionalState.NEUTRAL, dict(_NEUTRAL_STATES)
                sentiment = compounds[i]
                confidence = _CONFIDENCE_FOREIGN if language else _CONFIDENCE_EMPTY
                intensity = _clip(0.25 * abs(sentiment) + boost)
            else:
                compound = compounds[i]
                if language is None and model_text(text) != text:
                    # No letters, but emoji: read them through their descriptions.
                    state = _emoji_state(words, compound)
                    top = 0.5 + 0.5 * abs(compound) if state is not EmotionalState.NEUTRAL else 0.5
                    states = {state: top}
                    # VADER knows few emoji; when it is silent, the state's valence speaks.
                    sentiment = compound or _EMOJI_VALENCE.get(state, 0.0)
                    confidence = _CONFIDENCE_EMOJI
                else:
                    decision = decisions[i]
                    shifted = _cue_shift(probs, offsets, kinds) if kinds else None
                    if shifted is not None:
                        decision, probs = shifted
                    state = STATES[decision]
                    states = dict(zip(STATES, probs, strict=True))
                    sentiment = sentiments[i]
                    top = probs[decision]
                    confidence = top * share * (0.6 if len(words) < 3 else 1.0)
                if state in NEGATIVE_STATES:
                    base = 0.5 * top + 0.5 * max(0.0, -compound)
                    if state is EmotionalState.CONFUSION:
                        base *= 0.7
                    intensity = _clip(base + boost)
                elif state is EmotionalState.SATISFACTION:
                    intensity = _clip(0.5 * top + 0.5 * max(0.0, compound))
                else:
                    intensity = _clip(0.25 * abs(sentiment) + boost)
            tier = tier_for(state, intensity, kinds)
        fields = {
            "sentiment": -1.0 if sentiment < -1.0 else 1.0 if sentiment > 1.0 else sentiment,
            "state": state,
            "states": states,  # softmax outputs: already within 0..1
            "intensity": intensity,
            "tier": tier,
            "cues": found,
            "confidence": 0.0 if confidence < 0.0 else 1.0 if confidence > 1.0 else confidence,
            "language": language,
            "truncated": bool(truncated[i]),
            "author_role": role,
        }
        contexts.append(_context(fields))
    return contexts


def analyze_texts(
    texts: Sequence[str],
    max_chars: int = 5000,
    role: AuthorRole = AuthorRole.CUSTOMER,
) -> list[EmotionalContext]:
    """Emotional contexts of free texts, without a Bridge or plugins (built-in cues only).

    Texts longer than ``max_chars`` are read on their first ``max_chars`` characters and the
    context says ``truncated=True``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    capped = [t[:max_chars] for t in texts]
    truncated = [len(t) > max_chars for t in texts]
    agent = role is not AuthorRole.CUSTOMER
    found = [detect_cues(t, agent=agent) for t in capped]
    return read_batch(capped, [role] * len(capped), found, truncated)



