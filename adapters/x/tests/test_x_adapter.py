"""The X adapter against the X sandbox over real sockets: fetch, cursors, limits, replies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from empathy_bridge.errors import AuthenticationError, QuotaExhaustedError
from empathy_bridge.schemas import AuthorRole, FieldUpdate
from empathy_bridge_x.adapter import XAdapter, XCursor
from empathy_bridge_x.api import XRequestError
from empathy_bridge_x.sandbox import SANDBOX_CREDENTIALS, XSandbox


def all_ids(adapter: XAdapter, cursor: str | None = None) -> list[str]:
    return [i.native_id for b in adapter.fetch(cursor) for i in b.interactions]


def test_fetch_pulls_mentions_and_searches_over_the_transport(
        x_sandbox: XSandbox, x_adapter: XAdapter) -> None:
    batches = list(x_adapter.fetch(None))
    interactions = [i for b in batches for i in b.interactions]
    by_id = {i.native_id: i for i in interactions}
    seeds = x_sandbox.seed_ids
    assert by_id[seeds["angry"]].author is not None
    assert by_id[seeds["angry"]].author.followers == 251_000
    # The brand's own reply comes in through the search stream, as an agent message.
    assert by_id[seeds["happy_reply"]].author_role is AuthorRole.AGENT
    assert by_id[seeds["happy_reply"]].conversation_id == seeds["happy"]
    # Deleted and protected posts never appear; the posts replying to them still do.
    assert seeds["deleted_root"] not in by_id and seeds["protected_root"] not in by_id
    assert by_id[seeds["after_deleted"]].in_reply_to == seeds["deleted_root"]
    kinds = {e["resource_id"]: e["kind"] for e in x_adapter.partial_errors}
    assert kinds == {seeds["deleted_root"]: "deleted", seeds["protected_root"]: "protected"}
    assert by_id[seeds["spanish"]].language == "es"
    assert by_id[seeds["emoji"]].text == "@AcmeSupport 😡😡😡"
    assert len(by_id) == len(interactions), "a post matching two streams came twice"
    assert all(b.failures == [] for b in batches)
    stats = x_sandbox.stats()["requests"]
    assert stats["GET /2/users/<uid>/mentions"] == x_adapter.api_calls.snapshot()[
        "GET /2/users/1000000000000000001/mentions"]


def test_since_id_cursor_returns_only_new_posts(x_sandbox: XSandbox, x_adapter: XAdapter) -> None:
    batches = list(x_adapter.fetch(None))
    cursor = batches[-1].cursor
    assert all_ids(x_adapter, cursor) == []
    new = x_sandbox.inject_outage_spike(3)
    assert sorted(all_ids(x_adapter, cursor)) == sorted(new)


def test_pagination_cursor_resumes_mid_run_without_losing_posts(
        x_sandbox: XSandbox, make_x_adapter: Any) -> None:
    adapter = make_x_adapter(x_sandbox, page_size=10, search_queries=[])
    everything = all_ids(adapter)
    first = next(iter(adapter.fetch(None)))
    state = XCursor.parse(first.cursor).streams["mentions"]
    assert state.next_token and state.since_id is None and state.newest_id
    resumed = [i.native_id for i in first.interactions] + all_ids(adapter, first.cursor)
    assert sorted(resumed) == sorted(everything)
    # After the run completes, since_id is the newest post of the whole run.
    final = list(adapter.fetch(first.cursor))[-1].cursor
    assert XCursor.parse(final).streams["mentions"].since_id == max(everything, key=int)


def test_unreadable_cursor_starts_over(x_adapter: XAdapter) -> None:
    assert sorted(all_ids(x_adapter, "not json")) == sorted(all_ids(x_adapter, None))


def test_rate_limit_waits_for_the_window_and_goes_on(make_x_adapter: Any) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        import time
        time.sleep(min(seconds, 2.5))

    with XSandbox(seed=7, window_seconds=1.0, limits={"mentions": 1}) as sandbox:
        adapter = make_x_adapter(sandbox, page_size=10, search_queries=[], sleep=sleep)
        ids = all_ids(adapter)
        assert len(ids) == len(set(ids)) > 10
        assert waits, "the adapter never waited for the rate window"
        window = adapter.api.windows["GET /2/users/:id/mentions"]
        assert window.limit == 1
        assert adapter.api.preemptive_waits + adapter.api.throttled >= 1


def test_429_beyond_the_longest_wait_pauses_with_a_resume_time(make_x_adapter: Any) -> None:
    with XSandbox(seed=7, window_seconds=900, limits={"mentions": 1}) as sandbox:
        adapter = make_x_adapter(sandbox, page_size=10, search_queries=[],
                               max_rate_limit_wait_seconds=5, sleep=lambda s: None)
        with pytest.raises(QuotaExhaustedError, match="paused until") as caught:
            all_ids(adapter)
        assert caught.value.resume_at is not None


def test_429_body_and_headers_are_what_x_sends() -> None:
    with XSandbox(seed=7, limits={"search": 1}) as sandbox:
        headers = {"Authorization": f"Bearer {SANDBOX_CREDENTIALS['X_BEARER_TOKEN']}"}
        url = f"{sandbox.url}/2/tweets/search/recent"
        assert httpx.get(url, params={"query": "acme"}, headers=headers).status_code == 200
        response = httpx.get(url, params={"query": "acme"}, headers=headers)
        assert response.status_code == 429
        assert response.json() == {"title": "Too Many Requests", "detail": "Too Many Requests",
                                   "type": "about:blank", "status": 429}
        assert response.headers["x-rate-limit-limit"] == "1"
        assert response.headers["x-rate-limit-remaining"] == "0"
        assert int(response.headers["x-rate-limit-reset"]) > 0
        assert sandbox.stats()["throttled"] == 1


def test_wrong_bearer_token_is_an_authentication_error(
        x_sandbox: XSandbox, make_x_adapter: Any) -> None:
    adapter = make_x_adapter(x_sandbox, environ={"X_BEARER_TOKEN": "nope"})
    with pytest.raises(AuthenticationError, match="X rejected the credentials"):
        all_ids(adapter)


def test_missing_secret_names_the_variable(x_sandbox: XSandbox, make_x_adapter: Any) -> None:
    adapter = make_x_adapter(x_sandbox, environ={})
    with pytest.raises(AuthenticationError, match="X_BEARER_TOKEN"):
        all_ids(adapter)


def test_invalid_search_query_is_a_config_error(x_sandbox: XSandbox, make_x_adapter: Any) -> None:
    from empathy_bridge.errors import ConfigError
    adapter = make_x_adapter(x_sandbox, search_queries=["(acme OR"], include_mentions=False)
    with pytest.raises(ConfigError, match=r"sources\.x: X rejected"):
        all_ids(adapter)


def test_post_reply_is_posted_once_and_found_again(x_sandbox: XSandbox,
                                                   x_adapter: XAdapter) -> None:
    target = x_sandbox.seed_ids["angry"]
    posted = x_adapter.post_reply(target, "@TechReviewerMax So sorry, Max. Please DM us.",
                                  draft_id="d1")
    assert [p["id"] for p in x_sandbox.posted] == [posted.native_id]
    assert x_sandbox.posted[0]["in_reply_to_tweet_id"] == target
    again = x_adapter.post_reply(target, "@TechReviewerMax So sorry, Max. Please DM us.",
                                 draft_id="d1", reconcile=True)
    assert again == posted and len(x_sandbox.posted) == 1
    assert x_sandbox.stats()["requests"]["POST /2/tweets"] == 1


def test_lost_answer_after_a_post_is_reconciled_not_reposted(
        x_sandbox: XSandbox, make_x_adapter: Any) -> None:
    adapter = make_x_adapter(x_sandbox, sleep=lambda s: None)
    httpx.post(f"{x_sandbox.url}/_sandbox/faults", params={"lose_post_answers": "1"})
    # X gives the text back with the link on t.co and "&"/">" escaped: still recognised.
    posted = adapter.post_reply(x_sandbox.seed_ids["confused"], "@confused_carl It is under "
                                "Billing > Address & Profile: https://help.acme.example/billing",
                                draft_id="d2")
    assert len(x_sandbox.posted) == 1 and x_sandbox.posted[0]["id"] == posted.native_id
    assert x_sandbox.stats()["requests"]["POST /2/tweets"] == 1
    assert x_sandbox.stats()["requests"]["GET /2/users/<uid>/tweets"] == 1


def test_replies_to_deleted_or_protected_posts_are_refused(x_sandbox: XSandbox,
                                                           x_adapter: XAdapter) -> None:
    for key in ("deleted_root", "protected_root"):
        with pytest.raises(XRequestError, match="deleted or not visible"):
            x_adapter.post_reply(x_sandbox.seed_ids[key], f"hello {key}", draft_id=key)
    assert x_sandbox.posted == []


def test_posting_needs_user_credentials(x_sandbox: XSandbox, make_x_adapter: Any) -> None:
    adapter = make_x_adapter(x_sandbox, environ={"X_BEARER_TOKEN": "sandbox-x-app-bearer"})
    with pytest.raises(AuthenticationError, match="X_CONSUMER_KEY"):
        adapter.post_reply(x_sandbox.seed_ids["angry"], "hi", draft_id="d3")


def test_x_has_no_writable_fields(x_adapter: XAdapter) -> None:
    update = FieldUpdate(source="x", record_id="1", field="priority", value="high")
    [result] = x_adapter.apply([update, update])
    assert not result.success and result.error_code == "unsupported"


def test_oauth_signature_is_verified_by_the_sandbox(x_sandbox: XSandbox,
                                                    make_x_adapter: Any) -> None:
    environ = {**SANDBOX_CREDENTIALS, "X_CONSUMER_SECRET": "not-the-secret"}
    adapter = make_x_adapter(x_sandbox, environ=environ)
    with pytest.raises(AuthenticationError, match="X rejected the credentials for POST"):
        adapter.post_reply(x_sandbox.seed_ids["angry"], "hello", draft_id="d4")
    assert x_sandbox.posted == []
