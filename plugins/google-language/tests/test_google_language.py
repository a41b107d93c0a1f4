"""Google Cloud Natural Language analyzer against its documented shapes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from empathy_bridge.retry import RetryPolicy
from empathy_bridge_google_language import plugin

URL = "https://language.googleapis.com/v1/documents:analyzeSentiment"
KEY = "google-test-key-abcdef"
CHAIN = {"analyzers": {"chain": [{"analyzer": "google_language", "when": {}}]}}


def answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    assert body["encodingType"] == "UTF8" and body["document"]["type"] == "PLAIN_TEXT"
    negative = "broken" in body["document"]["content"]
    score = -0.8 if negative else 0.7
    return httpx.Response(
        200,
        json={
            "documentSentiment": {"magnitude": 1.6, "score": score},
            "language": "en",
            "sentences": [
                {
                    "text": {"content": "a", "beginOffset": 0},
                    "sentiment": {"magnitude": 0.8, "score": score},
                }
            ]
            * 2,
        },
    )


@respx.mock
def test_score_and_magnitude_map_onto_the_context(make_bridge: Any) -> None:
    route = respx.post(URL).mock(side_effect=answer)
    bridge = make_bridge(CHAIN, plugin, environ={"GOOGLE_LANGUAGE_API_KEY": KEY})
    broken, fine = bridge.analyze_many(["It is broken, again.", "Works now, thank you!"])
    assert route.call_count == 2
    assert route.calls[0].request.url.params["key"] == KEY
    assert broken.analyzer == "google_language" and broken.sentiment == pytest.approx(-0.8)
    assert broken.confidence == pytest.approx(0.8) and broken.language == "en"
    assert fine.state.value == "satisfaction"


@respx.mock
def test_quota_error_body_falls_back_after_retries(make_bridge: Any) -> None:
    route = respx.post(URL).mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": "0"},
            json={
                "error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}
            },
        )
    )
    bridge = make_bridge(CHAIN, plugin, environ={"GOOGLE_LANGUAGE_API_KEY": KEY})
    bridge.analyzer_chain.stages[0].analyzer.retry_policy = RetryPolicy(
        attempts=2, sleep=lambda _s: None
    )
    context = bridge.analyze("It is broken")
    assert route.call_count == 2 and context.analyzer != "google_language"
    assert "Quota exceeded" in bridge.analyzer_chain.stats()["google_language"].last_error


@respx.mock
def test_bearer_token_and_missing_secret(make_bridge: Any) -> None:
    route = respx.post(URL).mock(side_effect=answer)
    chain = {
        "analyzers": {
            "chain": [
                {
                    "analyzer": "google_language",
                    "when": {},
                    "options": {"access_token_env": "GCP_TOKEN"},
                }
            ]
        }
    }
    bridge = make_bridge(chain, plugin, environ={"GCP_TOKEN": "ya29.token"})
    bridge.analyze("broken")
    assert route.calls[0].request.headers["Authorization"] == "Bearer ya29.token"
    missing = make_bridge(CHAIN, plugin)
    assert missing.analyze("broken").analyzer != "google_language"
    assert "GOOGLE_LANGUAGE_API_KEY" in missing.analyzer_chain.stats()["google_language"].last_error
