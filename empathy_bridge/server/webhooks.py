"""Signed webhook receivers: ``/webhooks/zendesk``, ``/webhooks/x``, ``/webhooks/salesforce``.

A delivery is verified (signature in constant time, timestamp freshness, replay cache), read
into canonical interactions to refuse unreadable bodies at once, then durably queued; the
answer (202) goes out as soon as the queue row is committed (by the queue writer thread,
:mod:`empathy_bridge.server.writer`). The worker does the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from empathy_bridge import signatures as sig
from empathy_bridge.errors import ConfigError, SkippableError
from empathy_bridge.server.context import ServiceContext, context
from empathy_bridge.server.events import interactions_from_event
from empathy_bridge.server.models import WebhookAccepted
from empathy_bridge.server.problems import Problem, ProblemError
from empathy_bridge.server.queue import NewEvent, ReplayError, replay_digest

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not JSON."},
    401: {"model": Problem, "description": "Missing or invalid signature, or stale timestamp."},
    404: {"model": Problem, "description": "No configured source receives this platform."},
    409: {"model": Problem, "description": "Replay: this signed delivery was accepted before."},
    413: {"model": Problem, "description": "Body over the size limit."},
    422: {"model": Problem, "description": "The body cannot be read as interactions."},
    503: {"model": Problem, "description": "The webhook secret is not configured."},
}
_JSON_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "additionalProperties": True}}}}}

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=_ERRORS)

Ctx = Annotated[ServiceContext, Depends(context)]

_DEFAULT_SECRET = {"zendesk": "zendesk_secret_env", "x": "x_consumer_secret_env",
                   "salesforce": "salesforce_secret_env"}


def _source(ctx: ServiceContext, platform: str) -> str:
    bridge = ctx.require_bridge()
    named = ctx.settings.webhook_sources.get(platform)
    if named is not None:
        if named not in bridge.source_configs:
            raise ProblemError(404, f"[server.webhook_sources] {platform} names source "
                                    f"{named!r}, which is not configured")
        return named
    matches = [n for n, c in bridge.source_configs.items() if c.adapter == platform and c.enabled]
    if len(matches) != 1:
        why = "no source uses" if not matches else f"several sources ({', '.join(matches)}) use"
        raise ProblemError(404, f"{why} the {platform} adapter: name the receiving source in "
                                f"[server.webhook_sources] {platform} = \"<source>\"")
    return matches[0]


def _secret(ctx: ServiceContext, platform: str, source: str) -> str:
    settings = ctx.settings
    name = settings.source_secret_env.get(source) or str(getattr(settings,
                                                                 _DEFAULT_SECRET[platform]))
    value = ctx.require_bridge().secrets.get(name)
    if value is None:
        # Names the variable, never a value: the operator knows what to set.
        raise ProblemError(503, f"the {platform} webhook secret is not configured: set {name}",
                           slug="secret-missing")
    return value.get_secret_value()


def _fresh(ctx: ServiceContext, raw: str | None) -> datetime:
    stamp = sig.parse_timestamp(raw)
    if stamp is None:
        raise ProblemError(401, "missing or unreadable signature timestamp", slug="signature")
    skew = abs((datetime.now(UTC) - stamp).total_seconds())
    if skew > ctx.settings.timestamp_tolerance_seconds:
        raise ProblemError(401, f"stale signature timestamp ({int(skew)} s away from now; "
                                f"tolerance {ctx.settings.timestamp_tolerance_seconds} s)",
                           slug="stale-timestamp")
    return stamp


async def _accept(ctx: ServiceContext, platform: str, source: str, body: bytes,
                  signature: str, replay_until: datetime) -> WebhookAccepted:
    try:
        text = body.decode("utf-8")
        payload = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        ctx.metrics.webhooks.labels(platform, "bad_body").inc()
        raise ProblemError(400, "the body is not UTF-8 JSON", slug="bad-body") from None
    bridge = ctx.require_bridge()
    try:
        # Read it now, so that an unreadable body gets a 422 instead of a silent dead letter.
        interactions_from_event(platform, source, payload, bridge.adapter(source))
        # One writer thread commits concurrent deliveries together (server.writer); the
        # answer waits for the commit.
        event_id = await ctx.require_writer().enqueue(NewEvent(
            platform=platform, source=source, tenant=bridge.source_configs[source].tenant,
            payload=text, replay_key=replay_digest(signature, body), replay_until=replay_until))
    except SkippableError as exc:
        ctx.metrics.webhooks.labels(platform, "unreadable").inc()
        raise ProblemError(422, str(exc), slug="unreadable-event") from None
    except ConfigError as exc:
        raise ProblemError(503, str(exc), slug="misconfigured") from None
    except ReplayError:
        ctx.metrics.webhooks.labels(platform, "replay").inc()
        raise ProblemError(409, "replayed delivery: this signature was accepted before",
                           slug="replay") from None
    ctx.metrics.webhooks.labels(platform, "queued").inc()
    ctx.notify_worker()
    return WebhookAccepted(event_id=event_id, source=source)


def _verified(ctx: ServiceContext, platform: str, ok: Callable[[str], bool]) -> str:
    source = _source(ctx, platform)
    if not ok(_secret(ctx, platform, source)):
        ctx.metrics.webhooks.labels(platform, "bad_signature").inc()
        raise ProblemError(401, f"invalid {platform} webhook signature", slug="signature")
    return source


@router.post("/zendesk", status_code=202, response_model=WebhookAccepted,
             summary="Zendesk webhook", openapi_extra=_JSON_BODY)
async def zendesk(
    request: Request,
    ctx: Ctx,
    signature: Annotated[str | None, Header(alias="X-Zendesk-Webhook-Signature")] = None,
    timestamp: Annotated[str | None,
                         Header(alias="X-Zendesk-Webhook-Signature-Timestamp")] = None,
) -> WebhookAccepted:
    """Verify ``X-Zendesk-Webhook-Signature`` over timestamp + body, then queue the event."""
    body = await request.body()
    if not signature or not timestamp:
        raise ProblemError(401, "missing X-Zendesk-Webhook-Signature(-Timestamp) header",
                           slug="signature")
    source = _verified(ctx, "zendesk",
                       lambda secret: sig.verify_zendesk(secret, timestamp, body, signature))
    stamp = _fresh(ctx, timestamp)
    until = max(stamp, datetime.now(UTC)) + timedelta(
        seconds=ctx.settings.timestamp_tolerance_seconds)
    return await _accept(ctx, "zendesk", source, body, signature, until)


@router.get("/x", summary="X CRC challenge")
def x_crc(ctx: Ctx, crc_token: Annotated[str, Query(min_length=1, max_length=500)]
          ) -> dict[str, str]:
    """Answer X's challenge-response check: ``sha256=`` + base64 HMAC of the token."""
    source = _source(ctx, "x")
    return sig.x_crc_response(_secret(ctx, "x", source), crc_token)


