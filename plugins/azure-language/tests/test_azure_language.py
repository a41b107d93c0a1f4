"""Azure AI Language analyzer against the service's documented request and response shapes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from empathy_bridge.analyzers import HttpOptions
from empathy_bridge.errors import AuthenticationError, RetriableError
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.secrets import Secrets
from empathy_bridge_azure_language import plugin
from empathy_bridge_azure_language.analyzer import AzureLanguageAnalyzer, AzureLanguageOptions

ENDPOINT = "https://acme-lang.cognitiveservices.azure.com"
URL = f"{ENDPOINT}/language/:analyze-text"
KEY = "azure-test-key-0123456789"


def result(
    doc_id: str,
    positive: float,
    neutral: float,
    negative: float,
    targets: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    label = max(
        (("positive", positive), ("neutral", neutral), ("negative", negative)), key=lambda p: p[1]
    )[0]
    scores = {"positive": positive, "neutral": neutral, "negative": negative}
    return {
        "id": doc_id,
        "sentiment": label,
        "confidenceScores": scores,
        "warnings": [],
        "sentences": [
            {
                "sentiment": label,
                "confidenceScores": scores,
                "offset": 0,
                "length": 10,
                "text": "...",
                "targets": targets or [],
                "assessments": [],
            }
        ],
    }


def answer_for(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    docs = body["analysisInput"]["documents"]
    assert body["kind"] == "SentimentAnalysis" and body["parameters"]["opinionMining"] is True
    assert len(docs) <= 10
    results = [
        result(
            d["id"],
            0.02,
            0.08,
            0.9,
            [
                {
                    "sentiment": "negative",
                    "text": "delivery",
                    "offset": 4,
                    "length": 8,
                    "confidenceScores": {},
                    "relations": [],
                }
            ],
        )
        if "late" in d["text"]
        else result(d["id"], 0.95, 0.04, 0.01)
        for d in docs
    ]
    return httpx.Response(
        200,
        json={
            "kind": "SentimentAnalysisResults",
            "results": {"documents": results, "errors": [], "modelVersion": "2022-11-01"},
        },
    )


CHAIN = {
    "analyzers": {
        "chain": [{"analyzer": "azure_language", "when": {}, "options": {"endpoint": ENDPOINT}}]
    }
}


@respx.mock
def test_batches_ten_documents_per_request_and_maps_scores(make_bridge: Any) -> None:
    route = respx.post(URL).mock(side_effect=answer_for)
    bridge = make_bridge(CHAIN, plugin, environ={"AZURE_LANGUAGE_KEY": KEY})
    texts = ["The delivery was late again"] * 6 + ["Thanks, great support!"] * 6
    contexts = bridge.analyze_many(texts)
    assert route.call_count == 2  # 12 documents, 10 per request
    assert route.calls[0].request.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert route.calls[0].request.url.params["api-version"] == "2023-04-01"
    late, thanks = contexts[0], contexts[-1]
    assert late.analyzer == "azure_language" and late.analyzer_version == "2022-11-01"
    assert late.sentiment == pytest.approx(0.02 - 0.9)
    assert late.state.value != "satisfaction"
    assert any(c.kind == "negative_opinion" and c.span == "delivery" for c in late.cues)
    assert thanks.sentiment > 0.9 and thanks.state.value == "satisfaction"


@respx.mock
def test_bad_key_falls_back_to_the_builtin_reading_without_leaking_it(make_bridge: Any) -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            401, json={"error": {"code": "401", "message": "Access denied due to invalid key."}}
        )
    )
    bridge = make_bridge(CHAIN, plugin, environ={"AZURE_LANGUAGE_KEY": KEY})
    context = bridge.analyze("The delivery was late again")
    assert context.analyzer != "azure_language"
    stats = bridge.analyzer_chain.stats()["azure_language"]
    assert stats.failed == 1 and "rejected the credentials" in stats.last_error
    assert KEY not in stats.last_error


@respx.mock
def test_429_retry_after_is_honoured_then_succeeds() -> None:
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(
                429,
                headers={"Retry-After": "7"},
                json={"error": {"code": "429", "message": "Rate limit is exceeded."}},
            ),
            answer_for,
        ]
    )
    waits: list[float] = []
    analyzer = AzureLanguageAnalyzer(
        AzureLanguageOptions(endpoint=ENDPOINT),
        Secrets({"AZURE_LANGUAGE_KEY": KEY}),
        RetryPolicy(sleep=waits.append),
    )
    from empathy_bridge import Bridge

    earlier = Bridge.from_config(environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}).analyze_many(["hi"])
    from datetime import UTC, datetime

    from empathy_bridge.schemas import Interaction

    interaction = Interaction(
        source="t", native_id="1", conversation_id="c", text="hi", created_at=datetime.now(UTC)
    )
    assert analyzer.analyze([interaction], [[]], earlier)[0] is not None
    assert len(waits) == 1 and 7 <= waits[0] < 8


@respx.mock
def test_server_errors_and_malformed_json_are_retriable_then_fall_back(make_bridge: Any) -> None:
    route = respx.post(URL).mock(
        side_effect=[
            httpx.Response(503, json={"error": {"code": "ServiceUnavailable", "message": "busy"}}),
            httpx.Response(200, content=b"{not json"),
            httpx.Response(500, text="oops"),
        ]
    )
    from empathy_bridge.analyzers import translate_http_error

    error = translate_http_error(
        httpx.HTTPStatusError(
            "x", request=httpx.Request("POST", URL), response=httpx.Response(503)
        ),
        "Azure",
    )
    assert isinstance(error, RetriableError)
    analyzer_error = translate_http_error(
        httpx.HTTPStatusError(
            "x", request=httpx.Request("POST", URL), response=httpx.Response(403)
        ),
        "Azure",
    )
    assert isinstance(analyzer_error, AuthenticationError)
    bridge = make_bridge(CHAIN, plugin, environ={"AZURE_LANGUAGE_KEY": KEY})
    # The stage's own retries use real sleeps: keep them tiny for the test.
    stage = bridge.analyzer_chain.stages[0]
    stage.analyzer.retry_policy = RetryPolicy(attempts=3, sleep=lambda _s: None)
    context = bridge.analyze("The delivery was late again")
    assert route.call_count == 3
    assert context.analyzer != "azure_language"  # fell back after retries ran out


def test_options_are_validated_at_load(make_bridge: Any) -> None:
    from empathy_bridge.errors import ConfigError

    with pytest.raises(ConfigError, match=r"analyzers.chain\[0\].options.endpoint: required"):
        make_bridge({"analyzers": {"chain": [{"analyzer": "azure_language"}]}}, plugin)
    assert issubclass(AzureLanguageOptions, HttpOptions)
