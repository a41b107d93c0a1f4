"""The API budget under a vendor client: a requests transport adapter taking a token per request.

See :mod:`empathy_bridge.budget` for the buckets. This module needs ``requests``, so it is
imported only when an adapter's sessions are throttled (``Bridge.sync``), not on every start.
"""

from __future__ import annotations

from collections.abc import Mapping

import requests
from requests.adapters import BaseAdapter

from empathy_bridge.budget import ApiBudget, Classify, default_classify

__all__ = ["BudgetedTransport", "install_budget"]


class BudgetedTransport(BaseAdapter):
    """A requests transport adapter that takes a token before every request it sends.

    It wraps whatever adapter was mounted (retry settings, TLS pinning and test transports keep
    working) and corrects the budget from each answer's headers.
    """

    def __init__(
        self,
        inner: BaseAdapter,
        budget: ApiBudget,
        tenant: str,
        platform: str,
        classify: Classify = default_classify,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.budget = budget
        self.tenant = tenant
        self.platform = platform
        self.classify = classify

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Acquire a token, send through the wrapped adapter, learn from the answer."""
        endpoint = self.classify(request.method or "GET", request.url or "")
        self.budget.acquire(self.tenant, self.platform, endpoint)
        response = self.inner.send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )
        self.budget.observe(
            self.tenant, self.platform, endpoint, response.status_code, response.headers
        )
        return response

    def close(self) -> None:
        """Close the wrapped adapter."""
        self.inner.close()


def install_budget(
    session: requests.Session,
    budget: ApiBudget,
    *,
    tenant: str,
    platform: str,
    classify: Classify = default_classify,
) -> int:
    """Wrap every transport adapter mounted on ``session``; returns how many were wrapped.

    Idempotent: an adapter already wrapped is left alone.
    """
    wrapped = 0
    for prefix, adapter in list(session.adapters.items()):
        if isinstance(adapter, BudgetedTransport):
            continue
        session.mount(prefix, BudgetedTransport(adapter, budget, tenant, platform, classify))
        wrapped += 1
    return wrapped
