"""OpenAI-compatible chat analyzer: validated JSON, one retry on malformed output, fallback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from empathy_bridge_openai_compatible import plugin

BASE = "http://127.0.0.1:11434/v1"
URL = f"{BASE}/chat/completions"
CHAIN = {
    "analyzers": {
        "chain": [
            {
                "analyzer": "openai_compatible",
                "when": {"min_intensity": 0.0},
                "options": {"base_url": BASE, "model": "llama3"},
            }
        ]
    }
}

GOOD = {
    "state": "anxiety",
    "states": {"anxiety": 0.8, "neutral": 0.1},
    "sentiment": -0.6,
    "intensity": 0.7,
    "tier": "distressed",
    "language": "en",
    "cues": [{"kind": "urgency", "span": "rent is due"}],
}


def completion(content: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "x",
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        },
    )


@respx.mock
def test_valid_answer_becomes_the_context(make_bridge: Any) -> None:
    route = respx.post(URL).mock(return_value=completion("```json\n" + json.dumps(GOOD) + "\n```"))
    bridge = make_bridge(CHAIN, plugin)
    context = bridge.analyze("My rent is due and you charged me twice")
    sent = json.loads(route.calls[0].request.content)
    assert sent["model"] == "llama3" and sent["response_format"] == {"type": "json_object"}
    assert sent["messages"][0]["role"] == "system"
    assert context.analyzer == "openai_compatible" and context.state.value == "anxiety"
    assert context.tier.value == "distressed"
    cue = next(c for c in context.cues if c.detector == "openai_compatible")
    assert cue.span == "rent is due" and cue.start == 3


@respx.mock
def test_malformed_output_is_retried_once_then_falls_back(make_bridge: Any) -> None:
    route = respx.post(URL).mock(
        side_effect=[completion("I think the customer is sad."), completion(json.dumps(GOOD))]
    )
    bridge = make_bridge(CHAIN, plugin)
    assert bridge.analyze("rent is due").analyzer == "openai_compatible"
    assert route.call_count == 2
    bad = {**GOOD, "state": "furious"}
    route2 = respx.post(URL).mock(
        side_effect=[completion(json.dumps(bad)), completion('{"state": ')]
    )
    context = bridge.analyze("rent is due")
    assert route2.call_count == 2 + 2
    assert context.analyzer != "openai_compatible"
    assert bridge.analyzer_chain.stats()["openai_compatible"].malformed == 1


def test_prompt_offers_the_built_in_cue_kinds() -> None:
    # Policies key on cue kinds; a hosted analyzer must name cues the way the default does.
    from empathy_bridge.analysis.cues import AGENT_CUE_KINDS, CUE_KINDS
    from empathy_bridge_openai_compatible.analyzer import SYSTEM_PROMPT

    for kind in (*CUE_KINDS, *AGENT_CUE_KINDS):
        assert f'"{kind}"' in SYSTEM_PROMPT
    assert '"confusion",' not in SYSTEM_PROMPT.split('"cues"')[1]
