"""Prometheus metrics of the service: requests, latencies, queue and outbox state.

Each app has its own :class:`prometheus_client.CollectorRegistry`, so several apps in one
process (tests) never clash. Store-backed gauges are read at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from empathy_bridge.engine import Bridge
from empathy_bridge.server.queue import EventQueue

__all__ = ["Metrics", "MetricsMiddleware"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _StoreCollector(Collector):
    """Outbox depth, dead letters, webhook queue and quota state, read from the store."""

    def __init__(self, bridge: Callable[[], Bridge | None],
                 events: Callable[[], EventQueue | None]) -> None:
        self._bridge = bridge
        self._events = events

    def collect(self) -> Iterator[GaugeMetricFamily]:
        bridge = self._bridge()
        if bridge is None:
            return
        store = bridge.store
        outbox = GaugeMetricFamily("empathy_bridge_outbox_pending",
                                   "Field updates waiting in the outbox", labels=["source"])
        letters = GaugeMetricFamily("empathy_bridge_dead_letters",
                                    "Dead letters stored", labels=["source"])
        paused = GaugeMetricFamily(
            "empathy_bridge_source_paused",
            "1 when the source's last cycle paused on an exhausted platform quota",
            labels=["source"])
        for source in bridge.source_configs:
            outbox.add_metric([source], store.pending_count(source))
            letters.add_metric([source], store.dead_letter_count(source))
        for run in store.source_runs():
            paused.add_metric([str(run["source"])], 1.0 if run.get("last_status") == "paused"
                              else 0.0)
        queue = GaugeMetricFamily("empathy_bridge_webhook_events",
                                  "Webhook events in the queue by status", labels=["status"])
        events = self._events()
        counts = events.counts() if events is not None else {}
        for status in ("pending", "done", "failed"):
            queue.add_metric([status], counts.get(status, 0))
        yield outbox
        yield letters
        yield paused
        yield queue


class Metrics:
    """The registry and the instruments of one app."""

    def __init__(self, bridge: Callable[[], Bridge | None],
                 events: Callable[[], EventQueue | None] = lambda: None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("empathy_bridge_http_requests", "HTTP requests handled",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("empathy_bridge_http_request_seconds",
                                 "Time to answer HTTP requests", ["method", "route"],
                                 buckets=_BUCKETS, registry=self.registry)
        self.webhooks = Counter("empathy_bridge_webhooks", "Webhook deliveries by outcome",
                                ["platform", "outcome"], registry=self.registry)
        self.registry.register(_StoreCollector(bridge, events))


class MetricsMiddleware:
    """Count and time every HTTP request, labelled by route template (not raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            # Unmatched paths share one label so that scanners cannot explode the cardinality.
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
