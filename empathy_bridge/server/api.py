"""The versioned ``/v1`` API: analyze, decide, suggest, customer history, metrics.

Every route needs an API key; data reads are filtered to the sources of the key's tenant, so one
tenant's key can never read another tenant's data.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import and_, select
from starlette.concurrency import run_in_threadpool

from empathy_bridge.engine import Bridge
from empathy_bridge.errors import EmpathyBridgeError, SkippableError
from empathy_bridge.pipeline import ConversationPlan
from empathy_bridge.schemas import AuthorRole, Conversation
from empathy_bridge.server.context import Caller, ServiceContext, context, require_key
from empathy_bridge.server.models import (
    AnalyzeRequest,
    AnalyzeResponse,
    DecideRequest,
    DecideResponse,
    HistoryResponse,
    MetricsResponse,
    SuggestResponse,
    Touchpoint,
)
from empathy_bridge.server.problems import Problem, ProblemError
from empathy_bridge.store import tables as st

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing, unknown or revoked API key."},
    413: {"model": Problem, "description": "Body over the size limit."},
    422: {"model": Problem, "description": "The body failed validation."},
}

router = APIRouter(prefix="/v1", tags=["v1"], responses=_ERRORS)

Ctx = Annotated[ServiceContext, Depends(context)]
Auth = Annotated[Caller, Depends(require_key)]


@router.post("/analyze", response_model=AnalyzeResponse, summary="Emotional context of texts")
async def analyze(body: AnalyzeRequest, ctx: Ctx, caller: Auth) -> AnalyzeResponse:
    """Score one text or a batch: sentiment, emotional state, intensity, tier and cues."""
    # Concurrent single-text calls are analysed together (empathy_bridge.server.batching).
    items = body.items()
    if len(items) > ctx.settings.max_batch:
        raise ProblemError(413, f"{len(items)} texts exceed the batch limit of "
                                f"{ctx.settings.max_batch} ([server] max_batch)")
    fields: dict[str, Any] = {"channel": body.channel, "author_role": body.author_role}
    if body.language:
        fields["language"] = body.language
    bridge = ctx.require_bridge()
    try:
        if len(items) == 1:
            contexts = [await ctx.batcher.analyze(items[0], **fields)]
        else:
            contexts = await run_in_threadpool(lambda: bridge.analyze_many(items, **fields))
    except SkippableError as exc:
        raise ProblemError(422, str(exc), slug="unanalysable") from exc
    return AnalyzeResponse(contexts=contexts)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone columns; the store writes UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _plan(bridge: Bridge, conversation: Conversation) -> ConversationPlan:
    if not any(i.author_role is AuthorRole.CUSTOMER for i in conversation.interactions):
        raise ProblemError(422, "the conversation has no customer message to decide on",
                           slug="no-customer-message")
    try:
        plan = bridge.decide(conversation)
    except EmpathyBridgeError as exc:
        raise ProblemError(422, str(exc), slug="undecidable") from exc
    except (ValueError, OverflowError) as exc:
        # Out-of-range input (e.g. a timestamp near year 9999) that a policy cannot compute on.
        raise ProblemError(422, f"cannot decide on this input: {exc}",
                           slug="undecidable") from exc
    if plan is None:
        raise ProblemError(422, "the conversation has no analysable customer message",
                           slug="no-customer-message")
    return plan


@router.post("/decide", response_model=DecideResponse, summary="Priority, routing and handoff")
def decide(body: DecideRequest, ctx: Ctx, caller: Auth) -> DecideResponse:
    """Priority with SLA due time, routing targets and the bot-to-human handoff decision.

    Send an ``interaction`` or a ``conversation``; messages without a context are analysed
    first. Decisions are for the conversation's latest customer message.
    """
    plan = _plan(ctx.require_bridge(), body.as_conversation())
    d = plan.decisions
    return DecideResponse(interaction_id=plan.interaction.native_id, context=plan.context,
                          trajectory=plan.conversation.trajectory, priority=d.priority,
                          routing=list(d.routing), handoff=d.handoff)


@router.post("/suggest", response_model=SuggestResponse, summary="Reply suggestions")
def suggest(body: DecideRequest, ctx: Ctx, caller: Auth) -> SuggestResponse:
    """Empathy-tiered reply openings for the latest customer message, best first."""
    plan = _plan(ctx.require_bridge(), body.as_conversation())
    return SuggestResponse(interaction_id=plan.interaction.native_id, context=plan.context,
                           suggestions=list(plan.decisions.suggestions))


@router.get("/customers/{customer_id}/history", response_model=HistoryResponse,
            summary="A customer's emotional touchpoints")
def history(
    ctx: Ctx,
    caller: Auth,
    customer_id: Annotated[str, Path(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    since: datetime | None = None,
) -> HistoryResponse:
    """Analysed messages of the customer in the tenant's sources, oldest first."""
    sources = ctx.tenant_sources(caller.tenant)
    if not sources:
        return HistoryResponse(customer_id=customer_id, count=0, touchpoints=[])
    i, a = st.interactions, st.analyses
    query = (select(i.c.source, i.c.native_id, i.c.conversation_id, i.c.channel,
                    i.c.author_role, i.c.created_at, a.c.state, a.c.tier, a.c.sentiment,
                    a.c.intensity)
             .select_from(i.outerjoin(a, and_(a.c.source == i.c.source,
                                              a.c.native_id == i.c.native_id)))
             .where(i.c.customer_id == customer_id, i.c.source.in_(sources),
                    i.c.author_role == AuthorRole.CUSTOMER.value)
             .order_by(i.c.created_at, i.c.native_id).limit(limit))
    if since is not None:
        if since.tzinfo is None:
            raise ProblemError(422, "since: timestamp must include a timezone (e.g. ...Z)")
        query = query.where(i.c.created_at >= since)
    with ctx.require_bridge().store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    points = [Touchpoint.model_validate({**dict(r), "created_at": _aware(r["created_at"])})
              for r in rows]
    return HistoryResponse(customer_id=customer_id, count=len(points), touchpoints=points)


