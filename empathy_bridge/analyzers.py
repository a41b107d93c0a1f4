"""Additional analyzers that can be chained after the primary one (hosted APIs, model servers).

A hosted analyzer is a class registered through ``empathy_bridge_register_analyzers``. It reads
its settings from its stage of the ``[analyzers]`` chain (``options = {...}``), credentials
through :class:`~empathy_bridge.secrets.Secrets` (``*_env`` keys), and refines or replaces the
contexts the previous stage produced. :class:`HttpAnalyzer` gives the shared plumbing: pooled
httpx clients (sync and async) with timeouts, the shared retry policy, and translation of HTTP
failures into the core's error types.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from empathy_bridge.errors import (
    AuthenticationError,
    FatalError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import Cue, EmotionalContext, EmotionalState, Interaction
from empathy_bridge.secrets import Secrets

if TYPE_CHECKING:
    import httpx

# httpx is imported where a hosted analyzer is built or its error translated, never at import
# time: the CLI and the SDK import this module on every start, most of them with no hosted
# analyzer configured.

__all__ = [
    "Analyzer",
    "AnalyzerOptions",
    "HttpAnalyzer",
    "HttpOptions",
    "refine_with_polarity",
    "translate_http_error",
]


class AnalyzerOptions(BaseModel):
    """Base of an analyzer's ``options`` table; unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid")


class HttpOptions(AnalyzerOptions):
    """Options every HTTP analyzer accepts."""

    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_connections: int = Field(default=10, ge=1, le=200)


class Analyzer(abc.ABC):
    """Base of chainable analyzers.

    :cvar name: registered name (``analyzer = "..."`` in a chain stage).
    :cvar options_model: the pydantic model of the stage's ``options`` table.
    :cvar max_batch: documents the service accepts per request (budgets count requests).
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    options_model: ClassVar[type[AnalyzerOptions]] = AnalyzerOptions
    max_batch: ClassVar[int] = 1

    def __init__(self, options: AnalyzerOptions, secrets: Secrets) -> None:
        self.options = options
        self.secrets = secrets

    def requests_for(self, documents: int) -> int:
        """API requests needed for ``documents`` documents."""
        return -(-documents // self.max_batch)

    @abc.abstractmethod
    def analyze(
        self,
        interactions: Sequence[Interaction],
        cues: Sequence[Sequence[Cue]],
        previous: Sequence[EmotionalContext],
    ) -> list[EmotionalContext | None]:
        """Contexts for ``interactions`` (same order); ``None`` keeps the previous stage's one.

        ``previous`` holds what the earlier stage produced, so a sentiment-only service can
        refine it rather than guess the emotional state.
        """

    def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release connections."""


