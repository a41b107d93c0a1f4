"""One root exception, subclassed by what the caller must do about it.

The engine decides retry versus dead-letter versus stop *by type*, never by parsing messages.
Adapters translate vendor errors at their boundary with ``raise ... from exc``.

- :class:`FatalError`: stop the cycle; a human must act (bad credentials, missing config).
- :class:`RetriableError`: try again later (connection reset, 5xx, 429).
- :class:`SkippableError`: this one record cannot be processed; dead-letter it and go on.
- :class:`QuotaExhaustedError`: the platform's allowance is spent; pause until ``resume_at``.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "AdapterError",
    "AuthenticationError",
    "ConfigError",
    "EmpathyBridgeError",
    "FatalError",
    "PluginError",
    "QuotaExhaustedError",
    "RetriableError",
    "SkippableError",
    "StoreError",
]


class EmpathyBridgeError(Exception):
    """Root of every error empathy-bridge raises on purpose. Messages are one actionable line."""


class FatalError(EmpathyBridgeError):
    """Stop the current cycle: retrying will not help until someone changes something."""


class ConfigError(FatalError):
    """The configuration is malformed or incomplete; the message names the key and the fix."""


class AuthenticationError(FatalError):
    """Credentials are missing, wrong or expired; the message says which variable to set."""


class PluginError(FatalError):
    """A plugin failed to load or misbehaved; the message names the plugin."""


class StoreError(FatalError):
    """The state store cannot be opened or migrated."""


class AdapterError(EmpathyBridgeError):
    """Base for errors raised at an adapter's boundary."""


class RetriableError(AdapterError):
    """A transient failure: connection errors, HTTP 5xx, HTTP 429.

    :param retry_after: seconds the platform asked us to wait, when it said so.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SkippableError(AdapterError):
    """One record cannot be processed (malformed, deleted, rejected); dead-letter it, go on.

    :param code: the platform's error code, when it gave one.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class QuotaExhaustedError(AdapterError):
    """The platform's allowance is spent: pause cleanly until ``resume_at``, do not retry-loop."""

    def __init__(self, message: str, *, resume_at: datetime | None = None) -> None:
        super().__init__(message)
        self.resume_at = resume_at
