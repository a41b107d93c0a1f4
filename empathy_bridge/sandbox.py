"""A base for local platform emulators ("sandboxes") served over real sockets.

Each adapter distribution ships a sandbox of its platform built on :class:`SandboxServer`:
a threaded WSGI server (werkzeug) on loopback, optionally over TLS with a throwaway CA made by
``trustme``, with the features every sandbox needs:

- rate limits per *limit class* (a sliding window of requests), answered with 429 and the
  platform's own headers, which subclasses add in :meth:`SandboxServer.rate_limit_headers`;
- fault injection: a share of 5xx answers, added latency, dropped connections (seeded, so a run
  can be repeated);
- the inspection API under ``/_sandbox/``: ``stats`` (requests by method and path, 429s served,
  faults injected) plus whatever the subclass adds.

Subclasses implement :meth:`SandboxServer.url_map` and endpoint methods ``on_<endpoint>``.
"""

from __future__ import annotations

import collections
import contextlib
import json
import random
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

__all__ = ["FaultConfig", "LimitClass", "SandboxServer", "json_response"]


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print an access-log line per request (stats count them)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the given status and headers."""
    return Response(
        json.dumps(data, separators=(",", ":")),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


class LimitClass:
    """A rate-limit window: at most ``limit`` requests per ``window`` seconds."""

    def __init__(self, name: str, limit: int, window: float) -> None:
        self.name = name
        self.limit = limit
        self.window = window
        self._hits: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def hit(self, now: float) -> tuple[bool, int, float]:
        """Record a request; returns (allowed, remaining, seconds until a slot frees)."""
        with self._lock:
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            if len(self._hits) >= self.limit:
                reset = self._hits[0] + self.window - now
                return False, 0, max(reset, 0.0)
            self._hits.append(now)
            reset = self._hits[0] + self.window - now
            return True, self.limit - len(self._hits), max(reset, 0.0)


class FaultConfig:
    """Fault injection settings: shares are probabilities per request (0..1)."""

    def __init__(
        self,
        error_rate: float = 0.0,
        latency_ms: float = 0.0,
        drop_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.error_rate = error_rate
        self.latency_ms = latency_ms
        self.drop_rate = drop_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self) -> float:
        """A seeded random number in [0, 1)."""
        with self._lock:
            return self._random.random()


class SandboxServer:
    """Base class of platform emulators. Use as a context manager or call start/stop."""

    name: ClassVar[str] = "sandbox"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        tls: bool = False,
        faults: FaultConfig | None = None,
        rate_limits: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.tls = tls
        self.faults = faults or FaultConfig(seed=seed)
        self.rate_limits_enabled = rate_limits
        self.lock = threading.RLock()
        self._stats_lock = threading.Lock()
        self.requests: collections.Counter[str] = collections.Counter()
        self.throttled = 0
        self.faults_injected: collections.Counter[str] = collections.Counter()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_path: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._map = Map(
            [
                Rule("/_sandbox/stats", endpoint="sandbox_stats", methods=["GET"]),
                Rule("/_sandbox/reset-stats", endpoint="sandbox_reset_stats", methods=["POST"]),
                *self.url_map(),
            ],
            strict_slashes=False,
        )

    # -- to implement -----------------------------------------------------------------------

    def url_map(self) -> list[Rule]:
        """The platform's routes; each rule's endpoint ``X`` is served by ``self.on_X``."""
        return []

    def limit_class(self, request: Request, endpoint: str) -> LimitClass | None:
        """The rate-limit window this request counts against, or ``None`` for unlimited."""
        return None

    def rate_limit_headers(self, limit: LimitClass, remaining: int, reset: float) -> dict[str, str]:
        """Platform-specific rate-limit headers for every answer of a limited class."""
        return {}

    def throttled_response(self, limit: LimitClass, reset: float) -> Response:
        """The platform's 429 answer."""
        return json_response(
            {"error": "Too Many Requests"}, 429, {"Retry-After": str(max(1, int(reset + 0.999)))}
        )

    def server_error_response(self) -> Response:
        """The platform's 5xx answer used by fault injection."""
        return json_response({"error": "ServiceUnavailable"}, 503)

    def demo_source_config(self) -> dict[str, Any]:
        """The ``[sources.NAME]`` table the demo uses against this sandbox."""
        return {"adapter": self.name, "base_url": self.url}

    def demo_environment(self) -> dict[str, str]:
        """Environment variables (sandbox credentials) the demo sets for its own process."""
        return {}

    def extra_stats(self) -> dict[str, Any]:
        """Subclass additions to ``/_sandbox/stats``."""
        return {}

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of the running server (``http://127.0.0.1:PORT`` or ``https://...``)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> str:
        """Start serving in a background thread; returns the base URL."""
        ssl_context: ssl.SSLContext | None = None
        if self.tls:
            import trustme

            ca = trustme.CA()
            cert = ca.issue_cert(self.host, "localhost")
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert.configure_cert(ssl_context)
            self._tmp = tempfile.TemporaryDirectory(prefix=f"eb-{self.name}-ca-")
            self.ca_path = Path(self._tmp.name) / "ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_path))
        self._server = make_server(
            self.host,
            self.port,
            self._wsgi,
            threaded=True,
            ssl_context=ssl_context,
            request_handler=_QuietHandler,
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"sandbox-{self.name}", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop the server and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (``empathy-bridge sandbox serve``)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Requests by ``"METHOD path"``, 429s served and faults injected."""
        with self._stats_lock:
            return {
                "requests": dict(self.requests),
                "total_requests": sum(self.requests.values()),
                "throttled": self.throttled,
                "faults": dict(self.faults_injected),
                **self.extra_stats(),
            }

    def reset_stats(self) -> None:
        """Zero the counters (state is kept)."""
        with self._stats_lock:
            self.requests.clear()
            self.throttled = 0
            self.faults_injected.clear()

    def on_sandbox_stats(self, request: Request) -> Response:
        return json_response(self.stats())

    def on_sandbox_reset_stats(self, request: Request) -> Response:
        self.reset_stats()
        return json_response({"ok": True})

    # -- request handling -------------------------------------------------------------------

    def route_key(self, request: Request, rule: Rule | None) -> str:
        """How a request is counted in stats: ``METHOD rule`` (ids folded into placeholders)."""
        path = rule.rule if rule is not None else request.path
        return f"{request.method} {path}"

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            rule, args = adapter.match(return_rule=True)
        except NotFound:
            return self.not_found(request)
        except HTTPException as exc:
            return json_response(
                {"error": exc.name, "description": exc.description}, exc.code or 400
            )
        endpoint = str(rule.endpoint)
        inspection = endpoint.startswith("sandbox_")
        if not inspection:
            with self._stats_lock:
                self.requests[self.route_key(request, rule)] += 1
            fault = self._inject_fault(request)
            if fault is not None:
                return fault
        headers: dict[str, str] = {}
        if not inspection and self.rate_limits_enabled:
            limit = self.limit_class(request, endpoint)
            if limit is not None:
                allowed, remaining, reset = limit.hit(time.monotonic())
                headers = self.rate_limit_headers(limit, remaining, reset)
                if not allowed:
                    with self._stats_lock:
                        self.throttled += 1
                    response = self.throttled_response(limit, reset)
                    response.headers.update(headers)
                    return response
        try:
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = json_response(
                {"error": exc.name, "description": exc.description}, exc.code or 400
            )
        response.headers.update(headers)
        return response

    def not_found(self, request: Request) -> Response:
        """Answer for unknown paths (platform-shaped in subclasses)."""
        return json_response({"error": "NotFound", "path": request.path}, 404)

    def _inject_fault(self, request: Request) -> Response | None:
        faults = self.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000.0)
        if faults.drop_rate and faults.draw() < faults.drop_rate:
            with self._stats_lock:
                self.faults_injected["dropped"] += 1
            sock = request.environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return Response(b"", status=500)
        if faults.error_rate and faults.draw() < faults.error_rate:
            with self._stats_lock:
                self.faults_injected["5xx"] += 1
            return self.server_error_response()
        return None
