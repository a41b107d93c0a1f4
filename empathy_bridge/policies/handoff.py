"""Bot-to-human handoff: decide per new customer turn, and pack the context a human needs.

Triggers (any one hands off): the customer asked for a human, a never-automate topic came up
(bereavement, legal, safety, fraud...), the latest intensity crossed the threshold, frustration
rose over consecutive customer turns, or the bot repeated itself. The packet carries the
emotional trajectory, the cues that fired, what the bot already said, a short extractive summary
and a suggested opening line, so the customer never has to repeat themselves.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from difflib import SequenceMatcher
from functools import lru_cache

from empathy_bridge.policies.extract import first_name, key_phrase, key_sentence, shorten
from empathy_bridge.policies.settings import HandoffSettings, NeverAutomateTopic
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    Cue,
    EmotionalContext,
    EmotionalState,
    HandoffDecision,
    Interaction,
    Trajectory,
    Trend,
)

__all__ = [
    "bot_repeats",
    "decide_handoff",
    "frustration_level",
    "never_automate_hits",
    "trajectory_of",
]

# Trend of a trajectory rebuilt here (when the analyzer gave none): a change of intensity
# smaller than this between first and last customer turn counts as steady.
_TREND_BAND = 0.1
_BOT_ATTEMPT_CHARS = 500


def frustration_level(context: EmotionalContext, frustration_cues: Collection[str]) -> float:
    """Frustration of one customer turn: the frustration score plus 0.1 per frustration cue
    (capped at 1).

    Cues count so that "frustration cues rise across turns" is seen even when the analyzer's
    frustration score stays flat.
    """
    score = context.states.get(EmotionalState.FRUSTRATION, 0.0)
    if context.state is EmotionalState.FRUSTRATION:
        score = max(score, context.intensity)
    cues = sum(1 for cue in context.cues if cue.kind in frustration_cues)
    return min(1.0, score + 0.1 * cues)


@lru_cache(maxsize=256)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(phrase.lower()) + r"(?!\w)")


def never_automate_hits(
    texts: list[str], cues: list[Cue], topics: list[NeverAutomateTopic]
) -> list[tuple[str, str]]:
    """``(topic, evidence)`` for each never-automate topic found in the texts or cues."""
    hits: list[tuple[str, str]] = []
    kinds = {cue.kind for cue in cues}
    lowered = [text.lower() for text in texts]
    for topic in topics:
        evidence = next((f"cue {kind}" for kind in topic.cue_kinds if kind in kinds), None)
        if evidence is None:
            for keyword in topic.keywords:
                if any(_phrase_pattern(keyword).search(text) for text in lowered):
                    evidence = repr(keyword)
                    break
        if evidence is not None:
            hits.append((topic.name, evidence))
    return hits


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def bot_repeats(messages: list[str], similarity: float) -> tuple[int, int, float] | None:
    """The first pair ``(i, j, ratio)`` of near-duplicate bot messages, or ``None``."""
    normalised = [_normalise(message) for message in messages[-10:]]
    offset = max(0, len(messages) - 10)
    for j in range(1, len(normalised)):
        for i in range(j):
            if not normalised[i] or not normalised[j]:
                continue
            ratio = SequenceMatcher(None, normalised[i], normalised[j]).ratio()
            if ratio >= similarity:
                return i + offset, j + offset, ratio
    return None


def trajectory_of(conversation: Conversation) -> Trajectory | None:
    """The conversation's trajectory, or one rebuilt from its customer contexts if absent."""
    if conversation.trajectory is not None:
        return conversation.trajectory
    turns = [(i, conversation.contexts[i.native_id]) for i in conversation.customer_messages()
             if i.native_id in conversation.contexts]
    if not turns:
        return None
    first, last = turns[0][1], turns[-1][1]
    delta = last.intensity - first.intensity
    negative = last.state not in (EmotionalState.SATISFACTION, EmotionalState.NEUTRAL)
    if delta > _TREND_BAND and negative:
        trend = Trend.ESCALATING
    elif delta < -_TREND_BAND or (not negative and first.state is not last.state):
        trend = Trend.RECOVERING
    else:
        trend = Trend.STEADY
    return Trajectory(
        opening_state=first.state,
        latest_state=last.state,
        trend=trend,
        peak_intensity=max(c.intensity for _, c in turns),
        latest_intensity=last.intensity,
        customer_turns=len(turns),
        points=tuple((i.created_at, c.intensity) for i, c in turns),
    )


def _trailing_rises(levels: list[float]) -> int:
    rises = 0
    for before, after in zip(reversed(levels[:-1]), reversed(levels[1:]), strict=True):
        if after > before:
            rises += 1
        else:
            break
    return rises


def _summary(
    customer: list[tuple[Interaction, EmotionalContext | None]],
    bot_count: int,
    trajectory: Trajectory | None,
    sentences: int,
) -> str:
    parts: list[str] = []
    quotes: list[str] = []
    # The opening turn says what it is about; the latest ones say where it stands now.
    chosen = [customer[0], *customer[1:][-(sentences - 1):]] if sentences > 1 else [customer[-1]]
    for interaction, context in chosen:
        sentence = key_sentence(interaction.text, context.cues if context else ())
        if sentence and shorten(sentence) not in quotes:
            quotes.append(shorten(sentence))
    turns = f"{len(customer)} customer turn{'s' if len(customer) != 1 else ''}"
    bots = f"{bot_count} bot repl{'ies' if bot_count != 1 else 'y'}"
    if trajectory is not None:
        mood = (f"{trajectory.opening_state.value} → {trajectory.latest_state.value}, "
                f"{trajectory.trend.value}, peak intensity {trajectory.peak_intensity:.2f}")
        parts.append(f"{turns}, {bots} ({mood}).")
    else:
        parts.append(f"{turns}, {bots}.")
    parts.extend(f'"{quote}"' for quote in quotes)
    return " ".join(parts)


