"""Built-in agent-response assessment: the rubric every agent and bot reply is scored on.

A reply is scored against the customer message it answers (the previous customer message of the
conversation that is not a survey answer) on four parts, each 0..1, with the words that counted
kept as evidence:

- **personalisation**: the customer's name is used; the specifics they raised are referred to
  (content words of their message that reappear in the reply);
- **active listening**: validation ("that's completely understandable"), acknowledgment of the
  emotion ("I'm sorry", "I can see how frustrating"), paraphrase ("if I understand correctly");
- **tone**: the reply's own sentiment from its :class:`EmotionalContext`, mapped to 0..1;
- **clarity**: short sentences, no jargon the customer did not use, a next step.

``empathy`` is their mean. The rubric is a pure function (:func:`assess_reply`); the metrics
layer runs it over stored conversations after a sync (see ``docs/metrics.md``) and persists one
row per reply. This plugin declares the ``[assessment]`` config section that tunes it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import (
    AuthorRole,
    EmotionalContext,
    EmotionalState,
    Interaction,
    Party,
    UTCDateTime,
)

__all__ = [
    "RUBRIC_VERSION",
    "AssessmentSettings",
    "ReplyAssessment",
    "answered_message",
    "assess_reply",
    "content_words",
    "is_reply",
]

#: Bumped when the rubric changes, so stored assessments are recomputed.
RUBRIC_VERSION = "2"

_DEFAULT_JARGON = (
    "api", "backend", "back-end", "cache", "config", "configuration", "dns", "endpoint",
    "escalation matrix", "kindly", "latency", "provisioning", "per policy", "as per",
    "ticket id", "sla", "tier 2", "tier 3", "l2", "l3", "sync", "token", "workaround",
    "rma", "sku", "payload", "hotfix", "deprecated", "propagate",
)

_STOPWORD_TEXT = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each few for from further get got had hadn't has hasn't have
haven't having he her here hers herself him himself his how i i'd i'll i'm i've if in into
is isn't it it's its itself just let's me more most mustn't my myself no nor not now of off
on once only or other ought our ours ourselves out over own please same shan't she should
shouldn't so some such than thank thanks that that's the their theirs them themselves then
there there's these they they'd they'll they're they've this those through to too under
until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
where where's which while who who's whom why why's will with won't would wouldn't you you'd
you'll you're you've your yours yourself yourselves hello dear regards team support help
still really know like want need time today sure okay yes also able going just make made
look looking thing things something anything everything best kind hope soon again already
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_VALIDATION = (
    r"(?:that's|that is|it's|it is) (?:completely |totally |entirely |perfectly )?"
    r"(?:understandable|fair|reasonable|valid)",
    r"you(?:'re| are) (?:absolutely |completely |quite )?right",
    r"makes (?:complete |perfect |total )?sense",
    r"you have every right", r"i(?:'d| would) feel the same", r"fair point",
    r"good (?:question|catch)", r"thank(?:s| you) for (?:your patience|bearing with|flagging|"
    r"letting us know|raising|pointing)",
)
_ACKNOWLEDGMENT = (
    r"(?:i'm|i am|we're|we are) (?:so |really |very |truly )?sorry",
    r"(?:i|we) apologi[sz]e", r"apologies",
    r"i (?:can |completely |totally )?(?:understand|imagine|see|hear)"
    r"(?: how| why| that| you)?",
    r"that (?:must|sounds) (?:be |have been |really |so )*"
    r"(?:frustrating|stressful|worrying|disappointing|confusing|difficult|annoying|hard)",
    r"(?:frustrat|stress|worr|disappoint|confus|upset|annoy|inconvenien)\w*",
)
_PARAPHRASE = (
    r"if i understand(?: you)?(?: correctly)?", r"so you(?:'re| are) saying",
    r"you mentioned", r"you said", r"you(?:'ve| have) (?:told|explained|described)",
    r"to confirm", r"just to make sure", r"it sounds like", r"what i(?:'m| am) hearing",
    r"as i understand", r"so (?:the|your) (?:issue|problem|question) is",
)
_NEXT_STEP = (
    r"i(?:'ll| will)\b", r"we(?:'ll| will)\b", r"next step", r"within \d+ ?(?:minutes?|hours?|"
    r"days?|business days?)", r"by (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"tomorrow|tonight|end of (?:day|the day|the week))", r"please (?:try|reply|click|go|send|"
    r"check|open|restart|update|confirm|let)", r"you can\b", r"here(?:'s| is) how",
    r"follow(?:ing)? up", r"expect\b", r"step \d", r"\b1\.", r"(?:refund|credit|fix|replacement) "
    r"(?:has been|is being|will be) (?:issued|processed|sent|applied|deployed)",
)
_EMOTION_WORDS: dict[EmotionalState, tuple[str, ...]] = {
    EmotionalState.FRUSTRATION: ("frustrat", "annoy", "upset", "inconvenien"),
    EmotionalState.CONFUSION: ("confus", "unclear", "clarify", "explain"),
    EmotionalState.ANXIETY: ("worr", "concern", "stress", "urgent", "reassur"),
    EmotionalState.DISAPPOINTMENT: ("disappoint", "let you down", "expected better", "not what"),
}

_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_ACRONYM = re.compile(r"\b[A-Z]{3,6}\b")


class AssessmentSettings(BaseModel):
    """``[assessment]``: tuning of the agent-response rubric."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jargon: list[str] = Field(
        default_factory=lambda: list(_DEFAULT_JARGON),
        description="Words/phrases that count as jargon when the customer did not use them.",
    )
    extra_jargon: list[str] = Field(default_factory=list, description="Added to 'jargon'.")
    validation_phrases: list[str] = Field(
        default_factory=list, description="Extra regular expressions counted as validation."
    )
    @field_validator("validation_phrases")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for phrase in value:
            try:
                re.compile(phrase)
            except re.error as exc:
                raise PydanticCustomError(
                    "bad_pattern", "{phrase!r} is not a regular expression: {error}",
                    {"phrase": phrase, "error": str(exc)}) from None
        return value

    min_specifics: int = Field(
        default=2, ge=1, description="Shared content words needed to count as referring to "
        "the customer's specifics.")
    max_sentence_words: int = Field(
        default=20, ge=5, description="Mean sentence length up to which clarity is full.")


