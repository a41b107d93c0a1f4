"""The X sandbox speaks X API v2: shapes, validation, auth, posting and inspection."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from empathy_bridge_x.sandbox import SANDBOX_CREDENTIALS, XSandbox
from empathy_bridge_x.seed import BRAND_ID

APP = {"Authorization": f"Bearer {SANDBOX_CREDENTIALS['X_BEARER_TOKEN']}"}


def get(sandbox: XSandbox, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{sandbox.url}{path}", params=params, headers=APP)


def test_mentions_have_data_includes_and_meta(x_sandbox: XSandbox) -> None:
    body = get(x_sandbox, f"/2/users/{BRAND_ID}/mentions", max_results=5,
               expansions="author_id", **{"tweet.fields": "author_id,created_at,conversation_id",
                                          "user.fields": "public_metrics"}).json()
    assert len(body["data"]) == 5
    ids = [t["id"] for t in body["data"]]
    assert ids == sorted(ids, key=int, reverse=True), "newest first"
    assert body["meta"]["newest_id"] == ids[0] and body["meta"]["oldest_id"] == ids[-1]
    assert body["meta"]["result_count"] == 5 and body["meta"]["next_token"]
    users = {u["id"]: u for u in body["includes"]["users"]}
    assert {t["author_id"] for t in body["data"]} == set(users)
    assert all("followers_count" in u["public_metrics"] for u in users.values())
    page2 = get(x_sandbox, f"/2/users/{BRAND_ID}/mentions", max_results=5,
                pagination_token=body["meta"]["next_token"]).json()
    assert int(page2["data"][0]["id"]) < int(ids[-1])


def test_empty_page_has_only_a_zero_count(x_sandbox: XSandbox) -> None:
    newest = get(x_sandbox, f"/2/users/{BRAND_ID}/mentions").json()["meta"]["newest_id"]
    body = get(x_sandbox, f"/2/users/{BRAND_ID}/mentions", since_id=newest).json()
    assert body == {"meta": {"result_count": 0}}


@pytest.mark.parametrize(("path", "params", "parameter"), [
    (f"/2/users/{BRAND_ID}/mentions", {"max_results": "3"}, "max_results"),
    ("/2/tweets/search/recent", {"query": "acme", "max_results": "5"}, "max_results"),
    ("/2/tweets/search/recent", {"query": "(acme OR"}, "query"),
    (f"/2/users/{BRAND_ID}/mentions", {"since_id": "abc"}, "since_id"),
])
def test_invalid_parameters_get_xs_400_body(x_sandbox: XSandbox, path: str,
                                            params: dict[str, str], parameter: str) -> None:
    response = get(x_sandbox, path, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid Request"
    assert parameter in body["errors"][0]["parameters"]


def test_search_query_syntax(x_sandbox: XSandbox) -> None:
    def texts(query: str) -> list[str]:
        return [t["text"] for t in get(x_sandbox, "/2/tweets/search/recent", query=query,
                                       max_results=100).json().get("data", [])]

    assert texts("#acmeoutage") == [
        "acme checkout down again? getting errors at payment #acmeoutage"]
    assert all("outage" in t.lower() for t in texts('"outage" -lang:es'))
    assert texts("lang:ja") == ["@AcmeSupport アプリが起動しません。助けてください"]
    assert all(t.startswith("@happy_hana") for t in texts("from:AcmeSupport"))


def test_auth_is_checked(x_sandbox: XSandbox) -> None:
    url = f"{x_sandbox.url}/2/users/{BRAND_ID}/mentions"
    assert httpx.get(url).status_code == 401
    response = httpx.get(url, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401 and response.json()["title"] == "Unauthorized"
    post = httpx.post(f"{x_sandbox.url}/2/tweets", json={"text": "hi"}, headers=APP)
    assert post.status_code == 403 and post.json()["title"] == "Unsupported Authentication"


def test_unknown_path_is_xs_404(x_sandbox: XSandbox) -> None:
    response = get(x_sandbox, "/2/nothing/here")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 34


def test_outage_injection_and_inspection(x_sandbox: XSandbox) -> None:
    injected = httpx.post(f"{x_sandbox.url}/_sandbox/inject/outage",
                          params={"count": "4"}).json()["injected"]
    assert len(injected) == 4
    tweet = httpx.get(f"{x_sandbox.url}/_sandbox/tweets/{injected[0]}").json()
    assert "outage" in tweet["text"]
    assert httpx.get(f"{x_sandbox.url}/_sandbox/posted").json() == {"posted": []}
    stats = httpx.get(f"{x_sandbox.url}/_sandbox/stats").json()
    assert stats["posted"] == 0 and stats["tweets"] >= 22
    assert httpx.post(f"{x_sandbox.url}/_sandbox/inject/outage",
                      params={"count": "x"}).status_code == 400


def test_fault_injection_serves_xs_503() -> None:
    with XSandbox(seed=3, error_rate=1.0) as sandbox:
        response = get(sandbox, f"/2/users/{BRAND_ID}/mentions")
        assert response.status_code == 503
        assert response.json()["title"] == "Service Unavailable"
        assert sandbox.stats()["faults"] == {"5xx": 1}


def test_generated_records_are_seeded_reproducibly() -> None:
    with XSandbox(seed=5, records=30) as one, XSandbox(seed=5, records=30) as two:
        assert len(one.tweets) == len(two.tweets) >= 48
        assert [t["text"] for t in one.tweets.values()] == [t["text"] for t in two.tweets.values()]
