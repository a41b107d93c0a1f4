"""API budgets: token buckets sized from plan limits, corrected from headers, no 429s."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from empathy_bridge import hookimpl
from empathy_bridge.adapter import Adapter
from empathy_bridge.budget import (
    ApiBudget,
    BudgetedTransport,
    RateLimit,
    TokenBucket,
    install_budget,
    parse_rate_headers,
)
from empathy_bridge.defaults.example_source import ExampleAdapter
from empathy_bridge.engine import Bridge
from empathy_bridge.errors import QuotaExhaustedError
from empathy_bridge.sandbox import LimitClass, SandboxServer, json_response


class LimitedServer(SandboxServer):
    """A real HTTP server with one sliding-window limit and X-style rate-limit headers."""

    name: ClassVar[str] = "limited"

    def __init__(self, limit: int, window: float, **kwargs: Any) -> None:
        self.limit = LimitClass("api", limit, window)
        super().__init__(**kwargs)

    def url_map(self) -> list[Rule]:
        return [Rule("/items", endpoint="items", methods=["GET", "PUT"])]

    def limit_class(self, request: Request, endpoint: str) -> LimitClass | None:
        return self.limit

    def rate_limit_headers(self, limit: LimitClass, remaining: int, reset: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit.limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(time.time() + reset + 0.999)),
        }

    def on_items(self, request: Request) -> Response:
        return json_response({"ok": True})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_paces_to_stay_under_a_sliding_window() -> None:
    clock = FakeClock()
    bucket = TokenBucket(RateLimit(100, 60.0), clock=clock)
    waits = []
    for _ in range(300):
        wait = bucket.reserve()
        clock.sleep(wait)
        waits.append(clock.now)
    # In any 60 s window we issue at most the plan limit (90% with the default safety).
    for i, start in enumerate(waits):
        in_window = sum(1 for t in waits[i:] if t < start + 60.0)
        assert in_window <= 90


def test_headers_close_the_bucket_until_reset() -> None:
    clock = FakeClock()
    budget = ApiBudget(clock=clock, sleep=clock.sleep)
    budget.set_plan("t", "x", {"default": RateLimit(1000, 60.0)})
    budget.acquire("t", "x", "read")
    budget.observe("t", "x", "read", 200, {"x-rate-limit-remaining": "0", "ratelimit-reset": "30"})
    waited = budget.acquire("t", "x", "read")
    assert waited >= 30.0


def test_429_retry_after_closes_the_bucket() -> None:
    clock = FakeClock()
    budget = ApiBudget(clock=clock, sleep=clock.sleep)
    budget.set_plan("t", "zendesk", {"default": RateLimit(700, 60.0)})
    budget.acquire("t", "zendesk", "write")
    budget.observe("t", "zendesk", "write", 429, {"retry-after": "12"})
    assert budget.throttled == 1
    assert budget.acquire("t", "zendesk", "write") >= 12.0


def test_a_wait_beyond_max_wait_pauses_with_quota_error() -> None:
    clock = FakeClock()
    budget = ApiBudget(clock=clock, sleep=clock.sleep, max_wait=60.0)
    budget.set_plan("t", "salesforce", {"default": RateLimit(15000, 86400.0)})
    budget.acquire("t", "salesforce", "read")
    budget.observe(
        "t",
        "salesforce",
        "read",
        200,
        {"sforce-limit-info": "api-usage=15000/15000", "x-rate-limit-reset": "7200"},
    )
    with pytest.raises(QuotaExhaustedError) as caught:
        budget.acquire("t", "salesforce", "read")
    assert caught.value.resume_at is not None
    assert clock.slept == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-rate-limit-limit": "300", "x-rate-limit-remaining": "299"}, (300, 299)),
        (
            {
                "x-rate-limit": "700",
                "ratelimit-limit": "700",
                "ratelimit-remaining": "12",
                "ratelimit-reset": "40",
            },
            (700, 12),
        ),
        ({"sforce-limit-info": "api-usage=14990/15000"}, (None, 10)),
        ({}, (None, None)),
        ({"x-rate-limit-remaining": "lots"}, (None, None)),
    ],
)
def test_parse_rate_headers(headers: dict[str, str], expected: tuple[Any, Any]) -> None:
    limit, remaining, _ = parse_rate_headers(
        requests.structures.CaseInsensitiveDict(headers), time.time()
    )
    assert (limit, remaining) == expected


def test_reset_as_epoch_or_seconds() -> None:
    now = 1_800_000_000.0
    assert parse_rate_headers({"x-rate-limit-reset": str(int(now) + 90)}, now)[2] == 90
    assert parse_rate_headers({"ratelimit-reset": "15"}, now)[2] == 15


def test_install_budget_wraps_existing_transports_once() -> None:
    session = requests.Session()
    budget = ApiBudget()
    assert install_budget(session, budget, tenant="t", platform="p") == 2
    assert install_budget(session, budget, tenant="t", platform="p") == 0
    assert all(isinstance(a, BudgetedTransport) for a in session.adapters.values())


def _hammer(url: str, session: requests.Session, n: int) -> list[int]:
    return [session.get(f"{url}/items", timeout=10).status_code for _ in range(n)]


def test_a_budgeted_session_sees_no_429_where_a_bare_one_does() -> None:
    with LimitedServer(limit=10, window=1.0) as server:
        bare = requests.Session()
        assert 429 in _hammer(server.url, bare, 25)  # the limit is real
        time.sleep(1.1)  # let the window empty before the budgeted run (not an assertion)
        server.reset_stats()
        session = requests.Session()
        budget = ApiBudget()
        budget.set_plan("acme", "limited", {"default": RateLimit(10, 1.0)})
        install_budget(session, budget, tenant="acme", platform="limited")
        codes = _hammer(server.url, session, 25)
        assert codes == [200] * 25
        assert server.stats()["throttled"] == 0


def test_budget_learns_an_undeclared_limit_from_headers() -> None:
    with LimitedServer(limit=8, window=1.0) as server:
        session = requests.Session()
        budget = ApiBudget()
        install_budget(session, budget, tenant="acme", platform="limited")
        codes = _hammer(server.url, session, 20)
        assert budget.bucket("acme", "limited", "read") is not None
        # The first answer taught the limit; from then on nothing is throttled.
        assert codes.count(429) == 0
        assert server.stats()["throttled"] == 0


class WithSession(ExampleAdapter):
    """An adapter whose vendor client sends through a requests session."""

    name = "with_session"
    plan_limits: ClassVar[Mapping[str, RateLimit]] = {"default": RateLimit(100, 60.0)}

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.session = requests.Session()

    def http_sessions(self) -> list[requests.Session]:
        return [self.session]


class SessionPlugin:
    @hookimpl
    def empathy_bridge_register_adapters(self, register: Callable[[type[Adapter]], None]) -> None:
        register(WithSession)


def test_the_engine_budgets_every_adapter_session(tmp_path: Path) -> None:
    config = {
        "store": {"url": f"sqlite:///{tmp_path / 'b.db'}"},
        "sources": {"s": {"adapter": "with_session", "desk": "budget-engine", "tenant": "acme"}},
    }
    with Bridge.from_config(
        config, environ={"EMPATHY_BRIDGE_NO_AUTOLOAD": "1"}, plugins=[SessionPlugin()]
    ) as bridge:
        assert bridge.sync("s").status == "ok"
        adapter = bridge.adapter("s")
        assert isinstance(adapter, WithSession)
        transports = list(adapter.session.adapters.values())
        assert transports and all(isinstance(t, BudgetedTransport) for t in transports)
        assert all(t.tenant == "acme" and t.platform == "with_session" for t in transports)
        bucket = bridge.budget.bucket("acme", "with_session", "write")
        assert bucket is not None and bucket.limit == RateLimit(100, 60.0)
        bridge.sync("s")  # installing again is a no-op
        assert all(not isinstance(t.inner, BudgetedTransport) for t in transports)


def test_a_zendesk_sync_under_tight_limits_sees_no_429(tmp_path: Path) -> None:
    sandbox_mod = pytest.importorskip("empathy_bridge_zendesk.sandbox")
    # Three export requests per 2 s window: a sync needs several windows' worth of them.
    with sandbox_mod.ZendeskSandbox(
        records=150, seed=4, rate_window_seconds=2.0, export_limit=3
    ) as sandbox:
        source = {**sandbox.demo_source_config(), "per_page": 25}
        config = {
            "store": {"url": f"sqlite:///{tmp_path / 'zd.db'}"},
            "sources": {"zendesk": source},
        }
        env = {"EMPATHY_BRIDGE_PLUGINS": "zendesk", **sandbox.demo_environment()}
        with Bridge.from_config(config, environ=env) as bridge:
            report = bridge.sync("zendesk")
        stats = sandbox.stats()
    assert report.status == "ok" and report.written > 0
    exports = sum(n for key, n in stats["requests"].items() if "/incremental/" in key)
    assert exports > 6  # more than two windows' worth: the limit was in play
    assert stats["throttled"] == 0
