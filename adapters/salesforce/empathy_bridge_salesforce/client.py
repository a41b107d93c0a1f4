"""The adapter's connection to Salesforce: session, API-usage tracking and error translation.

simple-salesforce is used as it is: ``Salesforce(instance_url=..., session_id=..., session=...)``
makes no login call and sends every request through our :class:`requests.Session`. The session

- trusts ``ca_bundle`` when configured (pinned, because requests otherwise lets a
  ``REQUESTS_CA_BUNDLE`` environment variable override ``Session.verify``);
- applies a default timeout (requests has none);
- reads ``Sforce-Limit-Info: api-usage=N/M`` from every response in a response hook.

:meth:`SalesforceClient.call` runs one API call under the shared retry policy, refusing to
start it once the configured share of the daily allowance is used, and translates every
simple-salesforce and requests error into :mod:`empathy_bridge.errors`.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from empathy_bridge.adapter import ApiCallCounter
from empathy_bridge.errors import (
    AuthenticationError,
    ConfigError,
    EmpathyBridgeError,
    FatalError,
    QuotaExhaustedError,
    RetriableError,
)
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.secrets import Secrets
from empathy_bridge_salesforce.config import SalesforceConfig

__all__ = ["SalesforceApiError", "SalesforceClient", "error_details", "parse_limit_info"]

T = TypeVar("T")
log = logging.getLogger("empathy_bridge_salesforce")

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_VERSION_PREFIX = re.compile(r"^/services/data/v\d+\.\d+")
_LOCATOR = re.compile(r"/query/[^/]+$")
_RECORD_ID = re.compile(r"/[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


class SalesforceApiError(FatalError):
    """Salesforce rejected a whole request (HTTP 400/404/414); ``code`` is its errorCode."""

    def __init__(self, message: str, *, code: str | None, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """``(used, total)`` from a ``Sforce-Limit-Info`` header, or ``None``."""
    match = _USAGE.search(header or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def error_details(content: Any) -> tuple[str | None, str]:
    """``(errorCode, message)`` of a Salesforce error body (a list of ``{message, errorCode}``)."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, Mapping):
        code = first.get("errorCode")
        message = first.get("message")
        return (str(code) if code else None), str(message or "").split("\n")[0]
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return None, str(content or "")[:200]


class _Session(requests.Session):
    """A requests session with a default timeout and, when given, a pinned CA bundle."""

    def __init__(self, ca_bundle: str | None, timeout: float) -> None:
        super().__init__()
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        if ca_bundle:
            self.verify = ca_bundle

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._ca_bundle and verify is None:
            # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE beat Session.verify; the configured
            # bundle is the more specific instruction.
            settings["verify"] = self._ca_bundle
        return settings