@router.get("/metrics", response_model=MetricsResponse, summary="Empathy metrics",
            responses={501: {"model": Problem, "description": "No metrics module installed."}})
def metrics(
    ctx: Ctx,
    caller: Auth,
    since: datetime | None = None,
    until: datetime | None = None,
) -> MetricsResponse:
    """Empathy metrics of each of the tenant's sources over ``[since, until)``.

    Computed by ``empathy_bridge.metrics`` over its rollups (kept fresh by the daemon or
    ``empathy-bridge metrics``), broken down by source and filtered to the caller's tenant.
    """
    try:
        module = importlib.import_module("empathy_bridge.metrics")
        compute = module.compute_metrics
        query_type = module.MetricQuery
        settings_type = module.MetricsSettings
    except (ImportError, AttributeError):
        raise ProblemError(501, "empathy metrics are not available in this installation: "
                                "the empathy_bridge.metrics module is not installed",
                           slug="metrics-unavailable") from None
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ProblemError(422, f"{name}: timestamp must include a timezone (e.g. ...Z)")
    if since is not None and until is not None and since >= until:
        raise ProblemError(422, "since must be before until")
    bridge = ctx.require_bridge()
    sources = set(ctx.tenant_sources(caller.tenant))
    try:
        found = compute(bridge.store, bridge.config.section("metrics", settings_type),
                        query_type(since=since, until=until, by="source"))
    except EmpathyBridgeError as exc:
        raise ProblemError(422, str(exc)) from exc
    # A breakdown by source, keeping only the tenant's: other tenants' figures never leave.
    return MetricsResponse(metrics=[m.model_dump(mode="json") for m in found
                                    if m.dimension == "source" and m.dimension_value in sources])
