"""Analyzer chains: run hosted analyzers after the primary one, within budgets, with fallback.

The primary analyzer (the ``empathy_bridge_analyze`` hook: the built-in one unless a plugin
replaces it) reads every message. The ``[analyzers]`` section then lists further stages; each
re-reads only the messages its ``when`` condition selects (e.g. high intensity, languages the
built-in does not cover), within a requests-per-minute and per-day budget, behind a circuit
breaker (pybreaker). Whatever a stage cannot do (budget spent, breaker open, service failing,
malformed answer) keeps the earlier context, so a failing service degrades to the built-in
analyzer instead of failing the batch. Each context names the analyzer that produced it.

Example::

    [[analyzers.chain]]
    analyzer = "openai_compatible"
    when = { min_intensity = 0.6 }
    requests_per_minute = 60
    requests_per_day = 5000
    options = { base_url = "http://localhost:8000/v1", model = "llama3", api_key_env = "LLM_KEY" }
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pybreaker
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from empathy_bridge.analyzers import Analyzer
from empathy_bridge.budget import RateLimit, TokenBucket
from empathy_bridge.config import format_validation_error
from empathy_bridge.errors import ConfigError, EmpathyBridgeError
from empathy_bridge.schemas import AuthorRole, Cue, EmotionalContext, EmotionalState, Interaction
from empathy_bridge.secrets import Secrets

__all__ = [
    "AnalyzerChain",
    "AnalyzersSettings",
    "StageSettings",
    "StageStats",
    "When",
    "build_chain",
]

log = logging.getLogger("empathy_bridge.composition")


class When(BaseModel):
    """Which messages a stage re-reads; all given conditions must hold."""

    model_config = ConfigDict(extra="forbid")

    min_intensity: float | None = Field(default=None, ge=0, le=1)
    states: list[EmotionalState] | None = None
    languages: list[str] | None = Field(default=None, description="Only these languages.")
    not_languages: list[str] | None = Field(default=None, description="All but these languages.")
    max_confidence: float | None = Field(
        default=None, ge=0, le=1, description="Only where the earlier reading is less sure."
    )
    author_roles: list[AuthorRole] = Field(default_factory=lambda: [AuthorRole.CUSTOMER])

    def matches(self, interaction: Interaction, context: EmotionalContext) -> bool:
        """Whether the stage should re-read this message."""
        language = context.language or interaction.language
        return (
            interaction.author_role in self.author_roles
            and (self.min_intensity is None or context.intensity >= self.min_intensity)
            and (self.states is None or context.state in self.states)
            and (self.languages is None or language in self.languages)
            and (self.not_languages is None or language not in self.not_languages)
            and (self.max_confidence is None or context.confidence <= self.max_confidence)
        )


class StageSettings(BaseModel):
    """One ``[[analyzers.chain]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    analyzer: str
    when: When = Field(default_factory=When)
    requests_per_minute: int | None = Field(default=60, ge=1)
    requests_per_day: int | None = Field(default=None, ge=1)
    breaker_failures: int = Field(default=5, ge=1, description="Failures that open the breaker.")
    breaker_reset_seconds: float = Field(default=60.0, gt=0)
    options: dict[str, Any] = Field(default_factory=dict)


class AnalyzersSettings(BaseModel):
    """``[analyzers]``: the chain of analyzers after the primary one (empty: primary only)."""

    model_config = ConfigDict(extra="forbid")

    chain: list[StageSettings] = Field(default_factory=list)


class _DailyQuota:
    """At most ``limit`` requests per UTC day."""

    def __init__(self, limit: int, today: Callable[[], date]) -> None:
        self.limit, self._today = limit, today
        self._day, self._used = today(), 0
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        with self._lock:
            day = self._today()
            if day != self._day:
                self._day, self._used = day, 0
            granted = max(0, min(wanted, self.limit - self._used))
            self._used += granted
            return granted


@dataclass
class StageStats:
    """What a stage did since start: documents read, fallbacks and why."""

    analyzed: int = 0
    requests: int = 0
    over_budget: int = 0
    failed: int = 0
    breaker_open: int = 0
    malformed: int = 0
    last_error: str = ""


@dataclass
class _Stage:
    settings: StageSettings
    analyzer: Analyzer
    breaker: pybreaker.CircuitBreaker
    per_minute: TokenBucket | None
    per_day: _DailyQuota | None
    stats: StageStats = field(default_factory=StageStats)

    def grant(self, requests: int) -> int:
        """Requests the budgets allow now (never waits: what is not granted falls back)."""
        granted = 0
        for _ in range(requests):
            if self.per_minute is not None and self.per_minute.reserve() > 0:
                self.per_minute.refund()
                break
            granted += 1
        if self.per_day is not None:
            daily = self.per_day.take(granted)
            for _ in range(granted - daily):
                if self.per_minute is not None:
                    self.per_minute.refund()
            granted = daily
        return granted


class AnalyzerChain:
    """The configured stages after the primary analyzer."""

    def __init__(self, stages: Sequence[_Stage]) -> None:
        self.stages = list(stages)

    def __bool__(self) -> bool:
        return bool(self.stages)

    def stats(self) -> dict[str, StageStats]:
        """Per-stage counters, by analyzer name."""
        return {stage.analyzer.name: stage.stats for stage in self.stages}

    def refine(
        self,
        interactions: Sequence[Interaction],
        cues: Sequence[Sequence[Cue]],
        contexts: Sequence[EmotionalContext],
    ) -> list[EmotionalContext]:
        """Run every stage over the messages it selects; failures keep the earlier context."""
        out = list(contexts)
        for stage in self.stages:
            selected = [
                n
                for n, (i, c) in enumerate(zip(interactions, out, strict=True))
                if stage.settings.when.matches(i, c)
            ]
            if not selected:
                continue
            analyzer = stage.analyzer
            granted = stage.grant(analyzer.requests_for(len(selected)))
            allowed = selected[: granted * analyzer.max_batch]
            stage.stats.over_budget += len(selected) - len(allowed)
            if not allowed:
                continue
            try:
                results = stage.breaker.call(
                    analyzer.analyze,
                    [interactions[n] for n in allowed],
                    [cues[n] for n in allowed],
                    [out[n] for n in allowed],
                )
            except pybreaker.CircuitBreakerError:
                stage.stats.breaker_open += len(allowed)
                continue
            except EmpathyBridgeError as exc:
                stage.stats.failed += len(allowed)
                if str(exc) != stage.stats.last_error:
                    log.warning(
                        "analyzer %s failed, keeping the earlier reading: %s", analyzer.name, exc
                    )
                stage.stats.last_error = str(exc)
                continue
            stage.stats.requests += analyzer.requests_for(len(allowed))
            if len(results) != len(allowed):
                stage.stats.malformed += len(allowed)
                continue
            for n, result in zip(allowed, results, strict=True):
                if result is None:
                    stage.stats.malformed += 1
                    continue
                out[n] = result
                stage.stats.analyzed += 1
        return out


def build_chain(
    settings: AnalyzersSettings,
    classes: Mapping[str, type[Analyzer]],
    secrets: Secrets,
    *,
    clock: Callable[[], float] = time.monotonic,
    today: Callable[[], date] = lambda: datetime.now(UTC).date(),
) -> AnalyzerChain:
    """Instantiate the configured stages; unknown analyzers and bad options fail with one line."""
    stages = []
    for n, stage in enumerate(settings.chain):
        cls = classes.get(stage.analyzer)
        where = f"analyzers.chain[{n}]"
        if cls is None:
            known = ", ".join(sorted(classes)) or "none installed"
            raise ConfigError(
                f"{where}.analyzer: unknown analyzer {stage.analyzer!r} (installed: {known})"
            )
        try:
            options = cls.options_model.model_validate(stage.options)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"{where}.options")) from None
        stages.append(
            _Stage(
                settings=stage,
                analyzer=cls(options, secrets),
                breaker=pybreaker.CircuitBreaker(
                    fail_max=stage.breaker_failures,
                    reset_timeout=stage.breaker_reset_seconds,
                    exclude=[ConfigError],
                ),
                per_minute=TokenBucket(
                    RateLimit(stage.requests_per_minute, 60.0), safety=1.0, clock=clock, probe=False
                )
                if stage.requests_per_minute
                else None,
                per_day=_DailyQuota(stage.requests_per_day, today)
                if stage.requests_per_day
                else None,
            )
        )
    return AnalyzerChain(stages)
