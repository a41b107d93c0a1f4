"""The HTTP edge: a zenpy client per source, re-targeted to ``base_url``, errors translated.

zenpy builds ``https://{subdomain}.zendesk.com/api/v2/...``. Instead of the process-wide
``ZENPY_FORCE_NETLOC`` override, each client gets its own :class:`requests.Session` with a
:class:`BaseUrlAdapter` mounted on that origin, which sends the request to the configured
``base_url`` over a real socket. Two tenants in one process therefore never share a target.

Retries belong to :class:`empathy_bridge.retry.RetryPolicy`, not to zenpy or urllib3: the
transport turns urllib3 retries off and hides ``Retry-After`` from zenpy (which would otherwise
sleep in place, uncounted and unbounded) by moving it to :data:`RETRY_AFTER_HEADER`; the
boundary reads it back into :class:`RetriableError.retry_after`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import msgspec
import requests
from requests.adapters import HTTPAdapter
from zenpy import Zenpy
from zenpy.lib.exception import APIException, ZenpyException

from empathy_bridge.adapter import ApiCallCounter
from empathy_bridge.errors import (
    AuthenticationError,
    FatalError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.gc_pause import paused_gc
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.secrets import Secrets
from empathy_bridge_zendesk.config import ZendeskConfig

__all__ = [
    "RETRY_AFTER_HEADER",
    "BaseUrlAdapter",
    "ZendeskHttp",
    "build_session",
    "decode_body",
    "translate_api_error",
    "vendor_origin",
]

log = logging.getLogger("empathy_bridge_zendesk")

#: Where the transport keeps a 429's ``Retry-After`` so that zenpy does not sleep on it.
RETRY_AFTER_HEADER = "X-Empathy-Bridge-Retry-After"

T = TypeVar("T")


class BaseUrlAdapter(HTTPAdapter):
    """A requests transport that sends ``https://{sub}.zendesk.com/...`` to ``base_url``.

    Mounted on one session only, so the rewrite is per client. It also counts every request it
    sends (the adapter's ``api_calls``) and disables urllib3's own retries.
    """

    def __init__(self, vendor_origin: str, base_url: str | None, counter: ApiCallCounter) -> None:
        super().__init__(max_retries=0, pool_connections=4, pool_maxsize=8)
        self.vendor_origin = vendor_origin.rstrip("/")
        target = urlsplit(base_url.rstrip("/")) if base_url else None
        self._target = target
        self.counter = counter

    def rewrite(self, url: str) -> str:
        """The URL the request really goes to."""
        if self._target is None or not url.startswith(self.vendor_origin):
            return url
        parts = urlsplit(url)
        path = self._target.path + parts.path
        return urlunsplit((self._target.scheme, self._target.netloc, path, parts.query, ""))

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
             ) -> requests.Response:
        """Re-target, count, send, and hide ``Retry-After`` from zenpy's in-place sleep."""
        request.url = self.rewrite(str(request.url))
        self.counter.add(str(request.method), _path_key(str(request.url)))
        response = super().send(request, *args, **kwargs)
        if response.status_code == 429 and "Retry-After" in response.headers:
            response.headers[RETRY_AFTER_HEADER] = response.headers.pop("Retry-After")
        return response


def _path_key(url: str) -> str:
    """Count key of a URL: its path with ids folded, so counts group by endpoint.

    Job ids (``V3-...``) are folded too: one key per job would grow the counter, and the sync
    report copied from it, with every 100 tickets written.
    """
    parts = urlsplit(url).path.split("/")
    folded = ["{id}" if part.isdigit() else part for part in parts]
    if len(parts) >= 2 and parts[-2] == "job_statuses":
        folded[-1] = "{id}.json" if parts[-1].endswith(".json") else "{id}"
    return "/".join(folded)


def translate_api_error(exc: BaseException, what: str) -> Exception:
    """The core error for a zenpy / requests failure while doing ``what``.

    :returns: the exception to raise (``raise translate_api_error(e, ...) from e``).
    """
    if isinstance(exc, APIException):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", 0) or 0
        code, detail = _error_body(response)
        if status == 429:
            retry_after = _retry_after(response)
            return RetriableError(f"Zendesk rate limit reached while {what}",
                                  retry_after=retry_after)
        if status in (401, 403):
            return AuthenticationError(
                f"Zendesk refused the credentials (HTTP {status}) while {what}: check the email "
                "and the token variable named by token_env / oauth_token_env")
        if status >= 500 or status in (408, 409):
            return RetriableError(f"Zendesk answered HTTP {status} while {what}")
        if status == 404 or code == "RecordNotFound":
            return SkippableError(f"Zendesk has no such record while {what} ({detail})",
                                  code=code or "RecordNotFound")
        if code == "TooManyValues":
            return FatalError(f"Zendesk rejected too many values while {what}: {detail}")
        return SkippableError(f"Zendesk rejected the request while {what}: HTTP {status} "
                              f"{code or ''} {detail}".strip(), code=code or str(status))
    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else 0
        if status == 429:
            return RetriableError(f"Zendesk rate limit reached while {what}",
                                  retry_after=_retry_after(exc.response))
        if status in (401, 403):
            return AuthenticationError(f"Zendesk refused the credentials (HTTP {status}) while "
                                       f"{what}: check token_env / oauth_token_env")
        if status >= 500 or status == 0:
            return RetriableError(f"Zendesk answered HTTP {status} while {what}")
        return SkippableError(f"Zendesk answered HTTP {status} while {what}", code=str(status))
    if isinstance(exc, requests.Timeout):
        return RetriableError(f"Zendesk did not answer in time while {what}")
    if isinstance(exc, requests.ConnectionError):
        return RetriableError(f"connection to Zendesk failed while {what}")
    if isinstance(exc, requests.RequestException):
        return RetriableError(f"HTTP error talking to Zendesk while {what}: "
                              f"{type(exc).__name__}")
    if isinstance(exc, ZenpyException):
        return FatalError(f"zenpy failed while {what}: {str(exc)[:200]}")
    if isinstance(exc, ValueError):
        # A 2xx answer that is not JSON: a proxy page or a truncated body; worth one more try.
        return RetriableError(f"Zendesk sent an unreadable answer while {what}")
    return FatalError(f"unexpected error while {what}: {type(exc).__name__}: {exc}")


def _error_body(response: Any) -> tuple[str | None, str]:
    if response is None:
        return None, ""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    error = body.get("error")
    code = error if isinstance(error, str) else None
    detail = body.get("description") or body.get("details") or ""
    if isinstance(error, dict):
        code = str(error.get("title") or "")
        detail = str(error.get("message") or "")
    return code, str(detail)[:300]


def _retry_after(response: Any) -> float | None:
    if response is None:
        return None
    value = response.headers.get(RETRY_AFTER_HEADER) or response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class ZendeskHttp:
    """JSON calls through a real zenpy client, each under the shared :class:`RetryPolicy`.

    zenpy's request layer (``_call_api``: its status checks and error types) sends every
    request; the object layer is bypassed for the bulk paths because building a zenpy object
    per ticket and comment would dominate a 10,000-ticket sync.
    """

    def __init__(self, config: ZendeskConfig, secrets: Secrets, session: requests.Session,
                 policy: RetryPolicy | None = None) -> None:
        self.config = config
        self.policy = policy or RetryPolicy(attempts=config.retry_attempts,
                                            max_seconds=config.retry_max_seconds)
        self.vendor_origin = vendor_origin(config)
        self.session = session
        self.client = _build_zenpy(config, secrets, session)
        self._api = self.client.tickets

    @property
    def api_root(self) -> str:
        """``https://{subdomain}.zendesk.com/api/v2`` (re-targeted by the transport)."""
        return f"{self.vendor_origin}/api/v2"

    def url(self, path: str) -> str:
        """Absolute vendor URL of an API path like ``/tickets/show_many.json``."""
        return self.api_root + path

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` under the retry policy with errors translated to the core's."""

        def attempt() -> T:
            try:
                return fn()
            except (APIException, ZenpyException, requests.RequestException, ValueError) as exc:
                raise translate_api_error(exc, what) from exc

        return self.policy.call(attempt)

    def get(self, url: str, what: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``url`` (absolute) and return the decoded JSON."""
        return self.call(what, lambda: self._send(self.session.get, url, params=params))

    def put(self, url: str, payload: Any, what: str) -> Any:
        """PUT JSON and return the decoded JSON answer."""
        return self.call(what, lambda: self._send(self.session.put, url, json=payload))

    def post(self, url: str, payload: Any, what: str) -> Any:
        """POST JSON and return the decoded JSON answer."""
        return self.call(what, lambda: self._send(self.session.post, url, json=payload))

    def _send(self, method: Callable[..., requests.Response], url: str, **kwargs: Any) -> Any:
        """One request through zenpy's request layer, decoded; not retried, not translated
        (callers that need several requests per attempt wrap them in :meth:`call`)."""
        return decode_body(self._send_raw(method, url, **kwargs))

    def _send_raw(self, method: Callable[..., requests.Response], url: str, **kwargs: Any
                  ) -> bytes:
        """:meth:`_send` without the decoding: the answer's bytes (``b""`` when empty)."""
        response = self._api._call_api(method, url, timeout=self.config.timeout_seconds,
                                       **kwargs)
        return response.content or b""

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()


def decode_body(content: bytes) -> Any:
    """The decoded JSON of an answer's bytes; an empty answer is ``{}``."""
    return _decode(content) if content else {}


def _decode(content: bytes) -> Any:
    """JSON of an answer, with the cyclic GC paused while a page of ~1 MB is built.

    Decoding creates tens of thousands of containers; each young-generation collection would
    walk the half-built page again (a third of the fetch time on 1,000-item pages). Decoded JSON
    holds no reference cycles, so nothing is lost by pausing the collector for these ~5 ms.

    msgspec decodes a page in half the standard library's time, to the same objects (exact
    big integers, correctly rounded floats, the last of repeated keys). What it refuses and the
    standard library accepts (NaN, a byte-order mark, lone surrogates, ``1e400``) and what is
    not JSON at all go to :func:`json.loads`, so every answer decodes, or fails with the same
    ``ValueError``, as before.
    """
    with paused_gc():
        try:
            return msgspec.json.decode(content)
        except msgspec.DecodeError:
            return json.loads(content)


def vendor_origin(config: ZendeskConfig) -> str:
    """``https://{subdomain}.zendesk.com``: the origin zenpy builds every URL on."""
    return f"https://{config.subdomain}.zendesk.com"


def build_session(config: ZendeskConfig, counter: ApiCallCounter) -> requests.Session:
    """A session whose vendor-origin transport sends to ``base_url``; no credentials yet.

    Built before any secret is read so the engine can wrap its transports (API budget) when it
    creates the adapter.
    """
    session = requests.Session()
    origin = vendor_origin(config)
    session.mount(origin, BaseUrlAdapter(origin, config.base_url, counter))
    # after_url / next_page links point at base_url's own host; count and pool them too.
    if config.base_url:
        target = urlsplit(config.base_url)
        session.mount(f"{target.scheme}://{target.netloc}",
                      BaseUrlAdapter(origin, None, counter))
    return session


def _build_zenpy(config: ZendeskConfig, secrets: Secrets, session: requests.Session) -> Any:
    kwargs: dict[str, Any] = {"subdomain": config.subdomain, "session": session,
                              "timeout": config.timeout_seconds, "disable_cache": True}
    if config.oauth_token_env:
        kwargs["oauth_token"] = secrets.require(config.oauth_token_env,
                                                "Zendesk OAuth token").get_secret_value()
    else:
        assert config.token_env is not None  # guaranteed by ZendeskConfig's validator
        if not config.email:
            raise AuthenticationError(
                "Zendesk token auth needs the agent's email: set email = \"...\" in the source "
                "table (or use oauth_token_env)")
        kwargs["email"] = config.email
        kwargs["token"] = secrets.require(config.token_env, "Zendesk API token").get_secret_value()
    try:
        return Zenpy(**kwargs)
    except ZenpyException as exc:
        raise FatalError(f"could not build the zenpy client: {type(exc).__name__}") from exc
