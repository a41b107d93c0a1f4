"""The one retry policy every adapter and HTTP plugin shares (tenacity).

Retries :class:`~empathy_bridge.errors.RetriableError` only, with exponential backoff and full
jitter, honouring the platform's ``Retry-After``/reset hint when it gave one, bounded by attempts
and total time. Fatal, skippable and quota errors are never retried. Each retry is logged once,
with the error's one-line message (which never carries secrets).

Adapters wrap every API call::

    from empathy_bridge.retry import RetryPolicy
    policy = RetryPolicy()
    data = policy.call(lambda: client.get(...))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from empathy_bridge.errors import RetriableError

__all__ = ["RetryPolicy"]

T = TypeVar("T")
log = logging.getLogger("empathy_bridge.retry")


@dataclass(frozen=True)
class RetryPolicy:
    """Retry settings; defaults suit interactive platform APIs.

    :param attempts: total attempts, the first included.
    :param max_seconds: give up once this much time has passed since the first attempt.
    :param initial_wait: base of the exponential backoff, in seconds.
    :param max_wait: cap of a single wait (a server's Retry-After above it is still honoured,
        up to ``max_seconds``).
    :param sleep: the sleep function (tests pass a recorder instead of ``time.sleep``).
    """

    attempts: int = 6
    max_seconds: float = 300.0
    initial_wait: float = 0.5
    max_wait: float = 30.0
    sleep: Callable[[float], None] | None = None

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(multiplier=self.initial_wait, max=self.max_wait)(state)
        exc = state.outcome.exception() if state.outcome else None
        hint = getattr(exc, "retry_after", None)
        if isinstance(hint, int | float) and hint > 0:
            return min(float(hint) + backoff * 0.1, self.max_seconds)
        return backoff

    def _log(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "retrying after error (attempt %d of %d, waiting %.1fs): %s",
            state.attempt_number,
            self.attempts,
            wait,
            exc,
        )

    def retrying(self) -> Retrying:
        """A tenacity ``Retrying`` object configured with this policy."""
        kwargs: dict[str, object] = {}
        if self.sleep is not None:
            kwargs["sleep"] = self.sleep
        return Retrying(
            retry=retry_if_exception_type(RetriableError),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_seconds),
            wait=self._wait,
            before_sleep=self._log,
            reraise=True,
            **kwargs,  # type: ignore[arg-type]
        )

    def call(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` under this policy; the last error propagates when attempts run out."""
        return self.retrying()(fn)