@router.post("/x", status_code=202, response_model=WebhookAccepted, summary="X webhook",
             openapi_extra=_JSON_BODY)
async def x_delivery(
    request: Request,
    ctx: Ctx,
    signature: Annotated[str | None, Header(alias="x-twitter-webhooks-signature")] = None,
) -> WebhookAccepted:
    """Verify ``x-twitter-webhooks-signature`` over the body, then queue the event.

    X deliveries carry no timestamp: replays are refused by the signature cache, kept for
    ``replay_retention_seconds``.
    """
    body = await request.body()
    if not signature:
        raise ProblemError(401, "missing x-twitter-webhooks-signature header", slug="signature")
    source = _verified(ctx, "x", lambda secret: sig.verify_x(secret, body, signature))
    until = datetime.now(UTC) + timedelta(seconds=ctx.settings.replay_retention_seconds)
    return await _accept(ctx, "x", source, body, signature, until)


@router.post("/salesforce", status_code=202, response_model=WebhookAccepted,
             summary="Salesforce Flow/Apex callout", openapi_extra=_JSON_BODY)
async def salesforce(
    request: Request,
    ctx: Ctx,
    signature: Annotated[str | None, Header(alias="X-EmpathyBridge-Signature")] = None,
    timestamp: Annotated[str | None, Header(alias="X-EmpathyBridge-Timestamp")] = None,
) -> WebhookAccepted:
    """Verify ``X-EmpathyBridge-Signature`` (HMAC of timestamp + "." + body), then queue."""
    body = await request.body()
    if not signature or not timestamp:
        raise ProblemError(401, "missing X-EmpathyBridge-Signature/-Timestamp header",
                           slug="signature")
    source = _verified(ctx, "salesforce",
                       lambda secret: sig.verify_salesforce(secret, timestamp, body, signature))
    stamp = _fresh(ctx, timestamp)
    until = max(stamp, datetime.now(UTC)) + timedelta(
        seconds=ctx.settings.timestamp_tolerance_seconds)
    return await _accept(ctx, "salesforce", source, body, signature, until)
