"""The ASGI application: ``/v1`` API, webhooks, health, readiness and Prometheus metrics.

Build it with :func:`create_app` around a :class:`~empathy_bridge.Bridge`; the webhook worker
starts and stops with the app's lifespan. ``empathy-bridge serve`` runs it under uvicorn.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import Depends, FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from empathy_bridge import __version__
from empathy_bridge.engine import Bridge
from empathy_bridge.server import api, webhooks
from empathy_bridge.server.context import ServiceContext, context
from empathy_bridge.server.models import HealthResponse
from empathy_bridge.server.observability import MetricsMiddleware
from empathy_bridge.server.problems import BodyLimitMiddleware, Problem, install_handlers
from empathy_bridge.server.queue import EventQueue
from empathy_bridge.server.settings import ServerSettings
from empathy_bridge.server.worker import Worker
from empathy_bridge.server.worker_process import WorkerProcess, lock_path
from empathy_bridge.server.writer import QueueWriter

__all__ = ["create_app", "openapi_document", "render_openapi"]

API_VERSION = "1"

Ctx = Annotated[ServiceContext, Depends(context)]

#: Where the webhook worker runs (``[server] worker``).
WorkerMode = Literal["process", "thread"]


def create_app(bridge: Bridge | None = None, *, start_worker: bool = True,
               close_bridge: bool = False, worker: WorkerMode | None = None) -> FastAPI:
    """The service around ``bridge`` (``None`` builds a spec-only app for the OpenAPI export).

    :param start_worker: run the webhook worker during the lifespan (tests may pass ``False``
        and call ``app.state.empathy_bridge.worker.step()``).
    :param close_bridge: close the bridge when the app shuts down (the CLI owns it this way).
    :param worker: ``"process"`` or ``"thread"``; default ``[server] worker``. A bridge built
        without a configuration file cannot start a worker process and uses a thread.
    """
    settings = (bridge.config.section("server", ServerSettings) if bridge is not None
                else ServerSettings())
    ctx = ServiceContext(settings=settings, bridge=bridge)
    config_path = bridge.config.path if bridge is not None else None
    mode = worker or settings.worker
    if bridge is not None:
        # The receiving side never checkpoints the queue's log: the worker does (after steps).
        ctx.events = EventQueue.open(bridge, auto_checkpoint=False)
        ctx.writer = QueueWriter(ctx.events)
        ctx.worker = Worker(bridge, ctx.events, batch=settings.worker_batch,
                            idle_seconds=settings.worker_idle_seconds,
                            duty_cycle=settings.worker_duty_cycle)
        if mode == "process" and config_path is not None and start_worker:
            # With the lock file, the server's stop (or restart) need not wait for a busy step.
            ctx.worker_process = WorkerProcess(
                config_path, detach_after=2.0 if lock_path(ctx.events) is not None else None)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if ctx.writer is not None:
            ctx.writer.start()
        if ctx.worker_process is not None:
            ctx.worker_process.start()
        elif ctx.worker is not None and start_worker:
            ctx.worker.start()
        try:
            yield
        finally:
            if ctx.worker_process is not None:
                await run_in_threadpool(ctx.worker_process.stop)
            elif ctx.worker is not None:
                await run_in_threadpool(ctx.worker.stop)
            if ctx.writer is not None:
                await run_in_threadpool(ctx.writer.stop)
            if ctx.events is not None:
                ctx.events.close()
            if bridge is not None and close_bridge:
                bridge.close()

    app = FastAPI(
        title="empathy-bridge",
        version=__version__,
        summary="Emotional context for customer operations: analysis, decisions, webhooks.",
        description="REST API and webhook receiver of empathy-bridge. Errors are "
                    "`application/problem+json` (see the `Problem` schema). "
                    "See docs/server.md.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    app.state.empathy_bridge = ctx
    install_handlers(app)
    app.include_router(api.router)
    app.include_router(webhooks.router)
    _add_operational_routes(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    return app


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", response_model=HealthResponse, tags=["operations"],
             summary="Liveness")
    def healthz() -> HealthResponse:
        """The process is up and answering."""
        return HealthResponse(status="ok")

    @app.get("/readyz", response_model=HealthResponse, tags=["operations"], summary="Readiness",
             responses={503: {"model": HealthResponse, "description": "Store unreachable."}})
    def readyz(ctx: Ctx) -> Response:
        """The store answers a query (and the webhook worker runs, when it should)."""
        bridge = ctx.bridge
        if bridge is None:
            return _health(503, "no configuration loaded")
        try:
            with bridge.store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            return _health(503, f"store unreachable: {type(exc).__name__}")
        if ctx.worker_process is not None and not ctx.worker_process.running:
            return _health(503, "the webhook worker process is not running")
        return _health(200, "")

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                              "description": "Prometheus text exposition format."}})
    def prometheus(ctx: Ctx) -> Response:
        """Request counts and latencies, outbox depth, dead letters, queue and quota state."""
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _health(status: int, detail: str) -> JSONResponse:
    body = HealthResponse(status="ok" if status == 200 else "unavailable", detail=detail)
    return JSONResponse(body.model_dump(), status_code=status)


def openapi_document() -> dict[str, object]:
    """The OpenAPI document of the service (independent of any configuration)."""
    doc = create_app(None).openapi()
    # The Problem schema is referenced by every error; make sure it is present by name.
    doc.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "Problem", Problem.model_json_schema())
    return doc


def render_openapi() -> str:
    """The OpenAPI document as the stable JSON text committed in ``schemas/openapi.json``."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
