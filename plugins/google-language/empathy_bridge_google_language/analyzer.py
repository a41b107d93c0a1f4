"""Google Cloud Natural Language ``documents:analyzeSentiment`` over REST.

``POST {base_url}/v1/documents:analyzeSentiment`` with ``{"document": {"type": "PLAIN_TEXT",
"content": ..., "language"?}, "encodingType": "UTF8"}``, authenticated with an API key
(``?key=``) or an OAuth access token (``Authorization: Bearer``). One document per request.
The answer's ``documentSentiment.score`` (-1..1) is the sentiment; ``magnitude`` (0..inf, grows
with length) is normalised by the number of sentences into a confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field, model_validator

from empathy_bridge.analyzers import (
    AnalyzerOptions,
    HttpAnalyzer,
    HttpOptions,
    refine_with_polarity,
)
from empathy_bridge.errors import SkippableError
from empathy_bridge.schemas import Cue, EmotionalContext, Interaction

__all__ = ["ANALYZER", "GoogleLanguageAnalyzer", "GoogleLanguageOptions"]


class GoogleLanguageOptions(HttpOptions):
    """``options`` of a ``google_language`` chain stage (one of the two credentials)."""

    base_url: str = "https://language.googleapis.com"
    api_key_env: str | None = Field(default="GOOGLE_LANGUAGE_API_KEY")
    access_token_env: str | None = None
    max_chars: int = Field(default=20_000, ge=100)

    @model_validator(mode="after")
    def _one_credential(self) -> GoogleLanguageOptions:
        if not self.api_key_env and not self.access_token_env:
            raise ValueError("set api_key_env or access_token_env")
        return self


class GoogleLanguageAnalyzer(HttpAnalyzer):
    """Refines the primary reading with Google's document sentiment."""

    name = "google_language"
    version = "v1"
    service = "Google Cloud Natural Language"
    options_model: ClassVar[type[AnalyzerOptions]] = GoogleLanguageOptions
    max_batch = 1

    def analyze(
        self,
        interactions: Sequence[Interaction],
        cues: Sequence[Sequence[Cue]],
        previous: Sequence[EmotionalContext],
    ) -> list[EmotionalContext | None]:
        """One request per message."""
        options = self.options
        assert isinstance(options, GoogleLanguageOptions)
        params: dict[str, str] = {}
        headers: dict[str, str] = {}
        if options.access_token_env:
            token = self.secrets.require(options.access_token_env, "Google OAuth access token")
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        else:
            assert options.api_key_env is not None
            params["key"] = self.secrets.require(
                options.api_key_env, "Google Cloud API key"
            ).get_secret_value()
        out: list[EmotionalContext | None] = []
        for interaction, earlier in zip(interactions, previous, strict=True):
            document: dict[str, Any] = {
                "type": "PLAIN_TEXT",
                "content": interaction.text[: options.max_chars] or ".",
            }
            if interaction.language:
                document["language"] = interaction.language
            answer = self.post_json(
                f"{options.base_url.rstrip('/')}/v1/documents:analyzeSentiment",
                {"document": document, "encodingType": "UTF8"},
                headers=headers,
                params=params,
            )
            out.append(
                self._context(answer, earlier, truncated=len(interaction.text) > options.max_chars)
            )
        return out

    def _context(
        self, answer: Any, earlier: EmotionalContext, *, truncated: bool
    ) -> EmotionalContext | None:
        if not isinstance(answer, dict):
            raise SkippableError("Google Natural Language answer is not a JSON object")
        sentiment = answer.get("documentSentiment")
        if not isinstance(sentiment, dict):
            return None
        try:
            score = float(sentiment.get("score", 0.0))
            magnitude = float(sentiment.get("magnitude", 0.0))
        except (TypeError, ValueError):
            return None
        sentences = max(1, len(answer.get("sentences") or []))
        # Magnitude sums emotion over sentences: per sentence, ~1 is a strongly felt one.
        confidence = min(1.0, magnitude / sentences)
        language = answer.get("language")
        context = refine_with_polarity(
            earlier,
            sentiment=score,
            confidence=confidence,
            analyzer=self.name,
            analyzer_version=self.version,
            language=language if isinstance(language, str) else None,
        )
        return context.model_copy(update={"truncated": True}) if truncated else context


ANALYZER = GoogleLanguageAnalyzer
