"""The shared retry policy: Retry-After honoured, bounded, fatal errors never retried, one log
line per retry."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from empathy_bridge.errors import (
    AuthenticationError,
    FatalError,
    QuotaExhaustedError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.retry import RetryPolicy


class Flaky:
    """Fails with the given errors in turn, then returns ``"ok"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retries_retriable_errors_then_succeeds() -> None:
    slept: list[float] = []
    flaky = Flaky(RetriableError("503"), RetriableError("connection reset"))
    assert RetryPolicy(sleep=slept.append).call(flaky) == "ok"
    assert flaky.calls == 3
    assert len(slept) == 2


def test_honours_retry_after_from_the_platform() -> None:
    slept: list[float] = []
    flaky = Flaky(RetriableError("429", retry_after=17.0))
    RetryPolicy(sleep=slept.append, max_wait=2.0).call(flaky)
    # The server's hint wins over the (smaller) backoff cap, plus a little jitter.
    assert 17.0 <= slept[0] <= 17.0 + 0.2


def test_retry_after_is_capped_by_the_total_time_budget() -> None:
    slept: list[float] = []
    flaky = Flaky(RetriableError("429", retry_after=3600.0))
    RetryPolicy(sleep=slept.append, max_seconds=60.0).call(flaky)
    assert slept == [60.0]


def test_backoff_is_bounded_and_jittered() -> None:
    slept: list[float] = []
    flaky = Flaky(*[RetriableError("503") for _ in range(5)])
    RetryPolicy(sleep=slept.append, attempts=6, initial_wait=0.5, max_wait=4.0).call(flaky)
    assert len(slept) == 5
    assert all(0 <= s <= 4.0 for s in slept)


def test_gives_up_after_the_attempts_and_reraises_the_last_error() -> None:
    slept: list[float] = []
    flaky = Flaky(*[RetriableError(f"503 #{n}") for n in range(10)])
    with pytest.raises(RetriableError, match="503 #3"):
        RetryPolicy(sleep=slept.append, attempts=4).call(flaky)
    assert flaky.calls == 4


def test_total_time_bound_stops_retrying() -> None:
    flaky = Flaky(*[RetriableError("503") for _ in range(10)])
    with pytest.raises(RetriableError):
        RetryPolicy(sleep=lambda _: None, attempts=10, max_seconds=0.0).call(flaky)
    assert flaky.calls == 1


@pytest.mark.parametrize(
    "error",
    [
        FatalError("bad config"),
        AuthenticationError("token expired: set ZENDESK_API_TOKEN"),
        SkippableError("record malformed"),
        QuotaExhaustedError("daily allowance spent", resume_at=datetime.now(UTC)),
        ValueError("a bug"),
    ],
)
def test_never_retries_anything_but_retriable_errors(error: Exception) -> None:
    slept: list[float] = []
    flaky = Flaky(error)
    with pytest.raises(type(error)):
        RetryPolicy(sleep=slept.append).call(flaky)
    assert flaky.calls == 1
    assert slept == []


def test_each_retry_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky(RetriableError("503 one"), RetriableError("503 two"))
    with caplog.at_level(logging.WARNING, logger="empathy_bridge.retry"):
        RetryPolicy(sleep=lambda _: None).call(flaky)
    lines = [r.getMessage() for r in caplog.records if r.name == "empathy_bridge.retry"]
    assert len(lines) == 2
    assert "503 one" in lines[0] and "503 two" in lines[1]
    assert "attempt 1 of 6" in lines[0]
