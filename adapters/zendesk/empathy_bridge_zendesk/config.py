"""The ``[sources.NAME]`` table of a Zendesk source, validated strictly.

Secrets are never in this table: ``token_env`` / ``oauth_token_env`` name the environment
variables (or secrets-file keys) that hold them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from empathy_bridge.adapter import SourceConfig
from empathy_bridge.budget import RateLimit

__all__ = [
    "DEFAULT_BOT_CHANNELS",
    "PLAN_REQUESTS_PER_MINUTE",
    "FieldIds",
    "FieldTypes",
    "ZendeskConfig",
    "plan_limits",
]

#: Zendesk Suite plan -> API requests per minute (the incremental exports: 10, or 30 on
#: High Volume).
PLAN_REQUESTS_PER_MINUTE = {"team": 200, "growth": 400, "professional": 400, "enterprise": 700,
                            "high_volume": 2500}

Plan = Literal["team", "growth", "professional", "enterprise", "high_volume"]


def plan_limits(plan: str | None) -> dict[str, RateLimit]:
    """Endpoint class -> limit for the engine's API budget; empty (no budget) for ``None``."""
    if plan is None:
        return {}
    return {"default": RateLimit(PLAN_REQUESTS_PER_MINUTE[plan], 60.0),
            "incremental_export": RateLimit(30 if plan == "high_volume" else 10, 60.0)}

#: ``via.channel`` values of comments written by Zendesk's bots rather than by a person.
DEFAULT_BOT_CHANNELS: tuple[str, ...] = (
    "answer_bot",
    "answer_bot_api",
    "answer_bot_for_agents",
    "answer_bot_for_sdk",
    "answer_bot_for_slack",
    "answer_bot_for_web_widget",
    "ai_agent",
)


class FieldIds(BaseModel):
    """Ids of the ticket custom fields we write; a missing id means "do not write it"."""

    model_config = ConfigDict(extra="forbid")

    sentiment: int | None = Field(default=None, gt=0, description="Decimal field, -1..1.")
    state: int | None = Field(default=None, gt=0, description="Text field: emotional state.")
    intensity: int | None = Field(default=None, gt=0, description="Decimal field, 0..1.")
    tier: int | None = Field(default=None, gt=0, description="Text field: calm..critical.")

    def configured(self) -> dict[str, int]:
        """Field name -> id for the fields that have an id."""
        return {name: value for name, value in self.model_dump().items() if value is not None}


FieldType = Literal["decimal", "text"]


class FieldTypes(BaseModel):
    """Zendesk field type used when ``fields create`` provisions each field."""

    model_config = ConfigDict(extra="forbid")

    sentiment: FieldType = "decimal"
    state: FieldType = "text"
    intensity: FieldType = "decimal"
    tier: FieldType = "text"


class ZendeskConfig(SourceConfig):
    """Settings of one Zendesk Support account.

    ``base_url`` (from :class:`SourceConfig`) overrides ``https://{subdomain}.zendesk.com`` for a
    sandbox, proxy or custom domain; requests are re-targeted per client, so two tenants can
    share a process.
    """

    adapter: str = "zendesk"
    subdomain: str = Field(default="sandbox", pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    email: str | None = Field(
        default=None, description="Agent email the API token belongs to (token auth)."
    )
    token_env: str | None = Field(
        default="ZENDESK_API_TOKEN", description="Variable holding the API token (with email)."
    )
    oauth_token_env: str | None = Field(
        default=None, description="Variable holding an OAuth access token (instead of a token)."
    )
    plan: Plan | None = Field(
        default="professional",
        description="Suite plan, sizing the API budget; none disables it (e.g. a sandbox "
        "without limits).",
    )
    start_time: int = Field(
        default=0, ge=0, description="Unix time the first sync starts from (0: everything)."
    )
    per_page: int = Field(default=1000, ge=1, le=1000, description="Tickets per export page.")
    tickets_per_batch: int = Field(
        default=500, ge=1,
        description="Whole tickets per batch handed to the engine (an export page leaves in "
        "slices of this size): bounds the working set of a cycle.",
    )
    fields: FieldIds = Field(default_factory=FieldIds)
    field_types: FieldTypes = Field(default_factory=FieldTypes)
    tag_prefix: str = Field(
        default="eb_", min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$",
        description="Prefix of the tags we own; stale tags with it are removed.",
    )
    write_tags: bool = True
    write_priority: bool = True
    satisfaction_ratings: bool = Field(default=True, description="Pull CSAT as survey messages.")
    bot_channels: list[str] = Field(default_factory=lambda: list(DEFAULT_BOT_CHANNELS))
    bot_user_ids: list[int] = Field(default_factory=list)
    prefetch_pages: bool = Field(
        default=True,
        description="Fetch the export page certain to be read next while the current batch is "
        "worked on (one page ahead per export, one background thread): Zendesk's answer time "
        "overlaps the sync's own work. The calls made are the same either way.",
    )
    orphan_buffer_max: int = Field(
        default=1_000, ge=0,
        description="Comments of tickets not yet exported held in memory; the rest wait in a "
        "temporary file (memory stays flat on large backfills). Only a large backlog fills "
        "it, so it is kept small: 5,000 held comments were ~4 MB more at the peak.",
    )
    timeout_seconds: float = Field(default=60.0, gt=0)
    job_timeout_seconds: float = Field(default=300.0, gt=0)
    retry_attempts: int = Field(default=6, ge=1, le=20)
    retry_max_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _auth_is_complete(self) -> ZendeskConfig:
        if self.oauth_token_env is None and self.token_env is None:
            raise ValueError("set token_env (with email) or oauth_token_env")
        return self
