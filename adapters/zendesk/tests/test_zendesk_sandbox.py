"""The sandbox serves Zendesk's paths, shapes, pagination, errors and limits."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import requests

from empathy_bridge_zendesk.sandbox import SANDBOX_TOKEN, ZendeskSandbox
from empathy_bridge_zendesk.seed import AGENTS, BOT_USER_ID, GROUPS, build

AUTH = ("agent@sandbox.example.com/token", SANDBOX_TOKEN)


def _get(sandbox: ZendeskSandbox, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sandbox.url}{path}", params=params, auth=AUTH, timeout=10)


def test_export_pages_split_same_second_tickets_without_loss(sandbox: ZendeskSandbox) -> None:
    # One bulk update stamps its tickets with the second it ran in (six tickets: even if the
    # clock ticks over mid-call, one side holds at least three).
    answer = requests.put(
        f"{sandbox.url}/api/v2/tickets/update_many.json", auth=AUTH, timeout=10,
        json={"tickets": [{"id": tid, "additional_tags": ["bulk"]} for tid in range(10, 16)]},
    ).json()
    job = _get(sandbox, f"/api/v2/job_statuses/{answer['job_status']['id']}.json").json()
    assert job["job_status"]["status"] == "completed"
    stamps = collections.Counter(t["generated_timestamp"] for t in sandbox.data.tickets.values())
    group = max(stamps.values())
    assert group >= 3, "a bulk update should stamp several tickets with one second"
    seen: list[int] = []
    url: str | None = (
        f"{sandbox.url}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page={group - 1}"
    )
    split = False
    while url:
        page = requests.get(url, auth=AUTH, timeout=10).json()
        assert set(page) >= {"tickets", "after_url", "after_cursor", "end_of_stream"}
        assert page["after_url"].startswith(sandbox.url)  # absolute, on its own host
        ticks = [t["generated_timestamp"] for t in page["tickets"]]
        assert ticks == sorted(ticks)
        # The cursor resumes within a second, so a page never grows past per_page.
        assert len(ticks) <= group - 1
        split |= bool(ticks) and stamps[ticks[-1]] == group and ticks.count(ticks[-1]) < group
        seen.extend(t["id"] for t in page["tickets"])
        url = None if page["end_of_stream"] else page["after_url"]
    assert split and sorted(seen) == sorted(sandbox.data.tickets)


def test_update_bumps_the_ticket_to_the_end_of_the_export(sandbox: ZendeskSandbox) -> None:
    first = _get(sandbox, "/api/v2/incremental/tickets/cursor.json", start_time=0).json()
    assert first["end_of_stream"]
    answer = requests.put(
        f"{sandbox.url}/api/v2/tickets/update_many.json",
        auth=AUTH,
        timeout=10,
        json={"tickets": [{"id": 4, "additional_tags": ["x"]}]},
    ).json()
    assert answer["job_status"]["status"] == "queued"
    job = _get(sandbox, f"/api/v2/job_statuses/{answer['job_status']['id']}.json").json()
    assert job["job_status"]["status"] == "completed"
    assert job["job_status"]["results"][0]["success"] is True
    after = requests.get(first["after_url"], auth=AUTH, timeout=10).json()
    assert [t["id"] for t in after["tickets"]] == [4] and "x" in after["tickets"][0]["tags"]
    events = _get(
        sandbox,
        "/api/v2/incremental/ticket_events.json",
        start_time=after["tickets"][0]["generated_timestamp"],
    ).json()
    assert events["ticket_events"][-1]["ticket_id"] == 4


def test_errors_are_zendesk_shaped(sandbox: ZendeskSandbox) -> None:
    many = _get(sandbox, "/api/v2/tickets/show_many.json", ids=",".join(map(str, range(1, 102))))
    assert many.status_code == 400 and many.json()["error"] == "TooManyValues"
    big = requests.put(
        f"{sandbox.url}/api/v2/tickets/update_many.json",
        auth=AUTH,
        timeout=10,
        json={"tickets": [{"id": i} for i in range(1, 102)]},
    )
    assert big.status_code == 400 and big.json()["max_count"] == 100
    missing = _get(sandbox, "/api/v2/tickets/999999.json")
    assert missing.status_code == 404 and missing.json()["error"] == "RecordNotFound"
    assert _get(sandbox, "/api/v2/tickets/7.json").status_code == 404  # deleted
    anonymous = requests.get(f"{sandbox.url}/api/v2/users/900.json", timeout=10)
    assert anonymous.status_code == 401


def test_429_with_retry_after_and_stats(start_sandbox: Callable[..., ZendeskSandbox]) -> None:
    sandbox = start_sandbox(rate_limits=True, export_limit=1)
    assert _get(sandbox, "/api/v2/incremental/ticket_events.json", start_time=0).ok
    limited = _get(sandbox, "/api/v2/incremental/ticket_events.json", start_time=0)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert limited.headers["ratelimit-remaining"] == "0"
    stats = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()
    assert stats["throttled"] == 1
    assert stats["requests"]["GET /api/v2/incremental/ticket_events.json"] == 2


def test_seeded_account_is_varied(start_sandbox: Callable[..., ZendeskSandbox]) -> None:
    sandbox = start_sandbox(records=400)
    data = sandbox.data
    tags = collections.Counter(tag for t in data.tickets.values() for tag in t["tags"])
    for state in (
        "frustration",
        "confusion",
        "anxiety",
        "disappointment",
        "satisfaction",
        "general",
        "escalated",
        "reopened",
        "bot_answered",
    ):
        assert tags[state] > 0, state
    assert {t["assignee_id"] for t in data.tickets.values()} <= {a for a, _ in AGENTS}
    assert len({t["group_id"] for t in data.tickets.values()}) == len(GROUPS)
    assert any(t["priority"] is None for t in data.tickets.values())
    authors = {c["author_id"] for cs in data.comments.values() for c in cs}
    assert BOT_USER_ID in authors
    assert {r["score"] for r in data.ratings} == {"good", "bad"}
    assert any(not c["public"] for cs in data.comments.values() for c in cs)
    state = requests.get(f"{sandbox.url}/_sandbox/tickets/9", timeout=10).json()
    assert state["comment_count"] >= 1 and "custom_field_values" in state


def test_seed_keeps_same_second_groups_small_and_nothing_after_now() -> None:
    # Closures and survey answers due after "now" are not stamped "now": that piled ~1 % of the
    # account into one second (53 audits at 3,000 tickets, 17,800 at a million), which the
    # time-based events export must serve as one page.
    data = build(3, 3000)
    events = collections.Counter(stamp for stamp, *_ in data.events)
    assert max(events.values()) <= 10
    assert all(t["generated_timestamp"] <= data.anchor for t in data.tickets.values())
    assert all(stamp <= data.anchor for stamp in events)
    statuses = collections.Counter(t["status"] for t in data.tickets.values())
    assert statuses["closed"] > 0 and statuses["solved"] > 0 and data.ratings
