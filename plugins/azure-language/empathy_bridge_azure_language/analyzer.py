"""Azure AI Language sentiment analysis (document, sentence and opinion mining) over REST.

``POST {endpoint}/language/:analyze-text?api-version=2023-04-01`` with
``{"kind": "SentimentAnalysis", "parameters": {"opinionMining": true}, "analysisInput":
{"documents": [{"id", "language", "text"}]}}``, authenticated with the
``Ocp-Apim-Subscription-Key`` header; up to 10 documents per request and 5,120 characters per
document (longer texts are cut; the context says ``truncated``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field

from empathy_bridge.analyzers import (
    AnalyzerOptions,
    HttpAnalyzer,
    HttpOptions,
    refine_with_polarity,
)
from empathy_bridge.errors import SkippableError
from empathy_bridge.schemas import Cue, EmotionalContext, Interaction

__all__ = ["ANALYZER", "AzureLanguageAnalyzer", "AzureLanguageOptions"]

MAX_DOCUMENTS = 10
MAX_CHARS = 5120


class AzureLanguageOptions(HttpOptions):
    """``options`` of an ``azure_language`` chain stage."""

    endpoint: str = Field(description="https://<resource>.cognitiveservices.azure.com")
    key_env: str = Field(default="AZURE_LANGUAGE_KEY", description="Env var holding the key.")
    api_version: str = "2023-04-01"
    default_language: str = "en"
    opinion_mining: bool = True


class AzureLanguageAnalyzer(HttpAnalyzer):
    """Refines the primary reading with Azure's sentiment and negative opinion targets."""

    name = "azure_language"
    version = "2023-04-01"
    service = "Azure AI Language"
    options_model: ClassVar[type[AnalyzerOptions]] = AzureLanguageOptions
    max_batch = MAX_DOCUMENTS

    def analyze(
        self,
        interactions: Sequence[Interaction],
        cues: Sequence[Sequence[Cue]],
        previous: Sequence[EmotionalContext],
    ) -> list[EmotionalContext | None]:
        """One request per 10 documents; each document's result refines its earlier context."""
        options = self.options
        assert isinstance(options, AzureLanguageOptions)
        key = self.secrets.require(options.key_env, "Azure AI Language key")
        out: list[EmotionalContext | None] = []
        for start in range(0, len(interactions), MAX_DOCUMENTS):
            chunk = interactions[start : start + MAX_DOCUMENTS]
            payload = {
                "kind": "SentimentAnalysis",
                "parameters": {"opinionMining": options.opinion_mining},
                "analysisInput": {
                    "documents": [
                        {
                            "id": str(n),
                            "language": i.language or options.default_language,
                            "text": i.text[:MAX_CHARS] or ".",
                        }
                        for n, i in enumerate(chunk)
                    ]
                },
            }
            answer = self.post_json(
                f"{options.endpoint.rstrip('/')}/language/:analyze-text",
                payload,
                headers={"Ocp-Apim-Subscription-Key": key.get_secret_value()},
                params={"api-version": options.api_version},
            )
            documents = _documents(answer)
            for n, interaction in enumerate(chunk):
                document = documents.get(str(n))
                earlier = previous[start + n]
                out.append(
                    None
                    if document is None
                    else self._context(
                        document, earlier, answer, truncated=len(interaction.text) > MAX_CHARS
                    )
                )
        return out

    def _context(
        self, document: dict[str, Any], earlier: EmotionalContext, answer: Any, *, truncated: bool
    ) -> EmotionalContext | None:
        scores = document.get("confidenceScores")
        if not isinstance(scores, dict):
            return None
        try:
            positive, negative = float(scores["positive"]), float(scores["negative"])
            neutral = float(scores.get("neutral", 0.0))
        except (KeyError, TypeError, ValueError):
            return None
        version = str(answer.get("results", {}).get("modelVersion", self.version))
        context = refine_with_polarity(
            earlier,
            sentiment=positive - negative,
            confidence=max(positive, neutral, negative),
            analyzer=self.name,
            analyzer_version=version,
            extra_cues=_opinion_cues(document),
        )
        return context.model_copy(update={"truncated": True}) if truncated else context


def _documents(answer: Any) -> dict[str, dict[str, Any]]:
    """Result documents by id; a malformed body is one clear error."""
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), dict):
        raise SkippableError("Azure AI Language answer has no 'results' object")
    documents = answer["results"].get("documents", [])
    if not isinstance(documents, list):
        raise SkippableError("Azure AI Language 'results.documents' is not a list")
    return {str(d.get("id")): d for d in documents if isinstance(d, dict)}


def _opinion_cues(document: dict[str, Any]) -> list[Cue]:
    """Negative opinion targets ("the *delivery* was late") as cues."""
    cues = []
    for sentence in document.get("sentences") or []:
        for target in (sentence.get("targets") or []) if isinstance(sentence, dict) else []:
            if isinstance(target, dict) and target.get("sentiment") == "negative":
                offset, length = target.get("offset"), target.get("length")
                cues.append(
                    Cue(
                        kind="negative_opinion",
                        span=str(target.get("text", ""))[:200],
                        start=offset if isinstance(offset, int) and offset >= 0 else None,
                        end=offset + length
                        if isinstance(offset, int)
                        and isinstance(length, int)
                        and offset >= 0
                        and length >= 0
                        else None,
                        weight=0.5,
                        detector="azure_language",
                    )
                )
    return cues


ANALYZER = AzureLanguageAnalyzer
