"""``[server]``: the HTTP service's settings (listening address, limits, webhook secrets).

Secrets are never in the config file: the ``*_env`` keys name the environment variables (or
secrets-file entries) that hold them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ServerSettings"]


class ServerSettings(BaseModel):
    """``[server]`` keys (all optional)."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8787, ge=0, le=65535)
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, le=100_000_000,
        description="Requests with a larger body are refused with 413.")
    max_batch: int = Field(default=100, ge=1, le=10_000,
                           description="Most texts one /v1/analyze call may carry.")
    timestamp_tolerance_seconds: int = Field(
        default=300, ge=1, le=86_400,
        description="Signed webhooks older or newer than this are refused as stale.")
    replay_retention_seconds: int = Field(
        default=86_400, ge=60,
        description="How long signatures of X deliveries (which carry no timestamp) are kept "
                    "to refuse replays.")
    queue_url: str = Field(
        default="",
        description="SQLAlchemy URL of the webhook queue. Empty: a SQLite file next to a "
                    "SQLite store (<store>-webhooks.db), else the store itself.")
    queue_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="SQLite `synchronous` of a SQLite queue: NORMAL (WAL) keeps an "
                    "acknowledged event through any crash or kill of the process; FULL also "
                    "through a power cut, by fsyncing each commit before the 202.")
    worker: Literal["process", "thread"] = Field(
        default="process",
        description="Where `serve` runs the webhook worker: its own process (its CPU work and "
                    "garbage collection never pause request handling) or a thread of the "
                    "server process.")
    worker_nice: int = Field(
        default=10, ge=0, le=19,
        description="Niceness added to the worker process, so that answering requests gets "
                    "the CPU first on a busy machine; the queue absorbs bursts.")
    worker_batch: int = Field(
        default=50, ge=1, le=1000,
        description="Queued webhook events processed per worker step (one analysis batch and "
                    "one store transaction).")
    worker_duty_cycle: float = Field(
        default=0.5, gt=0, le=1,
        description="Thread worker only: most of the wall time it may spend processing; it "
                    "pauses in between so that request handling gets the GIL (1 = never pause).")
    worker_idle_seconds: float = Field(default=0.2, gt=0, le=60,
                                       description="How long the worker sleeps when idle.")
    gil_switch_interval: float = Field(
        default=0.0005, gt=0, le=0.1,
        description="sys.setswitchinterval for `serve`: how soon a thread doing CPU work "
                    "(a /v1/analyze batch, a thread worker) yields the GIL to request handling "
                    "(Python's default is 0.005).")
    zendesk_secret_env: str = Field(
        default="ZENDESK_WEBHOOK_SECRET",
        description="Variable holding the Zendesk webhook signing secret.")
    x_consumer_secret_env: str = Field(
        default="X_CONSUMER_SECRET",
        description="Variable holding the X app's consumer secret (CRC and signatures).")
    salesforce_secret_env: str = Field(
        default="SALESFORCE_WEBHOOK_SECRET",
        description="Variable holding the shared secret of Salesforce Flow/Apex callouts.")
    webhook_sources: dict[str, str] = Field(
        default_factory=dict,
        description="Platform -> source name receiving its webhooks, when it cannot be inferred "
                    "(e.g. zendesk = \"zendesk_eu\").")
    source_secret_env: dict[str, str] = Field(
        default_factory=dict,
        description="Source name -> variable with that source's own webhook secret (tenants "
                    "with separate accounts); overrides the platform default.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses whose X-Forwarded-For/Proto headers uvicorn trusts.")