class SalesforceClient:
    """One org connection: a simple-salesforce client plus quota tracking and retries."""

    def __init__(self, config: SalesforceConfig, secrets: Secrets, counter: ApiCallCounter,
                 source_name: str, policy: RetryPolicy | None = None) -> None:
        if not config.base_url:
            raise ConfigError(f"sources.{source_name}.base_url: set the org's instance URL, e.g. "
                              "'https://yourcompany.my.salesforce.com'")
        self.config = config
        self.source_name = source_name
        self.counter = counter
        self.policy = policy or RetryPolicy(attempts=config.retry_attempts,
                                            initial_wait=config.retry_initial_wait,
                                            max_seconds=config.retry_max_seconds)
        token = secrets.require(config.session_id_env, "Salesforce session id / access token")
        self.session = _Session(config.ca_bundle, config.timeout_seconds)
        self.session.hooks["response"].append(self._on_response)
        self.sf = Salesforce(instance_url=config.base_url, session_id=token.get_secret_value(),
                             session=self.session, version=config.api_version)
        self.usage: tuple[int, int] | None = None
        self._usage_at = 0.0
        #: Salesforce's clock at the last answer (its ``Date`` header), for time windows that
        #: must not depend on this machine's clock.
        self.server_time: datetime | None = None

    # -- quota --------------------------------------------------------------------------------

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.usage = usage
            self._usage_at = time.monotonic()
        date = response.headers.get("Date")
        if date:
            try:
                when = parsedate_to_datetime(date)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                self.server_time = when.astimezone(UTC)
        method = response.request.method or "GET"
        self.counter.add(method, _route(response.request.url or ""))

    def begin_cycle(self) -> None:
        """Forget the last usage reading: the first call of a cycle takes a fresh one."""
        self.usage = None

    def resume_at(self) -> datetime:
        """When a paused source should try again."""
        return datetime.now(UTC) + timedelta(minutes=self.config.quota_pause_minutes)

    def check_quota(self) -> None:
        """Raise :class:`QuotaExhaustedError` once ``quota_share`` of the allowance is used."""
        if self.usage is None:
            return
        if time.monotonic() - self._usage_at > self.config.quota_pause_minutes * 60:
            return  # a stale reading: the rolling window has moved on; measure again
        used, total = self.usage
        if total > 0 and used >= self.config.quota_share * total:
            resume = self.resume_at()
            raise QuotaExhaustedError(
                f"Salesforce API usage is {used:,} of {total:,} daily requests "
                f"({used / total:.0%}), at the configured quota_share of "
                f"{self.config.quota_share:.0%}: pausing until {resume:%Y-%m-%d %H:%M} UTC",
                resume_at=resume)

    # -- calls --------------------------------------------------------------------------------

    def call(self, what: str, fn: Callable[[], T], *, retry: bool = True) -> T:
        """Run ``fn`` (one API call) with quota check, retries and error translation.

        :param what: what the call does, for error messages ("querying cases").
        :param retry: retry under the shared policy; writes pass ``False`` because the engine
            retries them itself, re-reading first what already landed.
        """
        def attempt() -> T:
            self.check_quota()
            try:
                return fn()
            except (SalesforceError, requests.RequestException, ValueError) as exc:
                raise self.translate(exc, what) from exc

        return self.policy.call(attempt) if retry else attempt()

    def translate(self, exc: Exception, what: str) -> EmpathyBridgeError:
        """The empathy-bridge error for a simple-salesforce or requests error."""
        env = self.config.session_id_env
        if isinstance(exc, SalesforceExpiredSession):
            return AuthenticationError(
                f"Salesforce rejected the session while {what} (INVALID_SESSION_ID: expired or "
                f"invalid): refresh credentials by setting {env} to a new session id / access "
                "token")
        if isinstance(exc, SalesforceRefusedRequest):
            code, message = error_details(exc.content)
            if code == "REQUEST_LIMIT_EXCEEDED":
                resume = self.resume_at()
                return QuotaExhaustedError(
                    f"Salesforce daily API allowance exhausted while {what} "
                    f"(REQUEST_LIMIT_EXCEEDED): paused until {resume:%Y-%m-%d %H:%M} UTC, when "
                    "the rolling 24-hour window has freed requests", resume_at=resume)
            return FatalError(f"Salesforce refused {what} ({code or 'HTTP 403'}: {message}): "
                              "check the integration user's profile and permission sets")
        if isinstance(exc, SalesforceMalformedRequest):
            code, message = error_details(exc.content)
            hint = (": run `empathy-bridge fields check`"
                    if code in ("INVALID_FIELD", "INVALID_TYPE") else "")
            return SalesforceApiError(f"Salesforce rejected {what} ({code}: {message}){hint}",
                                      code=code, status=400)
        if isinstance(exc, SalesforceResourceNotFound):
            code, message = error_details(exc.content)
            return SalesforceApiError(
                f"Salesforce answered 404 while {what} ({code}: {message}): check base_url and "
                f"api_version ({self.config.api_version})", code=code, status=404)
        if isinstance(exc, SalesforceGeneralError):
            code, message = error_details(exc.content)
            if exc.status == 429 or exc.status >= 500:
                return RetriableError(f"Salesforce answered HTTP {exc.status} while {what} "
                                      f"({code or 'no code'}: {message})")
            return SalesforceApiError(f"Salesforce answered HTTP {exc.status} while {what} "
                                      f"({code or 'no code'}: {message})",
                                      code=code, status=exc.status)
        if isinstance(exc, requests.exceptions.SSLError) and _verify_failed(exc):
            return FatalError(f"TLS verification of {self.config.base_url} failed while {what}: "
                              "set ca_bundle to the CA certificate file the server's certificate "
                              "chains to")
        if isinstance(exc, requests.RequestException):
            return RetriableError(f"connection to Salesforce failed while {what}: "
                                  f"{type(exc).__name__}")
        if isinstance(exc, SalesforceError):
            return FatalError(f"Salesforce error while {what}: {type(exc).__name__}")
        return RetriableError(f"Salesforce answered {what} with a body that is not valid JSON")

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()


def _verify_failed(exc: BaseException) -> bool:
    """Whether a TLS error is a certificate verification failure (not a dropped connection)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__ or next(
            (a for a in getattr(current, "args", ()) if isinstance(a, BaseException)), None)
    return False


def _route(url: str) -> str:
    """A stable, id-free path for API call counts: ``/query``, ``/query/{locator}``, ..."""
    path = _VERSION_PREFIX.sub("", urlsplit(url).path).rstrip("/") or "/"
    path = _LOCATOR.sub("/query/{locator}", path)
    return _RECORD_ID.sub("/{id}", path)