class ReplyAssessment(BaseModel):
    """The rubric's verdict on one agent or bot reply, with its evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    native_id: str
    conversation_id: str
    answered_id: str | None = Field(description="native_id of the customer message answered.")
    author_role: AuthorRole
    agent_id: str | None
    created_at: UTCDateTime
    response_seconds: float | None = Field(
        description="Seconds between the answered customer message and this reply.")
    answered_intensity: float | None = Field(
        default=None, description="Emotional intensity of the answered customer message.")
    uses_name: str | None = Field(description="The customer's name as used in the reply.")
    specifics: tuple[str, ...] = Field(description="Content words shared with the message.")
    personalised: bool
    personalisation: float = Field(ge=0.0, le=1.0)
    validation: tuple[str, ...] = ()
    acknowledgment: tuple[str, ...] = ()
    paraphrase: tuple[str, ...] = ()
    listening: bool
    tone: float | None = Field(description="The reply's sentiment, -1..1, from its context.")
    clarity: float = Field(ge=0.0, le=1.0)
    mean_sentence_words: float
    jargon: tuple[str, ...] = ()
    next_step: tuple[str, ...] = ()
    empathy: float = Field(ge=0.0, le=1.0, description="Mean of the four parts.")
    rubric_version: str = RUBRIC_VERSION

    def evidence(self) -> dict[str, list[str]]:
        """The phrases that counted, by rubric part (what the report and exports show)."""
        return {
            "name": [self.uses_name] if self.uses_name else [],
            "specifics": list(self.specifics),
            "validation": list(self.validation),
            "acknowledgment": list(self.acknowledgment),
            "paraphrase": list(self.paraphrase),
            "jargon": list(self.jargon),
            "next_step": list(self.next_step),
        }


def _stem(word: str) -> str:
    # A light suffix strip so "refunds"/"refunded"/"refund" match; enough for overlap counting.
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> dict[str, str]:
    """Stemmed content words of ``text`` -> the first surface form seen (stopwords dropped)."""
    found: dict[str, str] = {}
    for word in _WORD.findall(text.lower()):
        word = word.strip("'-")
        if len(word) < 4 or word in _STOPWORDS or word.isdigit():
            continue
        found.setdefault(_stem(word), word)
    return found


@functools.lru_cache(maxsize=32)
def _term_patterns(terms: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    # Compiled once per configured term list: the rubric runs on every reply of a refresh.
    return tuple((term, re.compile(r"(?<!\w)" + re.escape(term.lower()) + r"(?!\w)"))
                 for term in terms)


@functools.lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


def _matches(patterns: Sequence[str], text: str) -> tuple[str, ...]:
    found: list[str] = []
    for pattern in _compiled(tuple(patterns)):
        for match in pattern.finditer(text):
            phrase = match.group(0).strip()
            if phrase and phrase not in found:
                found.append(phrase)
    return tuple(found)


def _name_used(reply_text: str, customer: Party | None) -> str | None:
    if customer is None:
        return None
    candidates = []
    if customer.name:
        parts = customer.name.split()
        candidates.extend([customer.name, parts[0]] if parts else [])
    if customer.handle and customer.handle.startswith("@"):
        candidates.append(customer.handle)
    for candidate in candidates:
        if len(candidate) < 2:
            continue
        # Case matters for names that are also words ("Will", "May", "Hope"): "I will" is not
        # the customer's name, "Will," is.
        flags = re.IGNORECASE if candidate.lower() not in _STOPWORDS and candidate.lower() not in (
            "may", "june", "april", "grace", "joy", "faith", "bill", "mark", "rose", "art",
            "frank", "sunny", "summer", "august", "dawn", "guy") else 0
        if re.search(r"(?<![\w@])" + re.escape(candidate) + r"(?!\w)", reply_text, flags):
            return candidate
    return None


def answered_message(interactions: Sequence[Interaction], index: int) -> Interaction | None:
    """The customer message the reply at ``index`` answers: the closest earlier customer message
    that is not a survey answer (``None`` when the agent wrote first)."""
    for earlier in reversed(interactions[:index]):
        if earlier.author_role is AuthorRole.CUSTOMER and earlier.kind != "survey":
            return earlier
    return None


def assess_reply(
    reply: Interaction,
    answered: Interaction | None,
    customer: Party | None,
    *,
    tone: EmotionalContext | None = None,
    answered_context: EmotionalContext | None = None,
    settings: AssessmentSettings | None = None,
) -> ReplyAssessment:
    """Score ``reply`` against the customer message it answers.

    :param reply: an agent or bot interaction.
    :param answered: the customer message it answers (see :func:`answered_message`), or ``None``.
    :param customer: the conversation's customer (for the name); falls back to
        ``reply.customer``.
    :param tone: the reply's own emotional context (its sentiment is the tone part).
    :param answered_context: the answered message's context (its state names the emotion an
        acknowledgment should address; its intensity is kept for the emotional-load metric).
    :param settings: rubric tuning; defaults to :class:`AssessmentSettings`.
    """
    cfg = settings or AssessmentSettings()
    customer = customer or reply.customer
    text = reply.text
    lowered = text.lower()
    answered_text = answered.text.lower() if answered is not None else ""

    # Personalisation: the name, and the customer's own words coming back.
    uses_name = _name_used(text, customer)
    theirs = content_words(answered_text)
    ours = content_words(lowered)
    specifics = tuple(sorted(theirs[stem] for stem in ours.keys() & theirs.keys()))
    refers = len(specifics) >= cfg.min_specifics
    personalisation = min(1.0, (0.5 if uses_name else 0.0)
                          + 0.5 * min(1.0, len(specifics) / cfg.min_specifics))

    # Active listening.
    validation = _matches((*_VALIDATION, *cfg.validation_phrases), lowered)
    acknowledgment = _matches(_ACKNOWLEDGMENT, lowered)
    state = answered_context.state if answered_context is not None else None
    if state in _EMOTION_WORDS and not acknowledgment:
        named = tuple(w for w in _EMOTION_WORDS[state] if w in lowered)
        acknowledgment = named
    paraphrase = _matches(_PARAPHRASE, lowered)
    kinds = sum(bool(x) for x in (validation, acknowledgment, paraphrase))
    listening_score = min(1.0, kinds / 2)

    # Tone, from the reply's own analysis.
    tone_value = tone.sentiment if tone is not None else None
    tone_score = (tone_value + 1.0) / 2.0 if tone_value is not None else 0.5

    # Clarity.
    sentences = [s for s in _SENTENCE.findall(text) if _WORD.search(s.lower())]
    words = len(_WORD.findall(lowered))
    mean_words = words / len(sentences) if sentences else float(words)
    length_score = 1.0 if mean_words <= cfg.max_sentence_words else max(
        0.0, 1.0 - (mean_words - cfg.max_sentence_words) / cfg.max_sentence_words)
    jargon = tuple(term for term, pattern in _term_patterns((*cfg.jargon, *cfg.extra_jargon))
                   if pattern.search(lowered) and not pattern.search(answered_text))
    acronyms = tuple(a for a in _ACRONYM.findall(text)
                     if a.lower() not in answered_text and a.lower() not in jargon)
    jargon = jargon + acronyms
    next_step = _matches(_NEXT_STEP, lowered)
    clarity = (0.5 * length_score + 0.3 * (1.0 if next_step else 0.0)
               + 0.2 * max(0.0, 1.0 - len(jargon) / 3))

    empathy = (personalisation + listening_score + tone_score + clarity) / 4
    seconds = ((reply.created_at - answered.created_at).total_seconds()
               if answered is not None else None)
    return ReplyAssessment(
        source=reply.source, native_id=reply.native_id, conversation_id=reply.conversation_id,
        answered_id=answered.native_id if answered is not None else None,
        author_role=reply.author_role, agent_id=reply.author.id if reply.author else None,
        created_at=reply.created_at, response_seconds=seconds,
        answered_intensity=answered_context.intensity if answered_context is not None else None,
        uses_name=uses_name, specifics=specifics, personalised=bool(uses_name) or refers,
        personalisation=round(personalisation, 4), validation=validation,
        acknowledgment=acknowledgment, paraphrase=paraphrase, listening=kinds > 0,
        tone=tone_value, clarity=round(min(1.0, clarity), 4),
        mean_sentence_words=round(mean_words, 2),
        jargon=jargon, next_step=next_step, empathy=round(min(1.0, empathy), 4),
    )


def is_reply(interaction: Interaction) -> bool:
    """Whether the rubric applies: a public agent or bot message."""
    return (interaction.author_role in (AuthorRole.AGENT, AuthorRole.BOT)
            and interaction.visibility.value == "public")


@hookimpl
def empathy_bridge_register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Declare the ``[assessment]`` section (rubric tuning)."""
    register("assessment", AssessmentSettings)
