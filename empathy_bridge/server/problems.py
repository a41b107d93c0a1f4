"""Errors as RFC 9457 ``application/problem+json``, and the request size limit.

Every error the service returns has the same shape::

    {"type": "https://empathy-bridge.dev/problems/validation", "title": "Invalid request",
     "status": 422, "detail": "body.text: Field required", "instance": "/v1/analyze",
     "errors": [{"loc": ["body", "text"], "msg": "Field required", "type": "missing"}]}

``errors`` appears only for validation problems. Unexpected failures answer 500 with a
generic detail; the traceback goes to the log, never to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PROBLEM_TYPE_BASE", "BodyLimitMiddleware", "Problem", "ProblemError",
           "install_handlers", "problem_response"]

log = logging.getLogger("empathy_bridge.server")

PROBLEM_TYPE_BASE = "https://empathy-bridge.dev/problems/"
MEDIA_TYPE = "application/problem+json"

_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 413: "Request too large",
           415: "Unsupported media type", 422: "Invalid request", 500: "Internal error",
           501: "Not implemented", 503: "Unavailable"}
_SLUGS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
          405: "method-not-allowed", 409: "conflict", 413: "too-large",
          415: "unsupported-media-type", 422: "validation", 500: "internal",
          501: "not-implemented", 503: "unavailable"}


class Problem(BaseModel):
    """The problem+json body of every error response."""

    type: str = Field(description="URI naming the kind of problem.")
    title: str
    status: int
    detail: str = ""
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class ProblemError(Exception):
    """Raise in a handler to answer with a problem+json response."""

    def __init__(self, status: int, detail: str, *, slug: str | None = None,
                 title: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.slug, self.title = status, detail, slug, title
        self.headers = headers


def problem_response(status: int, detail: str, *, instance: str | None = None,
                     slug: str | None = None, title: str | None = None,
                     errors: Sequence[dict[str, Any]] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json response."""
    body = Problem(type=PROBLEM_TYPE_BASE + (slug or _SLUGS.get(status, "error")),
                   title=title or _TITLES.get(status, "Error"), status=status, detail=detail,
                   instance=instance, errors=list(errors) if errors is not None else None)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=MEDIA_TYPE, headers=headers)


def _clean_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in raw[:50]:
        loc = [p if isinstance(p, int | str) else str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return out


def install_handlers(app: FastAPI) -> None:
    """Route every error through :func:`problem_response`."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(exc.status, exc.detail, instance=request.url.path,
                                slug=exc.slug, title=exc.title, headers=exc.headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = _clean_errors(exc.errors())
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"])
        return problem_response(422, f"{where}: {message}" if where else message,
                                instance=request.url.path, errors=errors)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=dict(exc.headers) if exc.headers else None)

    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "the server failed to handle this request; see its log",
                                instance=request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_error)


class _TooLarge(StarletteHTTPException):
    # An HTTPException so that FastAPI's body reader re-raises it instead of answering 400.
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {max_bytes} bytes "
                              "([server] max_body_bytes)")


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(scope, receive, send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, str(_TooLarge(self.max_bytes).detail),
                                    instance=scope.get("path"))
        await response(scope, receive, send)