def _opening(topics: list[tuple[str, str]], asked_human: bool, name: str | None,
             issue: str | None) -> str:
    hello = f"Hi {name}, I'm [your name]" if name else "Hi, I'm [your name]"
    about = issue or "this"
    topic_names = {topic for topic, _ in topics}
    if "bereavement" in topic_names:
        return (f"{hello}, and I'm so sorry for your loss. I've read everything you shared, so "
                f"you won't need to explain it again; I'll take care of this personally.")
    if topic_names:
        return (f"{hello} from the team. Thank you for telling us about this: it needs a person, "
                f"so I'm taking it over from here and I've read the conversation so far.")
    if asked_human:
        return (f"{hello}, a person on the team. You asked to speak with someone, and I'm here "
                f"now; I've read the conversation, so no need to repeat yourself about {about}.")
    return (f"{hello}. I'm sorry the automated replies didn't get you anywhere. I've read the "
            f"conversation and I can see how frustrating {about} has been; let's sort it out "
            f"together.")


# The answers that depend on nothing but the rule that gave them: decisions are frozen, so one
# instance each serves every conversation (most help-desk tickets already have an agent).
_DISABLED = HandoffDecision(handoff=False, reasons=("handoff policy disabled in [handoff]",))
_NO_CUSTOMER = HandoffDecision(handoff=False, reasons=("no customer message yet",))
_HUMAN_IN = HandoffDecision(handoff=False,
                            reasons=("a human agent is already in the conversation",))


def decide_handoff(conversation: Conversation, settings: HandoffSettings) -> HandoffDecision:
    """Whether the newest customer turn should go to a human, with the context packet."""
    if not settings.enabled:
        return _DISABLED
    roles = {i.author_role for i in conversation.interactions}
    if AuthorRole.CUSTOMER not in roles:
        return _NO_CUSTOMER
    if AuthorRole.AGENT in roles:
        return _HUMAN_IN
    customer = [(i, conversation.contexts.get(i.native_id))
                for i in conversation.customer_messages()]
    channel = customer[-1][0].channel
    has_bot = AuthorRole.BOT in roles
    if settings.scope == "bot_conversations" and not has_bot and \
            channel not in settings.bot_channels:
        # An email ticket waiting for its first agent reply is not a bot conversation.
        return HandoffDecision(handoff=False, reasons=(
            f"not a bot conversation: no bot message and channel {channel!r} is not in "
            f"[handoff] bot_channels",))
    contexts = [context for _, context in customer if context is not None]
    cues: list[Cue] = []
    seen: set[tuple[str, str]] = set()
    for context in contexts:
        for cue in context.cues:
            if (cue.kind, cue.span) not in seen:
                seen.add((cue.kind, cue.span))
                cues.append(cue)
    bot_messages = [i.text for i in conversation.interactions if i.author_role is AuthorRole.BOT]
    trajectory = trajectory_of(conversation)

    reasons: list[str] = []
    human_cues = [cue for cue in cues if cue.kind in settings.human_request_cues]
    if human_cues:
        span = f" ({human_cues[0].span!r})" if human_cues[0].span else ""
        reasons.append(f"customer asked for a human{span}")
    topics = never_automate_hits([i.text for i, _ in customer], cues, settings.never_automate)
    reasons.extend(f"never-automate topic {topic}: {evidence}" for topic, evidence in topics)
    latest = customer[-1][1]
    if latest is not None and latest.intensity >= settings.intensity_threshold:
        reasons.append(f"intensity {latest.intensity:.2f} ≥ {settings.intensity_threshold:.2f}")
    kinds = frozenset(settings.frustration_cues)
    levels = [frustration_level(context, kinds) for context in contexts]
    rises = _trailing_rises(levels)
    rising = rises >= settings.frustration_rise_turns
    if levels and rising and levels[-1] >= settings.frustration_floor:
        shown = " → ".join(f"{level:.2f}" for level in levels[-(rises + 1):])
        reasons.append(f"frustration rose over {rises + 1} customer turns ({shown})")
    repeat = bot_repeats(bot_messages, settings.repetition_similarity)
    if repeat is not None:
        i, j, ratio = repeat
        reasons.append(f"bot repeated itself (replies {i + 1} and {j + 1} are {ratio:.0%} alike)")

    if not reasons:
        state = latest.state.value if latest else "unknown"
        intensity = f"{latest.intensity:.2f}" if latest else "n/a"
        return HandoffDecision(
            handoff=False,
            reasons=(f"no trigger: {state} at intensity {intensity} < "
                     f"{settings.intensity_threshold:.2f}, no human request, no never-automate "
                     f"topic, no rising frustration, no repeated bot reply",),
            trajectory=trajectory,
            cues=tuple(cues),
        )
    last_interaction = customer[-1][0]
    name = first_name(conversation.customer or last_interaction.customer or last_interaction.author)
    issue = next((phrase for phrase in (key_phrase(i.text) for i, _ in reversed(customer))
                  if phrase), None)
    return HandoffDecision(
        handoff=True,
        reasons=tuple(reasons),
        trajectory=trajectory,
        cues=tuple(cues),
        bot_attempts=tuple(shorten(text, _BOT_ATTEMPT_CHARS) for text in bot_messages),
        summary=_summary(customer, len(bot_messages), trajectory, settings.summary_sentences),
        suggested_opening=_opening(topics, bool(human_cues), name, issue),
    )
