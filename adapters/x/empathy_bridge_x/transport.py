"""A requests transport that sends tweepy's hard-coded X host to the configured ``base_url``.

tweepy builds every URL as ``https://api.twitter.com`` + route inside ``Client.request`` and
offers no override, but ``client.session`` is an ordinary :class:`requests.Session`. Mounting
:class:`BaseUrlTransport` on the X hosts rewrites scheme, host and port (keeping path and query)
just before the request goes out over a real socket, so the library code runs unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

__all__ = ["X_HOSTS", "BaseUrlTransport", "mount_base_url"]

#: Hosts tweepy (and newer clients) send X API v2 requests to.
X_HOSTS = ("https://api.twitter.com", "https://api.x.com")


class BaseUrlTransport(HTTPAdapter):
    """Send requests for a vendor host to ``base_url`` instead (path prefix kept, query kept).

    :param base_url: where requests really go, e.g. ``http://127.0.0.1:8123`` or a proxy
        ``https://proxy.example/x``.
    :param verify: CA bundle path or bool used for TLS to ``base_url`` (sandbox CAs).
    """

    def __init__(self, base_url: str, *, verify: bool | str = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        target = urlsplit(base_url.rstrip("/"))
        if target.scheme not in ("http", "https") or not target.netloc:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
        self._target = target
        self._verify = verify
        self.sent = 0

    def rewrite(self, url: str) -> str:
        """The URL ``url`` is sent to: vendor scheme/host replaced, base path prefixed."""
        parts = urlsplit(url)
        path = self._target.path + parts.path
        return urlunsplit((self._target.scheme, self._target.netloc, path, parts.query, ""))

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Rewrite the prepared request's URL, then send it with the normal HTTP adapter.

        OAuth 1.0a signatures were computed over the vendor URL before this point, exactly as a
        real X request would be signed.
        """
        request.url = self.rewrite(request.url or "")
        if request.headers is not None:
            request.headers["Host"] = self._target.netloc
        self.sent += 1
        # tweepy gives no timeout; never let a dead socket hang a sync cycle.
        return super().send(request, stream=stream, timeout=timeout or (10.0, 60.0),
                            verify=self._verify if verify is True else verify, cert=cert,
                            proxies=dict(proxies) if proxies is not None else None)


def mount_base_url(session: requests.Session, base_url: str, *,
                   verify: bool | str = True) -> BaseUrlTransport:
    """Mount a :class:`BaseUrlTransport` for every X host on ``session``; returns it."""
    transport = BaseUrlTransport(base_url, verify=verify)
    for host in X_HOSTS:
        session.mount(host, transport)
    return transport
