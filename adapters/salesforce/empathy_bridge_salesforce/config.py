"""``[sources.NAME]`` keys of a Salesforce Service Cloud source.

Example::

    [sources.salesforce]
    adapter = "salesforce"
    base_url = "https://acme.my.salesforce.com"
    session_id_env = "SALESFORCE_SESSION_ID"

    [sources.salesforce.fields]
    sentiment = "Sentiment__c"
    tier = "Empathy_Tier__c"

The session id (an OAuth access token) is read from the environment variable that
``session_id_env`` names, never from this file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from empathy_bridge.adapter import SourceConfig

__all__ = ["CaseFields", "SalesforceConfig"]

#: Salesforce's standard Case Priority picklist, lowest first.
STANDARD_PRIORITIES: tuple[str, ...] = ("Low", "Medium", "High")


class CaseFields(BaseModel):
    """API names of the Case fields written back; an empty string switches a field off."""

    model_config = ConfigDict(extra="forbid")

    sentiment: str = Field(default="Sentiment__c", description="Number field, -1..1.")
    emotional_state: str = Field(default="Emotional_State__c",
                                 description="Picklist or text: frustration, confusion, ...")
    intensity: str = Field(default="Emotional_Intensity__c", description="Number field, 0..1.")
    tier: str = Field(default="Empathy_Tier__c",
                      description="Picklist or text: calm, concerned, upset, distressed, critical.")
    external_id: str = Field(
        default="Empathy_External_Id__c",
        description="Text field marked External ID; makes create_case idempotent (upsert).",
    )

    def written(self) -> dict[str, str]:
        """Logical name -> API name of the fields that write-back sets (external id excluded)."""
        pairs = {"sentiment": self.sentiment, "emotional_state": self.emotional_state,
                 "intensity": self.intensity, "tier": self.tier}
        return {key: value for key, value in pairs.items() if value}


class SalesforceConfig(SourceConfig):
    """Settings of one Salesforce org. ``base_url`` is the instance URL (My Domain)."""

    adapter: str = "salesforce"
    api_version: str = Field(default="59.0", pattern=r"^\d+\.\d$")
    session_id_env: str = Field(
        default="SALESFORCE_SESSION_ID",
        description="Environment variable holding the session id / OAuth access token.",
    )
    ca_bundle: str | None = Field(
        default=None,
        description="PEM file of CA certificates to trust (a proxy's CA or the sandbox's).",
    )
    timeout_seconds: float = Field(default=60.0, gt=0)
    query_batch_size: int = Field(
        default=2000, ge=200, le=2000,
        description="Records per query page (Sforce-Query-Options batchSize).",
    )
    max_ids_per_query: int = Field(
        default=500, ge=1, le=2000,
        description="Case ids per child query (WHERE ParentId IN ...); keeps the URL under 16 KB.",
    )
    overlap_seconds: int = Field(
        default=120, ge=0, le=86_400,
        description="Re-read window before the cursor, for records committed late.",
    )
    start: str | None = Field(
        default=None,
        description="ISO-8601 timestamp to start from when there is no cursor (default: all).",
    )
    quota_share: float = Field(
        default=0.8, gt=0.0, le=1.0,
        description="Stop a cycle once this share of the daily API allowance is used.",
    )
    quota_pause_minutes: int = Field(
        default=60, ge=1,
        description="How long to pause when the allowance is spent (it is a rolling 24 h window).",
    )
    fields: CaseFields = Field(default_factory=CaseFields)
    write_priority: bool = Field(default=True, description="Raise Case Priority (never lowers).")
    priority_map: dict[str, str] = Field(
        default_factory=lambda: {"low": "Low", "normal": "Medium", "high": "High",
                                 "urgent": "High"},
        description="Canonical priority -> Salesforce picklist value.",
    )
    priority_order: list[str] = Field(
        default_factory=lambda: list(STANDARD_PRIORITIES),
        description="The org's Priority values, lowest first (add e.g. 'Critical' if you have it).",
    )
    create_case_origin: str = Field(default="Web", description="Origin of cases we open.")
    retry_attempts: int = Field(default=5, ge=1, le=20)
    retry_initial_wait: float = Field(default=0.5, ge=0.0)
    retry_max_seconds: float = Field(default=120.0, gt=0)

    @field_validator("start")
    @classmethod
    def _aware_start(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"start must be an ISO-8601 timestamp, got {value!r}") from None
        if parsed.tzinfo is None:
            raise ValueError(f"start must carry a timezone (e.g. '{value}+00:00'); naive "
                             "timestamps are ambiguous")
        return value

    @model_validator(mode="after")
    def _check_priorities(self) -> Self:
        unknown_keys = set(self.priority_map) - {"low", "normal", "high", "urgent"}
        if unknown_keys:
            raise ValueError(f"priority_map keys must be low, normal, high, urgent; got "
                             f"{sorted(unknown_keys)}")
        missing = sorted(set(self.priority_map.values()) - set(self.priority_order))
        if missing:
            raise ValueError(f"priority_map values {missing} are not in priority_order; add them "
                             "to priority_order in the org's order, lowest first")
        return self
