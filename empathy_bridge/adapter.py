"""The adapter contract: how a platform's records come in and how write-backs go out.

An adapter is a class registered through ``empathy_bridge_register_adapters``. The engine
builds one instance per configured source and calls, in a cycle:

1. :meth:`Adapter.fetch` with the last committed cursor; it yields :class:`FetchBatch` objects,
   each carrying its interactions and the cursor to commit *with* that batch;
2. :meth:`Adapter.plan_writeback` per changed conversation, giving native field updates;
3. :meth:`Adapter.apply` with at most :attr:`Adapter.write_batch_size` records' updates.

Adapters translate every vendor error into :mod:`empathy_bridge.errors` at their boundary.
The conformance suite in :mod:`empathy_bridge.testing` checks the contract.
"""

from __future__ import annotations

import abc
import collections
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from empathy_bridge.budget import RateLimit, default_classify
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    EmpathyMetric,
    FieldUpdate,
    HandoffDecision,
    Interaction,
    Party,
    PriorityDecision,
    ReplySuggestion,
    RoutingDecision,
    WriteResult,
)
from empathy_bridge.secrets import Secrets

if TYPE_CHECKING:
    # Only named in annotations: the adapters that send through requests import it themselves.
    import requests

__all__ = [
    "Adapter",
    "ApiCallCounter",
    "Decisions",
    "FetchBatch",
    "FetchFailure",
    "FieldCheck",
    "ScheduleConfig",
    "SourceConfig",
]


class ScheduleConfig(BaseModel):
    """When the daemon runs a source's sync job: an interval or a cron expression."""

    model_config = ConfigDict(extra="forbid")

    interval_seconds: int | None = Field(default=300, ge=1)
    cron: str | None = Field(default=None, description="Crontab expression, e.g. '*/5 * * * *'.")


class SourceConfig(BaseModel):
    """Settings common to every ``[sources.NAME]`` table. Adapters subclass it for their own keys.

    Unknown keys are rejected so that a typo is reported instead of silently ignored.
    """

    model_config = ConfigDict(extra="forbid")

    adapter: str = Field(description="Registered adapter name, e.g. 'zendesk'.")
    base_url: str | None = Field(
        default=None, description="Override of the platform URL (sandbox, proxy, custom domain)."
    )
    tenant: str = Field(default="default", description="Tenant this source belongs to.")
    enabled: bool = True
    writeback: bool = Field(default=True, description="Write results back to the platform.")
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)


@dataclass
class FetchFailure:
    """A native record the adapter could not normalise; it becomes a dead letter."""

    native_id: str
    payload: Any
    error: str
    stage: str = "fetch"


@dataclass
class FetchBatch:
    """One unit of incremental work, committed atomically with its ``cursor``.

    :ivar interactions: normalised interactions (all messages of each changed conversation, or
        only the new ones; the engine consults the ledger either way).
    :ivar cursor: opaque cursor to store once the batch is processed; ``None`` keeps the old one.
    :ivar failures: records that could not be normalised.
    :ivar deleted_conversations: conversation ids deleted at the source (derived data is removed).
    """

    interactions: list[Interaction] = field(default_factory=list)
    cursor: str | None = None
    failures: list[FetchFailure] = field(default_factory=list)
    deleted_conversations: list[str] = field(default_factory=list)


@dataclass
class Decisions:
    """Everything decided for one conversation in a cycle."""

    priority: PriorityDecision | None = None
    routing: list[RoutingDecision] = field(default_factory=list)
    handoff: HandoffDecision | None = None
    suggestions: list[ReplySuggestion] = field(default_factory=list)


@dataclass(frozen=True)
class FieldCheck:
    """Result of checking one configured field against the platform."""

    name: str
    native_id: str
    exists: bool
    compatible: bool
    detail: str = ""


