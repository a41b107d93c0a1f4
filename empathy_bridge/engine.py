"""The engine: :class:`Bridge` owns config, plugins and store, and runs the pipeline.

It is the SDK's front door::

    bridge = Bridge.from_config("empathy-bridge.toml")
    bridge.analyze("third time I'm asking, cancel my account")
    bridge.sync("zendesk")
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import TypeAdapter, ValidationError

from empathy_bridge.adapter import Adapter, FetchBatch, SourceConfig
from empathy_bridge.budget import ApiBudget
from empathy_bridge.composition import AnalyzersSettings, build_chain
from empathy_bridge.config import (
    BridgeConfig,
    format_validation_error,
    parse_config,
    read_config_file,
)
from empathy_bridge.errors import (
    ConfigError,
    FatalError,
    PluginError,
    QuotaExhaustedError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.fingerprint import value_json
from empathy_bridge.gc_pause import paused_gc
from empathy_bridge.pipeline import (
    ConversationPlan,
    StageFailure,
    analyze_batch,
    blame,
    build_conversations,
    decide,
    diff_updates,
    plan_conversation,
    select_changed,
)
from empathy_bridge.plugins import collect_registrations, get_plugin_manager, section_models
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    FieldUpdate,
    HandoffDecision,
    Interaction,
    WriteResult,
)
from empathy_bridge.secrets import Secrets

if TYPE_CHECKING:
    # The store (and SQLAlchemy) is imported when a Bridge first touches ``.store``: analysing
    # text never does, so `empathy-bridge analyze` and SDK callers do not pay for it.
    from empathy_bridge.store import DeadLetter, DecisionRow, OutboxRow, Store

__all__ = ["Bridge", "SyncReport"]

log = logging.getLogger("empathy_bridge.engine")

#: Serializes a decisions record (a dict of pydantic models) to JSON in one pass.
_DECISIONS_JSON: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])

#: Progress callback: (stage, done, total or None).
Progress = Callable[[str, int, int | None], None]


@dataclass
class SyncReport:
    """What one sync cycle of a source did."""

    source: str
    status: str = "ok"
    detail: str = ""
    batches: int = 0
    pulled: int = 0
    analyzed: int = 0
    skipped_unchanged: int = 0
    conversations: int = 0
    planned: int = 0
    written: int = 0
    write_calls: int = 0
    dead_letters: int = 0
    deleted: int = 0
    reconciled: int = 0
    seconds: float = 0.0
    #: Wall-clock seconds per stage (fetch, analyze, decide, store, write).
    timings: dict[str, float] = field(default_factory=dict)
    #: CPU seconds of this process per stage: on a shared machine the stable figure, and the
    #: gap to ``timings`` is time spent waiting (network, disk, other processes).
    cpu_timings: dict[str, float] = field(default_factory=dict)
    api_calls: dict[str, int] = field(default_factory=dict)

    def add_time(self, stage: str, seconds: float, cpu_seconds: float = 0.0) -> None:
        """Accumulate time spent in a stage."""
        self.timings[stage] = self.timings.get(stage, 0.0) + seconds
        self.cpu_timings[stage] = self.cpu_timings.get(stage, 0.0) + cpu_seconds


class _Clock:
    def __init__(self, report: SyncReport, stage: str) -> None:
        self.report, self.stage = report, stage

    def __enter__(self) -> None:
        self.start, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.report.add_time(
            self.stage, time.perf_counter() - self.start, time.process_time() - self.cpu
        )


class Bridge:
    """Config, plugin manager and store, and the pipeline over them.

    Build it with :meth:`from_config`. One Bridge serves any number of sources; adapters are
    created lazily and kept open until :meth:`close`.
    """

    def __init__(
        self,
        config: BridgeConfig,
        plugin_manager: pluggy.PluginManager,
        secrets: Secrets,
        store: Store | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.pm = plugin_manager
        self.secrets = secrets
        self.retry_policy = retry_policy or RetryPolicy()
        #: API budgets shared by every source of this bridge (see :mod:`empathy_bridge.budget`).
        self.budget = ApiBudget()
        self._store = store
        self._adapters: dict[str, Adapter] = {}
        self.source_configs: dict[str, SourceConfig] = {
            name: self._validate_source(name, raw) for name, raw in config.sources.items()
        }
        analyzer_classes = collect_registrations(
            self.pm.hook.empathy_bridge_register_analyzers, "analyzer"
        )
        #: Hosted analyzers chained after the primary one (``[analyzers]``); empty by default.
        self.analyzer_chain = build_chain(
            config.section("analyzers", AnalyzersSettings),
            {name: cls for name, (cls, _) in analyzer_classes.items()},
            secrets,
        )
        # Cross-section checks (an experiment naming a missing template...) fail here, at
        # start-up, not on the first message that reaches them.
        self.pm.hook.empathy_bridge_check_config(config=config)

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        config: str | Path | Mapping[str, Any] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        plugins: Sequence[object] = (),
    ) -> Bridge:
        """Build a Bridge from a TOML file path, a dict of the same shape, or defaults.

        :param environ: environment for secrets and plugin allow/deny lists (default: os.environ).
        :param plugins: extra plugin objects to register (handy in tests and scripts).
        """
        env = dict(os.environ if environ is None else environ)
        pm = get_plugin_manager(env, tuple(plugins))
        models = section_models(pm)
        if config is None:
            cfg = parse_config({"store": {"url": "sqlite://"}}, models)
        elif isinstance(config, str | Path):
            cfg = parse_config(read_config_file(config), models, Path(config).resolve())
        else:
            cfg = parse_config(config, models)
        secrets_file = cfg.secrets_file
        if secrets_file and not Path(secrets_file).is_absolute():
            secrets_file = str(cfg.base_dir / secrets_file)
        return cls(cfg, pm, Secrets(env, secrets_file))

    @cached_property
    def adapter_classes(self) -> dict[str, type[Adapter]]:
        """Installed adapters by name, collected on first use.

        Lazily, so a Bridge without sources (``empathy-bridge analyze``) never imports the
        adapters' vendor clients.
        """
        registrations = collect_registrations(
            self.pm.hook.empathy_bridge_register_adapters, "adapter"
        )
        return {n: v for n, (v, _) in registrations.items()}

    def _validate_source(self, name: str, raw: Mapping[str, Any]) -> SourceConfig:
        data = {"adapter": name, **raw}
        adapter_name = data["adapter"]
        adapter_cls = self.adapter_classes.get(str(adapter_name))
        if adapter_cls is None:
            known = ", ".join(sorted(self.adapter_classes)) or "none installed"
            raise ConfigError(
                f"sources.{name}.adapter: unknown adapter {adapter_name!r} (installed: {known}); "
                f"pip install empathy-bridge-{adapter_name}"
            )
        try:
            return adapter_cls.config_model.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"sources.{name}")) from None

    @property
    def store(self) -> Store:
        """The state store (opened and migrated on first use)."""
        if self._store is None:
            from empathy_bridge.store import Store

            self._store = Store(self.config.store.url, self.config.base_dir)
        return self._store

    def adapter(self, source: str) -> Adapter:
        """The adapter instance of a configured source."""
        if source not in self._adapters:
            cfg = self.source_configs.get(source)
            if cfg is None:
                known = ", ".join(self.source_configs) or "none configured"
                raise ConfigError(f"unknown source {source!r} (configured: {known})")
            self._adapters[source] = self.adapter_classes[cfg.adapter](source, cfg, self.secrets)
        return self._adapters[source]

    def _install_budget(self, adapter: Adapter) -> None:
        """Throttle the adapter's HTTP sessions with the plan-sized API budget.

        Called at the start of every cycle (installing is idempotent), inside its error
        handling: an adapter may build its clients, and read their credentials, only then.
        """
        from empathy_bridge.budget_transport import install_budget  # requests: load on use

        tenant, platform = adapter.config.tenant, adapter.name
        if adapter.plan_limits:
            self.budget.set_plan(tenant, platform, adapter.plan_limits)
        for session in adapter.http_sessions():
            install_budget(
                session,
                self.budget,
                tenant=tenant,
                platform=platform,
                classify=adapter.classify_request,
            )

    def close(self) -> None:
        """Close adapters and the store."""
        for adapter in self._adapters.values():
            adapter.close()
        self._adapters.clear()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- analysis SDK ------------------------------------------------------------------------

    def analyze(self, text: str, **interaction_fields: Any) -> EmotionalContext:
        """Emotional context of one free text (a customer message unless told otherwise)."""
        return self.analyze_many([text], **interaction_fields)[0]

    def analyze_many(
        self, items: Iterable[str | Interaction], **interaction_fields: Any
    ) -> list[EmotionalContext]:
        """Emotional contexts of many texts or interactions, in order, analysed in batches.

        A record a plugin cannot analyse raises :class:`SkippableError` naming it; use the sync
        path for dead-lettering.
        """
        now = datetime.now(UTC)
        size = self.config.analysis.batch_size
        out: list[EmotionalContext] = []
        numbered = enumerate(items)
        # The first plain text is validated with the caller's fields; the others only differ in
        # id and text (both plain str), so they are copies of it with those replaced.
        template: Interaction | None = None
        # Interactions are built one batch at a time and dropped after it, so a long input never
        # holds them all. Building them allocates only acyclic objects: the cyclic collector is
        # paused meanwhile, as during the analysis itself (see empathy_bridge.gc_pause).
        while batch := list(islice(numbered, size)):
            chunk: list[Interaction] = []
            with paused_gc():
                for n, item in batch:
                    if isinstance(item, Interaction):
                        chunk.append(item)
                    elif template is not None and type(item) is str:
                        key = str(n)
                        chunk.append(
                            template.model_copy(
                                update={"native_id": key, "conversation_id": key, "text": item}
                            )
                        )
                    else:
                        interaction = Interaction(
                            source="sdk",
                            native_id=str(n),
                            conversation_id=str(n),
                            text=item,
                            created_at=now,
                            **interaction_fields,
                        )
                        chunk.append(interaction)
                        if type(item) is str:
                            template = interaction
            out.extend(self._analyze_chunk(chunk))
        return out

    def _analyze_chunk(self, chunk: Sequence[Interaction]) -> list[EmotionalContext]:
        """Contexts of one batch; the first failed record raises :class:`SkippableError`."""
        done, failures = analyze_batch(self.pm, chunk, self.config, self.analyzer_chain)
        if failures:
            f = failures[0]
            raise SkippableError(
                f"analysis of item {f.native_id} failed in plugin "
                f"{f.plugin or 'unknown'}: {f.error}"
            )
        return [context for _, context in done]

    def decide(self, conversation: Conversation) -> ConversationPlan | None:
        """Trajectory and decisions for a conversation whose messages may lack contexts."""
        conversation = self._with_contexts(conversation)
        return decide(self.pm, conversation, self.config)

    def decide_handoff(self, conversation: Conversation) -> HandoffDecision:
        """Whether a bot conversation should go to a human, with the context packet.

        Messages without a context are analysed first, so a chatbot can pass a bare transcript.
        """
        conversation = self._with_contexts(conversation)
        trajectory = self.pm.hook.empathy_bridge_analyze_conversation(
            conversation=conversation, config=self.config
        )
        if trajectory is not None:
            conversation = conversation.model_copy(update={"trajectory": trajectory})
        decision = self.pm.hook.empathy_bridge_decide_handoff(
            conversation=conversation, config=self.config
        )
        if decision is None:
            return HandoffDecision(
                handoff=False, reasons=("no handoff policy is installed",), trajectory=trajectory
            )
        return decision  # type: ignore[no-any-return]

    def _with_contexts(self, conversation: Conversation) -> Conversation:
        missing = [i for i in conversation.interactions if i.native_id not in conversation.contexts]
        if not missing:
            return conversation
        contexts = dict(conversation.contexts)
        for interaction, context in zip(missing, self.analyze_many(missing), strict=True):
            contexts[interaction.native_id] = context
        return conversation.model_copy(update={"contexts": contexts})

    # -- sync --------------------------------------------------------------------------------

    def sync(
        self,
        source: str,
        *,
        max_batches: int | None = None,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> SyncReport:
        """Run one incremental cycle of ``source``: fetch, analyse, decide, write back.

        Never raises for a record-level problem (those become dead letters). Stops the cycle,
        returning a report with ``status`` ``"paused"`` (quota), ``"failed"`` (fatal error, the
        one-line reason in ``detail``) or ``"interrupted"`` (``should_stop`` said so).
        """
        adapter = self.adapter(source)
        report = SyncReport(source=source)
        calls_before = adapter.api_calls.snapshot()
        started = time.perf_counter()
        try:
            self._install_budget(adapter)
            cursor = self.store.get_cursor(source)
            batches = iter(self._retrying_fetch(adapter, cursor, report))
            while True:
                if should_stop is not None and should_stop():
                    report.status = "interrupted"
                    break
                with _Clock(report, "fetch"):
                    batch = next(batches, None)
                if batch is None:
                    break
                self.process_batch(adapter, batch, report)
                report.batches += 1
                if progress:
                    progress("pulled", report.pulled, None)
                if self.source_configs[source].writeback:
                    self.drain(adapter, report, full_batches_only=True)
                if max_batches is not None and report.batches >= max_batches:
                    break
            if self.source_configs[source].writeback and report.status == "ok":
                self.drain(adapter, report, full_batches_only=False)
        except QuotaExhaustedError as exc:
            report.status = "paused"
            when = f" until {exc.resume_at.isoformat()}" if exc.resume_at else ""
            report.detail = f"paused{when}: {exc}"
        except FatalError as exc:
            report.status = "failed"
            report.detail = str(exc)
        except RetriableError as exc:
            report.status = "failed"
            report.detail = f"gave up after retries: {exc}"
        report.seconds = time.perf_counter() - started
        report.api_calls = {
            key: count - calls_before.get(key, 0)
            for key, count in adapter.api_calls.snapshot().items()
            if count - calls_before.get(key, 0)
        }
        self.store.record_run(source, report.status, report.detail)
        log.info(
            "sync %s: %s (pulled=%d analyzed=%d written=%d dead=%d)",
            source,
            report.status,
            report.pulled,
            report.analyzed,
            report.written,
            report.dead_letters,
        )
        return report

    def _retrying_fetch(
        self, adapter: Adapter, cursor: str | None, report: SyncReport
    ) -> Iterable[FetchBatch]:
        """Fetch batches; a retriable failure resumes from the last batch's cursor."""
        attempts = 0
        while True:
            try:
                for batch in adapter.fetch(cursor):
                    attempts = 0
                    if batch.cursor is not None:
                        cursor = batch.cursor
                    yield batch
                return
            except RetriableError as exc:
                attempts += 1
                if attempts >= self.retry_policy.attempts:
                    raise
                wait = exc.retry_after if exc.retry_after else min(2.0**attempts * 0.25, 30.0)
                log.warning(
                    "fetch of %s failed (%s); resuming from the last cursor in %.1fs",
                    adapter.source_name,
                    exc,
                    wait,
                )
                (self.retry_policy.sleep or time.sleep)(wait)

    def process_batch(self, adapter: Adapter, batch: FetchBatch, report: SyncReport) -> None:
        """Analyse, decide and plan one fetched batch, committing it with its cursor.

        The analyses, decisions, outbox rows, dead letters and ``batch.cursor`` (if any) are
        stored in one transaction, so a crash leaves either all of the batch or none of it.
        Nothing is written to the platform here: call :meth:`drain` for that. This is the step
        :meth:`sync` runs per page and the HTTP service's worker runs per group of webhook events.
        """
        source = adapter.source_name
        store = self.store
        report.pulled += len(batch.interactions)
        with _Clock(report, "store"):
            known = store.fingerprints(source, [i.native_id for i in batch.interactions])
        changed = select_changed(batch.interactions, known)
        report.skipped_unchanged += len(batch.interactions) - len(changed)
        with _Clock(report, "analyze"):
            analysed, failures = analyze_batch(
                self.pm, [i for i, _ in changed], self.config, self.analyzer_chain
            )
        fps = {i.native_id: fp for i, fp in changed}
        report.analyzed += len(analysed)
        with _Clock(report, "store"):
            conv_ids = sorted({i.conversation_id for i, _ in analysed})
            history = store.conversation_history(source, conv_ids) if conv_ids else {}
        plans: list[ConversationPlan] = []
        updates: list[FieldUpdate] = []
        # One bounded batch of acyclic plans and decisions: the cyclic collector waits until the
        # batch is decided, as during its analysis (see gc_pause).
        with _Clock(report, "decide"), paused_gc():
            for conversation in build_conversations(analysed, history):
                try:
                    plan = decide(self.pm, conversation, self.config)
                    if plan is None:
                        continue
                    plans.append(plan)
                    if self.source_configs[source].writeback:
                        updates.extend(plan_conversation(self.pm, adapter, plan, self.config))
                except Exception as exc:
                    failures.append(_failure(self.pm, conversation, exc))
        report.conversations += len(plans)
        with _Clock(report, "store"):
            records = {u.record_id for u in updates}
            known_values = {
                **store.ledger_values(source, records),
                **store.pending_values(source, records),
            }
            updates = diff_updates(updates, known_values)
            report.planned += len(updates)
            with store.transaction() as conn:
                store.save_analyses(conn, [(i, fps[i.native_id], c) for i, c in analysed])
                store.save_decisions(conn, source, [_decision_row(plan) for plan in plans])
                store.enqueue(conn, updates)
                # The analyzer version that ran on this batch, for the dead letters' triage.
                version = analysed[0][1].analyzer_version if analysed else None
                letters = [
                    store.add_dead_letter(
                        conn,
                        source=source,
                        stage=f.stage,
                        native_id=f.native_id,
                        payload=f.payload,
                        error=f.error,
                        plugin=f.plugin,
                        analyzer_version=version,
                        fingerprint=fps.get(f.native_id),
                    )
                    for f in failures
                ]
                letters += [
                    store.add_dead_letter(
                        conn,
                        source=source,
                        stage=f.stage,
                        native_id=f.native_id,
                        payload=_payload_text(f.payload),
                        error=f.error,
                    )
                    for f in batch.failures
                ]
                if batch.deleted_conversations:
                    report.deleted += store.delete_conversations(
                        conn, source, batch.deleted_conversations
                    )
                if batch.cursor is not None:
                    store.set_cursor(conn, source, batch.cursor)
        report.dead_letters += len(letters)
        self.notify_dead_letters(letters)

    def drain(self, adapter: Adapter, report: SyncReport, *, full_batches_only: bool) -> None:
        """Write pending outbox rows in platform-sized batches, most urgent records first.

        Rows are marked ``in_flight`` in a committed transaction before the platform call, so a
        crash between the call and its bookkeeping is noticed: :meth:`_reconcile` settles such
        rows on the next drain without writing twice.
        """
        source = adapter.source_name
        size = adapter.write_batch_size
        self._reconcile(adapter, report)
        while True:
            with _Clock(report, "store"):
                # A partial batch waits for the next page: its rows are not even read.
                rows = self.store.pending_records(
                    source, size, min_records=size if full_batches_only else 1
                )
            if not rows:
                return
            with _Clock(report, "store"):
                self.store.set_status(None, rows, "in_flight")
            attempts = 0

            def attempt(rows: Sequence[OutboxRow] = rows) -> list[WriteResult]:
                nonlocal attempts
                attempts += 1
                if attempts == 1:
                    return adapter.apply([r.update for r in rows])
                # A retried call may follow one that landed before its answer was lost:
                # send only what the platform does not hold yet.
                confirmed = self._confirmed(adapter, rows)
                todo = [r.update for r in rows if r.id not in confirmed]
                settled = {r.update.record_id for r in rows} - {u.record_id for u in todo}
                results = adapter.apply(todo) if todo else []
                return [*results, *(WriteResult(record_id=rid, success=True) for rid in settled)]

            with _Clock(report, "write"):
                try:
                    results = self.retry_policy.call(attempt)
                except RetriableError:
                    # The outcome is unknown: the rows stay in flight for the next reconcile.
                    self.store.bump_attempts(rows)
                    raise
                except (FatalError, QuotaExhaustedError, SkippableError):
                    if attempts <= 1:
                        # Refused before anything was written (credentials, budget): re-queue.
                        self.store.set_status(None, rows, "pending")
                    raise
                report.write_calls += 1
            self._settle(source, rows, results, report)

    def _reconcile(self, adapter: Adapter, report: SyncReport) -> None:
        """Settle rows left in flight by a crash or an unanswered call.

        Rows whose value the platform already holds (per :meth:`Adapter.read_fields`) are
        recorded as written without a call; the others go back to pending.
        """
        source = adapter.source_name
        while True:
            with _Clock(report, "store"):
                rows = self.store.pending_records(
                    source, adapter.write_batch_size, status="in_flight"
                )
            if not rows:
                return
            with _Clock(report, "write"):
                confirmed = self._confirmed(adapter, rows)
            done = [r for r in rows if r.id in confirmed]
            with _Clock(report, "store"), self.store.transaction() as conn:
                self.store.mark_written(conn, done)
                self.store.set_status(conn, [r for r in rows if r.id not in confirmed], "pending")
            report.reconciled += len(done)
            log.info(
                "reconciled %d in-flight writes of %s (%d already on the platform)",
                len(rows),
                source,
                len(done),
            )

    def _confirmed(self, adapter: Adapter, rows: Sequence[OutboxRow]) -> set[int]:
        """Ids of outbox rows whose value the platform already holds (empty: cannot tell)."""
        records = sorted({r.update.record_id for r in rows})
        fields = sorted({r.update.field for r in rows})
        current = self.retry_policy.call(partial(adapter.read_fields, records, fields))
        if current is None:
            return set()
        return {
            r.id
            for r in rows
            if (r.update.record_id, r.update.field) in current
            and _holds(r.update, current[(r.update.record_id, r.update.field)])
        }

    def _settle(
        self, source: str, rows: Sequence[OutboxRow], results: Sequence[Any], report: SyncReport
    ) -> None:
        by_record = {r.record_id: r for r in results}
        ok: list[OutboxRow] = []
        failed: list[OutboxRow] = []
        for row in rows:
            result = by_record.get(row.update.record_id)
            (ok if result is not None and result.success else failed).append(row)
        letters: list[DeadLetter] = []
        with _Clock(report, "store"), self.store.transaction() as conn:
            self.store.mark_written(conn, ok)
            self.store.mark_failed(conn, failed)
            seen: set[str] = set()
            for row in failed:
                record = row.update.record_id
                if record in seen:
                    continue
                seen.add(record)
                result = by_record.get(record)
                error = (
                    result.error
                    if result is not None and result.error
                    else "the platform returned no result for this record"
                )
                letters.append(
                    self.store.add_dead_letter(
                        conn,
                        source=source,
                        stage="write",
                        native_id=record,
                        payload=_updates_json(
                            [r.update for r in failed if r.update.record_id == record]
                        ),
                        error=error,
                        error_code=result.error_code if result is not None else None,
                    )
                )
        report.written += len({r.update.record_id for r in ok})
        report.dead_letters += len(letters)
        self.notify_dead_letters(letters)

    def notify_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Tell the ``empathy_bridge_on_dead_letter`` observers; an observer's failure is logged."""
        for letter in letters:
            try:
                self.pm.hook.empathy_bridge_on_dead_letter(item=letter, config=self.config)
            except Exception as exc:
                log.warning("dead-letter observer %s failed: %s", blame(self.pm, exc), exc)

    # -- dead letters ------------------------------------------------------------------------

    def replay_dead_letter(self, letter: DeadLetter) -> bool:
        """Process a dead letter again; on success it is removed. Returns whether it succeeded."""
        adapter = self.adapter(letter.source)
        try:
            if letter.stage == "write":
                updates = [FieldUpdate.model_validate(u) for u in _json_list(letter.payload)]
                results = self.retry_policy.call(lambda: adapter.apply(updates))
                if not all(r.success for r in results):
                    return False
                from empathy_bridge.store import OutboxRow

                rows = [OutboxRow(id=-1, update=u, attempts=0) for u in updates]
                with self.store.transaction() as conn:
                    self.store.mark_written(conn, rows)
            else:
                if not letter.payload:
                    return False
                interaction = Interaction.model_validate_json(letter.payload)
                _, failures = analyze_batch(
                    self.pm, [interaction], self.config, self.analyzer_chain
                )
                if failures:
                    return False  # still failing: the letter stays as it is
                # The letter's fingerprint marks the message as known (so that re-fetches do
                # not retry it); remove it so that the batch below sees the message as new.
                self.store.delete_dead_letters([letter.id])
                report = SyncReport(source=letter.source)
                self.process_batch(adapter, FetchBatch(interactions=[interaction]), report)
                if report.dead_letters:
                    return False  # failed at a later stage: a fresh letter says why
                if self.source_configs[letter.source].writeback:
                    self.drain(adapter, report, full_batches_only=False)
        except (ValidationError, SkippableError, RetriableError, PluginError):
            return False
        self.store.delete_dead_letters([letter.id])
        return True

    # -- registries --------------------------------------------------------------------------

    def sandboxes(self) -> dict[str, Callable[..., Any]]:
        """Sandbox factories registered by installed plugins, by name."""
        found = collect_registrations(self.pm.hook.empathy_bridge_register_sandboxes, "sandbox")
        return {name: factory for name, (factory, _) in found.items()}


