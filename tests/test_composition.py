"""Analyzer chains: conditions, budgets, circuit breaker, fallback and provenance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from empathy_bridge import hookimpl
from empathy_bridge.analyzers import Analyzer
from empathy_bridge.errors import ConfigError, RetriableError
from empathy_bridge.schemas import Cue, EmotionalContext, Interaction


class Echo(Analyzer):
    """Marks what it read; fails while ``failing`` is set."""

    name = "echo"
    calls: list[int] = []  # noqa: RUF012 - shared by the test on purpose
    failing = False

    def analyze(
        self,
        interactions: Sequence[Interaction],
        cues: Sequence[Sequence[Cue]],
        previous: Sequence[EmotionalContext],
    ) -> list[EmotionalContext | None]:
        Echo.calls.append(len(interactions))
        if Echo.failing:
            raise RetriableError("echo service down")
        return [p.model_copy(update={"analyzer": "echo"}) for p in previous]


class Registrar:
    @hookimpl
    def empathy_bridge_register_analyzers(self, register: Callable[[type[Analyzer]], None]) -> None:
        register(Echo)


def chain(**stage: Any) -> dict[str, Any]:
    return {"analyzers": {"chain": [{"analyzer": "echo", **stage}]}}


@pytest.fixture(autouse=True)
def _reset() -> None:
    Echo.calls = []
    Echo.failing = False


def test_without_a_chain_only_the_primary_analyzer_runs(make_bridge: Any) -> None:
    bridge = make_bridge(None, Registrar())
    assert not bridge.analyzer_chain
    assert bridge.analyze("hello").analyzer != "echo"


def test_condition_selects_messages_and_provenance_is_recorded(make_bridge: Any) -> None:
    bridge = make_bridge(chain(when={"min_intensity": 0.3}), Registrar())
    calm, angry = bridge.analyze_many(
        [
            "Can you send me the invoice for March?",
            "This is TERRIBLE, the worst service, third time I'm asking!!!",
        ]
    )
    assert calm.analyzer != "echo" and angry.analyzer == "echo"
    assert Echo.calls == [1]


def test_daily_budget_limits_requests_and_the_rest_fall_back(make_bridge: Any) -> None:
    bridge = make_bridge(chain(when={}, requests_per_day=3), Registrar())
    contexts = bridge.analyze_many([f"message {n}" for n in range(5)])
    assert [c.analyzer == "echo" for c in contexts] == [True, True, True, False, False]
    assert bridge.analyzer_chain.stats()["echo"].over_budget == 2


def test_breaker_opens_after_failures_and_stops_calling(make_bridge: Any) -> None:
    bridge = make_bridge(chain(when={}, breaker_failures=2, breaker_reset_seconds=600), Registrar())
    Echo.failing = True
    for _ in range(5):
        assert bridge.analyze("hi").analyzer != "echo"  # fell back every time
    assert len(Echo.calls) == 2  # the breaker kept the service from being called again
    stats = bridge.analyzer_chain.stats()["echo"]
    assert stats.breaker_open >= 2 and stats.last_error == "echo service down"


def test_unknown_analyzer_and_bad_stage_keys_fail_at_load(make_bridge: Any) -> None:
    with pytest.raises(
        ConfigError, match=r"analyzers.chain\[0\].analyzer: unknown analyzer 'nope'"
    ):
        make_bridge({"analyzers": {"chain": [{"analyzer": "nope"}]}}, Registrar())
    with pytest.raises(ConfigError, match=r"analyzers\.chain\.0\.wen: unknown key"):
        make_bridge({"analyzers": {"chain": [{"analyzer": "echo", "wen": {}}]}}, Registrar())