class ApiCallCounter:
    """Thread-safe count of API calls by ``"METHOD path"``, as the adapter sent them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()

    def add(self, method: str, path: str) -> None:
        """Count one call."""
        with self._lock:
            self._counts[f"{method.upper()} {path}"] += 1

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        """All calls counted."""
        with self._lock:
            return sum(self._counts.values())


class Adapter(abc.ABC):
    """Base class of platform adapters.

    :cvar name: registered name (``adapter = "..."`` in config).
    :cvar config_model: the :class:`SourceConfig` subclass validating the source's table.
    :cvar write_batch_size: maximum records per :meth:`apply` call (the platform's bulk limit).
    :cvar plan_limits: the platform plan's rate limits by endpoint class (see
        :meth:`classify_request`); the engine sizes its API budget from them. ``"default"``
        applies to classes without their own entry.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[SourceConfig]] = SourceConfig
    write_batch_size: ClassVar[int] = 100
    plan_limits: ClassVar[Mapping[str, RateLimit]] = {}

    def __init__(self, source_name: str, config: SourceConfig, secrets: Secrets) -> None:
        self.source_name = source_name
        self.config = config
        self.secrets = secrets
        self.api_calls = ApiCallCounter()

    @abc.abstractmethod
    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        """Yield batches of interactions changed since ``cursor`` (``None``: from the start).

        Must be resumable: fetching again from a batch's cursor yields what came after it
        (records at the boundary may repeat; the engine de-duplicates by fingerprint).
        """

    @abc.abstractmethod
    def plan_writeback(
        self, conversation: Conversation, context: EmotionalContext, decisions: Decisions
    ) -> list[FieldUpdate]:
        """Map the conversation's context and decisions onto native field updates.

        Returns the *desired* values; the engine drops those the ledger says the platform holds.
        """

    @abc.abstractmethod
    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        """Write updates for at most :attr:`write_batch_size` records in as few calls as possible.

        Return one :class:`WriteResult` per record id. Raise :class:`RetriableError` for a
        failure of the whole call that may succeed later, :class:`FatalError` to stop.
        """

    def check_fields(self) -> list[FieldCheck]:
        """Check the configured write-back fields exist with a compatible type."""
        return []

    def create_fields(self) -> list[FieldCheck]:
        """Provision missing write-back fields; returns the checks after creation."""
        return self.check_fields()

    def create_case(
        self, interaction: Interaction, context: EmotionalContext, subject: str, external_id: str
    ) -> str:
        """Open a case/ticket for ``interaction`` (routing ``create_case``); idempotent by id.

        :returns: the native id of the created (or already existing) record.
        """
        raise NotImplementedError(f"adapter {self.name!r} cannot create cases")

    def http_sessions(self) -> list[requests.Session]:
        """The :class:`requests.Session` objects the vendor clients send through (optional).

        The engine wraps their transports with the API budget (:mod:`empathy_bridge.budget`).
        """
        return []

    def classify_request(self, method: str, url: str) -> str:
        """The endpoint class (a key of :attr:`plan_limits`) a request counts against."""
        return default_classify(method, url)

    def read_fields(
        self, record_ids: Sequence[str], fields: Sequence[str]
    ) -> Mapping[tuple[str, str], Any] | None:
        """Current platform values of ``fields`` on ``record_ids``, keyed ``(record_id, field)``.

        Optional. The engine uses it after a crash between a write and its bookkeeping: an
        update whose value the platform already holds is marked written without a second call.
        ``None`` (the default) means "cannot tell": such updates are simply sent again (they
        are idempotent ``set``/tag operations). Values use :class:`FieldUpdate` conventions
        (for tag fields: the list of tags present).
        """
        return None

    def push_metrics(
        self, metrics: Sequence[EmpathyMetric], options: Mapping[str, Any] | None = None
    ) -> int:
        """Write computed metrics into the platform (optional capability).

        Called by ``empathy-bridge metrics push`` for a ``[[metrics.sinks]]`` entry of
        ``kind = "platform"`` naming this source; ``options`` is that entry's ``options`` table
        (e.g. the custom object and external-id field). Implementations must be idempotent: a
        rerun with the same metrics updates records rather than duplicating them (upsert by an
        external id derived from name, dimension and period). See ``docs/metrics.md``.

        :returns: the number of metrics written.
        """
        raise NotImplementedError(f"adapter {self.name!r} cannot push metrics")

    def parties(self) -> Mapping[str, Party]:
        """Parties seen during the last fetch, by id (optional)."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook with a no-op default
        """Release connections."""
