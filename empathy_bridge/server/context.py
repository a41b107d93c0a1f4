"""What every request handler shares: the bridge, settings, keys, queue, worker and metrics.

One :class:`ServiceContext` per app. The ``/v1`` handlers reach it through FastAPI dependencies;
:func:`require_key` authenticates the caller and yields the tenant its key is scoped to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from empathy_bridge.engine import Bridge
from empathy_bridge.server.batching import AnalyzeBatcher
from empathy_bridge.server.keys import ApiKey, ApiKeys
from empathy_bridge.server.observability import Metrics
from empathy_bridge.server.problems import ProblemError
from empathy_bridge.server.queue import EventQueue
from empathy_bridge.server.settings import ServerSettings
from empathy_bridge.server.worker import Worker
from empathy_bridge.server.worker_process import WorkerProcess
from empathy_bridge.server.writer import QueueWriter

__all__ = ["Caller", "ServiceContext", "context", "require_key"]


@dataclass
class ServiceContext:
    """Shared state of one app. ``bridge`` is ``None`` only in a spec-only app (OpenAPI export)."""

    settings: ServerSettings
    bridge: Bridge | None = None
    #: The webhook queue (opened with the bridge), its writer thread and the worker in this
    #: process (a thread, or stepped by tests); ``worker_process`` when it runs apart.
    events: EventQueue | None = None
    writer: QueueWriter | None = None
    worker: Worker | None = None
    worker_process: WorkerProcess | None = None
    metrics: Metrics = field(init=False)
    batcher: AnalyzeBatcher = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(lambda: self.bridge, lambda: self.events)
        self.batcher = AnalyzeBatcher(lambda texts, **fields: self.require_bridge().analyze_many(
            texts, **fields))

    def require_bridge(self) -> Bridge:
        """The bridge, or a 503 problem when the app was built without one."""
        if self.bridge is None:
            raise ProblemError(503, "this app was built without a configuration")
        return self.bridge

    @property
    def keys(self) -> ApiKeys:
        """API key operations on the bridge's store."""
        return ApiKeys(self.require_bridge().store)

    @property
    def queue(self) -> EventQueue:
        """The webhook event queue, or a 503 problem when the app has no configuration."""
        if self.events is None:
            raise ProblemError(503, "this app was built without a configuration")
        return self.events

    def require_writer(self) -> QueueWriter:
        """The queue's writer thread, or a 503 problem when the app has no configuration."""
        if self.writer is None:
            raise ProblemError(503, "this app was built without a configuration")
        return self.writer

    def notify_worker(self) -> None:
        """Wake whichever worker runs: an event was queued."""
        if self.worker_process is not None:
            self.worker_process.notify()
        elif self.worker is not None:
            self.worker.notify()

    def tenant_sources(self, tenant: str) -> list[str]:
        """Names of the configured sources that belong to ``tenant``."""
        bridge = self.require_bridge()
        return sorted(name for name, cfg in bridge.source_configs.items() if cfg.tenant == tenant)


async def context(request: Request) -> ServiceContext:
    """The app's :class:`ServiceContext` (a FastAPI dependency).

    Async, like :func:`require_key`, so FastAPI runs it on the event loop instead of paying a
    thread hop per request.
    """
    ctx = request.app.state.empathy_bridge
    assert isinstance(ctx, ServiceContext)
    return ctx


@dataclass(frozen=True)
class Caller:
    """An authenticated API caller."""

    key: ApiKey

    @property
    def tenant(self) -> str:
        """The tenant the key is scoped to."""
        return self.key.tenant


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer eb_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="An API key, as an alternative to the bearer header.")


async def require_key(
    ctx: Annotated[ServiceContext, Depends(context)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Caller:
    """Authenticate the request's API key; 401 problem when missing, unknown or revoked.

    The lookup is one indexed read (SQLite in WAL mode never waits for writers), cheap enough
    to run on the event loop.
    """
    token = bearer.credentials if bearer is not None else header
    challenge = {"WWW-Authenticate": 'Bearer realm="empathy-bridge"'}
    if not token:
        raise ProblemError(401, "send an API key: `Authorization: Bearer <key>` (create one "
                                "with `empathy-bridge keys create`)", headers=challenge)
    key = ctx.keys.verify(token)
    if key is None:
        raise ProblemError(401, "the API key is unknown or revoked", headers=challenge)
    return Caller(key)
