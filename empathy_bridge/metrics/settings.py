"""The ``[metrics]`` config section: metric parameters and the push-back sinks.

Example::

    [metrics]
    repeat_window_days = 7
    high_intensity = 0.6
    load_threshold = 10

    [metrics.schedule]               # pushed by the daemon (`empathy-bridge run`)
    cron = "0 6 * * *"

    [[metrics.sinks]]
    kind = "webhook"
    url = "https://metrics.example.com/ingest"
    token_env = "METRICS_WEBHOOK_TOKEN"

    [[metrics.sinks]]
    kind = "file"
    path = "exports/metrics-{date}.csv"

    [[metrics.sinks]]
    kind = "platform"
    source = "salesforce"            # a configured source whose adapter implements push_metrics
    options = { object = "Empathy_Metric__c", external_id_field = "External_Id__c" }
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "FileSink",
    "MetricsSchedule",
    "MetricsSettings",
    "PlatformSink",
    "Sink",
    "WebhookSink",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookSink(_Model):
    """POST the metrics as JSON (``{"metrics": [...]}``) in batches, retried on 429/5xx."""

    kind: Literal["webhook"] = "webhook"
    url: str = Field(description="Endpoint receiving POSTed JSON.")
    token_env: str | None = Field(
        default=None, description="Environment variable holding a bearer token (optional).")
    batch_size: int = Field(default=500, ge=1, le=10_000)
    timeout_seconds: float = Field(default=30.0, gt=0)


class FileSink(_Model):
    """Write the metrics to a file; ``{date}`` in the path becomes the UTC date of the run."""

    kind: Literal["file"] = "file"
    path: str = Field(description="Output path, relative to the config file's folder.")
    format: Literal["csv", "jsonl", "parquet"] | None = Field(
        default=None, description="Defaults to the path's suffix (.csv, .jsonl, .parquet).")


class PlatformSink(_Model):
    """Push through a configured source's adapter (``Adapter.push_metrics``)."""

    kind: Literal["platform"] = "platform"
    source: str = Field(description="Name of a [sources.NAME] table.")
    options: dict[str, JsonValue] = Field(
        default_factory=dict, description="Adapter-specific options (object, external id, ...).")


Sink = Annotated[WebhookSink | FileSink | PlatformSink, Field(discriminator="kind")]


class MetricsSchedule(_Model):
    """``[metrics.schedule]``: when the daemon refreshes the metrics and pushes them."""

    interval_seconds: int | None = Field(default=None, ge=60, description="Every N seconds.")
    cron: str | None = Field(default=None, description="Crontab expression (UTC), e.g. "
                             "'0 6 * * *'; wins over interval_seconds.")
    since_days: float | None = Field(
        default=None, gt=0, description="Only the last N days (default: all stored data).")
    breakdowns: list[str] = Field(
        default_factory=list, description="Also push the metrics broken down by these "
        "dimensions, e.g. ['organization'] for Zendesk organisation fields.")

    @field_validator("breakdowns")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        from empathy_bridge.metrics.query import DIMENSIONS

        unknown = [v for v in value if v not in DIMENSIONS]
        if unknown:
            raise PydanticCustomError("unknown_dimension", "unknown dimension '{name}' "
                                      "(known: {known})", {"name": unknown[0],
                                                          "known": ", ".join(DIMENSIONS)})
        return value


class MetricsSettings(_Model):
    """``[metrics]``: how the metrics are computed and where they are pushed."""

    repeat_window_days: float = Field(
        default=7.0, gt=0, description="A new conversation by the same customer within this many "
        "days of the previous one's last message is a repeat contact.")
    positive_threshold: float = Field(
        default=0.05, ge=0.0, lt=1.0, description="Customer sentiment above this is positive.")
    high_intensity: float = Field(
        default=0.6, gt=0.0, le=1.0, description="Customer messages at or above this emotional "
        "intensity count towards agent emotional load.")
    shift_hours: float = Field(default=8.0, gt=0.0, le=24.0, description="Length of a shift.")
    shift_start_hour: float = Field(
        default=0.0, ge=0.0, lt=24.0, description="UTC hour the first shift of a day starts.")
    load_threshold: int = Field(
        default=10, ge=1, description="High-intensity interactions per agent per shift above which "
        "the shift is flagged (empathy fatigue).")
    high_empathy: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Customers whose replies averaged at least this "
        "empathy score form the high-empathy cohort.")
    low_empathy: float = Field(
        default=0.4, ge=0.0, le=1.0, description="Conversations whose replies averaged below this "
        "(or whose sentiment fell) are 'emotionally disconnected'.")
    lost_activity_days: float = Field(
        default=90.0, gt=0, description="A customer not seen again within this many days after "
        "a conversation counts as lost activity (high-impact segments).")
    resolved_statuses: list[str] = Field(
        default_factory=lambda: ["solved", "closed", "resolved"],
        description="Native statuses (case-insensitive) that mean resolved.")
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0, description="Confidence level.")
    min_n: int = Field(
        default=1, ge=1, description="Groups resting on fewer items get value null.")
    sinks: list[Sink] = Field(default_factory=list, description="Where `metrics push` sends.")
    schedule: MetricsSchedule | None = Field(
        default=None, description="Push on a schedule from the daemon (`empathy-bridge run`).")
