"""Concurrent single-text analyses are grouped; a failing text fails only its own request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from empathy_bridge.engine import Bridge
from empathy_bridge.errors import SkippableError
from empathy_bridge.schemas import EmotionalContext
from empathy_bridge.server.batching import AnalyzeBatcher

TEXTS = [f"Order {n} is late again, I am really annoyed!" for n in range(12)]


def test_concurrent_requests_share_analyzer_calls(bridge: Bridge) -> None:
    calls: list[int] = []

    def analyze_many(texts: list[str], **fields: Any) -> list[EmotionalContext]:
        calls.append(len(texts))
        return bridge.analyze_many(texts, **fields)

    batcher = AnalyzeBatcher(analyze_many)

    async def main() -> list[EmotionalContext]:
        return await asyncio.gather(*(batcher.analyze(t, channel="chat") for t in TEXTS))

    contexts = asyncio.run(main())
    assert contexts == bridge.analyze_many(TEXTS, channel="chat")  # same answers, same order
    assert sum(calls) == len(TEXTS) and len(calls) < len(TEXTS)


def test_different_fields_are_not_mixed(bridge: Bridge) -> None:
    batcher = AnalyzeBatcher(bridge.analyze_many)

    async def main() -> list[EmotionalContext]:
        return await asyncio.gather(batcher.analyze("thanks!", author_role="agent"),
                                    batcher.analyze("thanks!", author_role="customer"))

    agent, customer = asyncio.run(main())
    assert agent.author_role.value == "agent" and customer.author_role.value == "customer"


def test_a_failing_text_fails_only_its_request(bridge: Bridge) -> None:
    def analyze_many(texts: list[str], **fields: Any) -> list[EmotionalContext]:
        if "poison" in texts:
            raise SkippableError("analysis of item poison failed")
        return bridge.analyze_many(texts, **fields)

    batcher = AnalyzeBatcher(analyze_many)

    async def main() -> list[Any]:
        return await asyncio.gather(batcher.analyze("fine, thanks"), batcher.analyze("poison"),
                                    batcher.analyze("all good"), return_exceptions=True)

    good, bad, other = asyncio.run(main())
    assert isinstance(good, EmotionalContext) and isinstance(other, EmotionalContext)
    assert isinstance(bad, SkippableError)
    with pytest.raises(SkippableError):
        raise bad