def translate_http_error(exc: Exception, service: str) -> Exception:
    """Map an httpx failure to the core's error types (one line, no secrets)."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        status = response.status_code
        detail = _error_message(response)
        if status in (401, 403):
            return AuthenticationError(
                f"{service} rejected the credentials (HTTP {status}{detail}): check the key "
                f"named in the analyzer's options"
            )
        if status == 429:
            return RetriableError(
                f"{service} rate limit (HTTP 429{detail})",
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            return RetriableError(f"{service} server error (HTTP {status}{detail})")
        return SkippableError(
            f"{service} refused the request (HTTP {status}{detail})", code=str(status)
        )
    if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
        return RetriableError(f"{service} unreachable: {type(exc).__name__}")
    return FatalError(f"{service}: unexpected {type(exc).__name__}")


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = error.get("message") or error.get("code")
        return f": {str(message)[:200]}" if message else ""
    if isinstance(error, str):
        return f": {error[:200]}"
    return ""


class HttpAnalyzer(Analyzer):
    """An analyzer calling an HTTP API through pooled httpx clients under the retry policy."""

    options_model: ClassVar[type[AnalyzerOptions]] = HttpOptions
    service: ClassVar[str] = "service"

    def __init__(
        self, options: AnalyzerOptions, secrets: Secrets, retry_policy: RetryPolicy | None = None
    ) -> None:
        super().__init__(options, secrets)
        assert isinstance(options, HttpOptions)
        self.retry_policy = retry_policy or RetryPolicy(attempts=3, max_seconds=30.0)
        import httpx

        limits = httpx.Limits(max_connections=options.max_connections)
        timeout = httpx.Timeout(options.timeout_seconds)
        self.client = httpx.Client(limits=limits, timeout=timeout)
        self.async_client = httpx.AsyncClient(limits=limits, timeout=timeout)

    def post_json(
        self,
        url: str,
        payload: Any,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """POST JSON and return the decoded answer; errors translated, retriable ones retried."""
        import httpx

        def once() -> Any:
            try:
                response = self.client.post(url, json=payload, headers=headers, params=params)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise translate_http_error(exc, self.service) from exc
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RetriableError(f"{self.service} answered with malformed JSON") from exc

        return self.retry_policy.call(once)

    async def apost_json(
        self,
        url: str,
        payload: Any,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Async variant of :meth:`post_json` for the real-time server (one attempt)."""
        import httpx

        try:
            response = await self.async_client.post(
                url, json=payload, headers=headers, params=params
            )
            response.raise_for_status()
            return response.json()
        except httpx.HTTPError as exc:
            raise translate_http_error(exc, self.service) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RetriableError(f"{self.service} answered with malformed JSON") from exc

    def close(self) -> None:
        """Close the sync client (the async one is closed by ``aclose``)."""
        self.client.close()

    async def aclose(self) -> None:
        """Close both clients."""
        self.client.close()
        await self.async_client.aclose()


_NEGATIVE_STATES = (
    EmotionalState.FRUSTRATION,
    EmotionalState.ANXIETY,
    EmotionalState.DISAPPOINTMENT,
    EmotionalState.CONFUSION,
)


def refine_with_polarity(
    previous: EmotionalContext,
    *,
    sentiment: float,
    confidence: float | None,
    analyzer: str,
    analyzer_version: str,
    language: str | None = None,
    extra_cues: Sequence[Cue] = (),
) -> EmotionalContext:
    """Refine an earlier six-state reading with a sentiment-only service's polarity.

    Sentiment services do not name emotions, so the mapping is (documented in
    ``docs/hosted-analyzers.md``):

    - ``sentiment`` and ``confidence`` are the service's;
    - the state keeps the earlier reading unless the polarities disagree: a clearly positive
      service reading (> 0.25) over a negative state becomes ``satisfaction``; a clearly
      negative one (< -0.25) over ``satisfaction``/``neutral`` becomes the negative state the
      earlier reading scored highest (``frustration`` when it scored none);
    - intensity is the mean of the earlier intensity and the service's absolute polarity, so
      one reading never swings it alone; tier and cues come from the earlier reading (plus any
      cues the service found, such as negative opinion targets).
    """
    state = previous.state
    if sentiment > 0.25 and state in _NEGATIVE_STATES:
        state = EmotionalState.SATISFACTION
    elif sentiment < -0.25 and state in (EmotionalState.SATISFACTION, EmotionalState.NEUTRAL):
        ranked = sorted(_NEGATIVE_STATES, key=lambda s: previous.states.get(s, 0.0), reverse=True)
        state = ranked[0] if previous.states.get(ranked[0], 0.0) > 0 else EmotionalState.FRUSTRATION
    sentiment = max(-1.0, min(1.0, sentiment))
    return previous.model_copy(
        update={
            "sentiment": round(sentiment, 4),
            "state": state,
            "intensity": round(min(1.0, (previous.intensity + abs(sentiment)) / 2), 4),
            "confidence": previous.confidence if confidence is None else round(confidence, 4),
            "language": language or previous.language,
            "cues": (*previous.cues, *extra_cues),
            "analyzer": analyzer,
            "analyzer_version": analyzer_version,
        }
    )
