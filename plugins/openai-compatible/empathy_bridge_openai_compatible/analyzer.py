"""An OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, hosted providers).

``POST {base_url}/chat/completions`` with a system prompt that asks for the six-state
classification, intensity, tier and cues as one JSON object (``response_format`` json_object
where the server supports it). The answer is validated against :class:`ModelReading`; a
malformed answer is asked for once more, then the message keeps the primary reading.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from empathy_bridge.analysis.cues import AGENT_CUE_KINDS, CUE_KINDS
from empathy_bridge.analyzers import AnalyzerOptions, HttpAnalyzer, HttpOptions
from empathy_bridge.schemas import Cue, EmotionalContext, EmotionalState, Interaction, Tier

__all__ = ["ANALYZER", "SYSTEM_PROMPT", "ModelReading", "OpenAICompatibleAnalyzer"]

# The cue kinds offered to the model are the built-in detector's own, so policies keyed on a
# kind (SLA steps, handoff triggers) read a hosted analyzer's cues exactly like the default's.
_CUE_KIND_LIST = ", ".join(f'"{kind}"' for kind in (*CUE_KINDS, *AGENT_CUE_KINDS))

SYSTEM_PROMPT = f"""You classify the emotional state of one customer-service message.
Answer with ONE JSON object and nothing else, with exactly these keys:
"state": one of "frustration", "confusion", "anxiety", "disappointment", "satisfaction", "neutral";
"states": an object giving each of those six states a score from 0 to 1;
"sentiment": a number from -1 (very negative) to 1 (very positive);
"intensity": a number from 0 (calm) to 1 (extreme);
"tier": one of "calm", "concerned", "upset", "distressed", "critical";
"cues": a list of {{"kind": ..., "span": ...}} where kind is one of {_CUE_KIND_LIST}
and span is the exact words from the message;
"language": the ISO 639-1 code of the message's language."""


class _ModelCue(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: str = Field(min_length=1, max_length=50)
    span: str = Field(default="", max_length=500)


class ModelReading(BaseModel):
    """What the model must answer; anything else is malformed."""

    model_config = ConfigDict(extra="ignore")

    state: EmotionalState
    states: dict[EmotionalState, float] = Field(default_factory=dict)
    sentiment: float = Field(ge=-1, le=1)
    intensity: float = Field(ge=0, le=1)
    tier: Tier
    cues: list[_ModelCue] = Field(default_factory=list)
    language: str | None = Field(default=None, max_length=10)


class OpenAICompatibleOptions(HttpOptions):
    """``options`` of an ``openai_compatible`` chain stage."""

    base_url: str = Field(description="e.g. http://localhost:11434/v1 (Ollama)")
    model: str
    api_key_env: str | None = Field(default=None, description="Env var with a bearer key.")
    max_chars: int = Field(default=4000, ge=100)
    json_mode: bool = Field(default=True, description="Send response_format=json_object.")


class OpenAICompatibleAnalyzer(HttpAnalyzer):
    """Six-state classification by a chat model, validated, with one retry on bad output."""

    name = "openai_compatible"
    version = "1"
    service = "OpenAI-compatible endpoint"
    options_model: ClassVar[type[AnalyzerOptions]] = OpenAICompatibleOptions
    max_batch = 1

    def analyze(
        self,
        interactions: Sequence[Interaction],
        cues: Sequence[Sequence[Cue]],
        previous: Sequence[EmotionalContext],
    ) -> list[EmotionalContext | None]:
        """One chat completion per message; ``None`` where the model's answer stayed malformed."""
        options = self.options
        assert isinstance(options, OpenAICompatibleOptions)
        headers = {}
        if options.api_key_env:
            key = self.secrets.require(options.api_key_env, "model endpoint API key")
            headers["Authorization"] = f"Bearer {key.get_secret_value()}"
        out: list[EmotionalContext | None] = []
        for interaction, earlier in zip(interactions, previous, strict=True):
            text = interaction.text[: options.max_chars]
            reading = None
            for _attempt in range(2):  # the original ask plus one retry on malformed output
                reading = self._ask(options, headers, text)
                if reading is not None:
                    break
            out.append(
                None
                if reading is None
                else self._context(
                    reading, earlier, text, truncated=len(interaction.text) > options.max_chars
                )
            )
        return out

    def _ask(
        self, options: OpenAICompatibleOptions, headers: dict[str, str], text: str
    ) -> ModelReading | None:
        payload: dict[str, Any] = {
            "model": options.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": text or "(empty message)"},
            ],
        }
        if options.json_mode:
            payload["response_format"] = {"type": "json_object"}
        answer = self.post_json(
            f"{options.base_url.rstrip('/')}/chat/completions", payload, headers=headers
        )
        try:
            content = answer["choices"][0]["message"]["content"]
            return ModelReading.model_validate(json.loads(_strip_fences(str(content))))
        except (KeyError, IndexError, TypeError, json.JSONDecodeError, ValidationError):
            return None

    def _context(
        self, reading: ModelReading, earlier: EmotionalContext, text: str, *, truncated: bool
    ) -> EmotionalContext:
        cues = []
        for cue in reading.cues:
            start = text.find(cue.span) if cue.span else -1
            cues.append(
                Cue(
                    kind=cue.kind,
                    span=cue.span,
                    start=start if start >= 0 else None,
                    end=start + len(cue.span) if start >= 0 else None,
                    detector=self.name,
                )
            )
        states = {s: max(0.0, min(1.0, v)) for s, v in reading.states.items()}
        return EmotionalContext(
            sentiment=reading.sentiment,
            state=reading.state,
            states=states,
            intensity=reading.intensity,
            tier=reading.tier,
            cues=(*earlier.cues, *cues),
            confidence=earlier.confidence,
            language=reading.language or earlier.language,
            truncated=truncated,
            author_role=earlier.author_role,
            analyzer=self.name,
            analyzer_version=f"{self.version}:{self.options.model}",  # type: ignore[attr-defined]
        )


def _strip_fences(content: str) -> str:
    """Models without JSON mode often wrap JSON in ```json fences."""
    stripped = content.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`")
        if stripped.lower().startswith("json"):
            stripped = stripped[4:]
    return stripped.strip()


ANALYZER = OpenAICompatibleAnalyzer