def _failure(pm: pluggy.PluginManager, conversation: Conversation, exc: Exception) -> StageFailure:
    latest = conversation.interactions[-1]
    return StageFailure(
        native_id=latest.native_id,
        stage="decide",
        error=f"{type(exc).__name__}: {exc}",
        plugin=blame(pm, exc),
        payload=latest.model_dump_json(),
    )


def _decision_row(plan: ConversationPlan) -> DecisionRow:
    from empathy_bridge.store import DecisionRow

    p = plan.decisions.priority
    handoff = plan.decisions.handoff
    return DecisionRow(
        conversation_id=plan.conversation.conversation_id,
        native_id=plan.interaction.native_id,
        payload=_decisions_json(plan),
        priority=p.priority.value if p else None,
        tier=(p.tier if p else plan.context.tier).value,
        due_at=p.due_at if p else None,
        handoff=handoff.handoff if handoff else None,
    )


def _holds(update: FieldUpdate, current: Any) -> bool:
    """Whether a platform value already reflects ``update``."""
    if update.op == "set":
        return value_json(current) == value_json(update.value)
    have = set(current) if isinstance(current, list | tuple | set) else set()
    wanted = set(update.value) if isinstance(update.value, list | tuple) else {update.value}
    return wanted <= have if update.op == "add_tags" else not wanted & have


def _decisions_json(plan: ConversationPlan) -> str:
    d = plan.decisions
    # One serializer pass over the models (pydantic infers each value's model), instead of
    # model_dump(mode="json") into dicts and then json.dumps over those.
    return _DECISIONS_JSON.dump_json(
        {
            "priority": d.priority,
            "routing": d.routing,
            "handoff": d.handoff,
            "suggestions": d.suggestions,
            "trajectory": plan.conversation.trajectory,
        }
    ).decode()


def _updates_json(updates: Sequence[FieldUpdate]) -> str:
    return "[" + ",".join(u.model_dump_json() for u in updates) + "]"


def _json_list(payload: str | None) -> list[Any]:
    data = json.loads(payload or "[]")
    return data if isinstance(data, list) else [data]


def _payload_text(payload: Any) -> str | None:
    if payload is None or isinstance(payload, str):
        return payload
    try:
        return json.dumps(payload, default=str)[:100_000]
    except (TypeError, ValueError):
        return repr(payload)[:100_000]
