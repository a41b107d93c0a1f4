"""The Salesforce Service Cloud adapter: Cases with their emails and comments in, Case fields out.

Pull (:meth:`SalesforceAdapter.fetch`):

1. ``getDeleted`` for Case since the cursor (minus the overlap): the ids go out as
   ``FetchBatch.deleted_conversations`` so the engine removes their derived data;
2. one SOQL query ``... FROM Case WHERE SystemModstamp >= cursor - overlap ORDER BY
   SystemModstamp, Id``, paged through ``nextRecordsUrl``;
3. per chunk of cases (``max_ids_per_query``), one EmailMessage and one CaseComment query with
   ``WHERE ParentId IN (...)``: the fewest calls a conversation costs. In a forward cycle,
   cases whose children were read before ask only for children changed since
   (``AND SystemModstamp >= ...``), so our own write-backs cost no child rows.

The cursor is the SystemModstamp of the last case of a batch, as timezone-aware ISO-8601. The
overlap window re-reads cases committed late with an older SystemModstamp; a case seen before at
the same SystemModstamp is skipped without fetching its children again.

Write-back (:meth:`plan_writeback`, :meth:`apply`): the configured Case custom fields and
``Priority`` (raised, never lowered), through sObject Collections ``PATCH composite/sobjects``
with at most 200 records and ``allOrNone: false``; each record's SaveResult becomes a
:class:`WriteResult`, errors keeping Salesforce's ``statusCode``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, cast

import requests
from simple_salesforce.api import SFType

from empathy_bridge.adapter import (
    Adapter,
    Decisions,
    FetchBatch,
    FetchFailure,
    FieldCheck,
    SourceConfig,
)
from empathy_bridge.budget import RateLimit
from empathy_bridge.errors import ConfigError, EmpathyBridgeError, SkippableError
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    EmpathyMetric,
    FieldUpdate,
    Interaction,
    Priority,
    Tier,
    WriteResult,
)
from empathy_bridge.secrets import Secrets
from empathy_bridge_salesforce.client import SalesforceApiError, SalesforceClient, error_details
from empathy_bridge_salesforce.config import SalesforceConfig
from empathy_bridge_salesforce.fields import check_case_fields
from empathy_bridge_salesforce.normalize import (
    CASE_FIELDS,
    COMMENT_FIELDS,
    EMAIL_FIELDS,
    case_interactions,
    modstamp,
)

__all__ = ["SalesforceAdapter"]

log = logging.getLogger("empathy_bridge_salesforce")

#: sObject Collections accept at most this many records per call.
COLLECTION_LIMIT = 200
#: getDeleted serves at most this far back.
_DELETED_HORIZON = timedelta(days=15)
#: How many cases' child-read times are remembered (an LRU; forgotten cases are read in full).
_CHILDREN_MEMORY = 200_000
#: getDeleted window reaches back at least this far (seconds) before the cursor.
_DELETED_MIN_WINDOW = 120
#: Salesforce error codes worth another try later (the record was busy).
_RETRIABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})

_TIER_PRIORITY = {Tier.CALM: Priority.NORMAL, Tier.CONCERNED: Priority.NORMAL,
                  Tier.UPSET: Priority.HIGH, Tier.DISTRESSED: Priority.URGENT,
                  Tier.CRITICAL: Priority.URGENT}


def _soql_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse_cursor(cursor: str, source: str) -> datetime:
    """The datetime of a cursor; naive or malformed cursors are refused with a clear error."""
    try:
        value = datetime.fromisoformat(cursor)
    except ValueError:
        raise ConfigError(f"source {source}: stored cursor {cursor!r} is not an ISO-8601 "
                          "timestamp (this adapter stores SystemModstamp values); clear the "
                          "source's cursor in the store to start over") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigError(f"source {source}: cursor {cursor!r} has no timezone; cursors must be "
                          "timezone-aware (e.g. '2026-11-27T10:00:00+00:00')")
    return value.astimezone(UTC)


class SalesforceAdapter(Adapter):
    """Salesforce Service Cloud (simple-salesforce)."""

    name: ClassVar[str] = "salesforce"
    config_model: ClassVar[type[SourceConfig]] = SalesforceConfig
    write_batch_size: ClassVar[int] = COLLECTION_LIMIT
    #: The daily API allowance of a base Enterprise org; the engine's API budget follows the
    #: org's real figure from each answer's ``Sforce-Limit-Info: api-usage=USED/MAX``.
    plan_limits: ClassVar[Mapping[str, RateLimit]] = {"default": RateLimit(15_000, 86_400.0)}

    def __init__(self, source_name: str, config: SourceConfig, secrets: Secrets) -> None:
        super().__init__(source_name, config, secrets)
        if not isinstance(config, SalesforceConfig):
            raise ConfigError(f"source {source_name}: expected a Salesforce configuration")
        self.cfg = config
        self._client: SalesforceClient | None = None
        # (case id -> SystemModstamp) of cases handed to the engine: the overlap de-duplication.
        self._seen: dict[str, datetime] = {}
        # Case id -> Salesforce time its emails and comments were last read (bounded LRU): a
        # case seen before needs only the children changed since.
        self._children_as_of: OrderedDict[str, datetime] = OrderedDict()
        # The newest cursor the engine has taken from this instance: fetching from it (or a
        # later one) is a forward cycle, where the children shortcut applies.
        self._taken_cursor: datetime | None = None
        # Case id -> native Priority from the latest fetch (Priority is never lowered).
        self._native_priority: dict[str, str | None] = {}
        self._available_fields: set[str] | None = None

    @property
    def client(self) -> SalesforceClient:
        """The org connection, opened on first use (reads the session id secret)."""
        if self._client is None:
            self._client = SalesforceClient(self.cfg, self.secrets, self.api_calls,
                                            self.source_name)
        return self._client

    def http_sessions(self) -> list[requests.Session]:
        """The session simple-salesforce sends through (the engine adds its API budget)."""
        return [self.client.session]

    # -- pull ---------------------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        """Batches of changed cases' conversations, oldest change first; see the module doc."""
        client = self.client
        client.begin_cycle()
        self._native_priority.clear()
        if self.cfg.writeback and self._available_fields is None:
            # Here rather than lazily in plan_writeback, so a quota or session error of this
            # call pauses or stops the cycle instead of dead-lettering a conversation.
            self._fields_available()
        since: datetime | None = None
        if cursor:
            since = parse_cursor(cursor, self.source_name)
        elif self.cfg.start:
            since = parse_cursor(self.cfg.start, self.source_name)
        window_start = since - timedelta(seconds=self.cfg.overlap_seconds) if since else None
        forward = bool(cursor) and since is not None and self._taken_cursor is not None \
            and since >= self._taken_cursor
        if cursor and since is not None:
            # getDeleted covers whole minutes only: a deletion in the minute of the last cycle is
            # reported by the next one, so its window reaches back at least two minutes.
            deleted = self._deleted_since(since - timedelta(
                seconds=max(self.cfg.overlap_seconds, _DELETED_MIN_WINDOW)))
            for case_id in deleted:
                # An undeleted case comes back with its history gone from the store: read it
                # in full then.
                self._children_as_of.pop(case_id, None)
                self._seen.pop(case_id, None)
            if deleted:
                yield FetchBatch(deleted_conversations=deleted)
        where = f" WHERE SystemModstamp >= {_soql_datetime(window_start)}" if window_start else ""
        soql = (f"SELECT {', '.join(CASE_FIELDS)} FROM Case{where} "
                "ORDER BY SystemModstamp, Id")
        headers = {"Sforce-Query-Options": f"batchSize={self.cfg.query_batch_size}"}
        page = client.call("querying changed cases",
                           lambda: client.sf.query(soql, headers=headers))
        while True:
            records = _records(page, "Case query")
            fresh = [r for r in records if self._is_new(r, since)]
            for start in range(0, len(fresh), self.cfg.max_ids_per_query):
                chunk = fresh[start:start + self.cfg.max_ids_per_query]
                batch, read_at = self._conversations(chunk, forward)
                yield batch
                # Only after the engine took the batch: a batch it never processed is re-read.
                self._taken(chunk, batch, read_at)
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                break
            next_url = str(page["nextRecordsUrl"])
            page = client.call("reading the next page of cases",
                               lambda url=next_url: client.sf.query_more(  # type: ignore[misc]
                                   url, identifier_is_url=True, headers=headers))
        self._prune_seen()

    def _taken(self, chunk: Sequence[Mapping[str, Any]], batch: FetchBatch,
               read_at: datetime | None) -> None:
        """Remember what the engine has taken: modstamps (overlap de-duplication), when each
        case's children were read, and the newest cursor."""
        for case in chunk:
            try:
                case_id, stamp = str(case["Id"]), modstamp(case)
            except (KeyError, ValueError):
                continue
            self._seen[case_id] = stamp
            if read_at is not None:
                self._children_as_of[case_id] = read_at
                self._children_as_of.move_to_end(case_id)
        while len(self._children_as_of) > _CHILDREN_MEMORY:
            self._children_as_of.popitem(last=False)
        if batch.cursor is not None:
            cursor = datetime.fromisoformat(batch.cursor)
            if self._taken_cursor is None or cursor > self._taken_cursor:
                self._taken_cursor = cursor

    def _is_new(self, case: Mapping[str, Any], since: datetime | None) -> bool:
        """False for a case re-read in the overlap window that was already handed on unchanged.

        Only the window before the cursor is de-duplicated: anything after it is always
        returned, so fetching again from an older cursor yields everything after it.
        """
        try:
            stamp = modstamp(case)
        except (KeyError, ValueError):
            return True  # let normalisation report it as a failure
        if since is None or stamp > since:
            return True
        return self._seen.get(str(case.get("Id"))) != stamp

    def _prune_seen(self) -> None:
        # Only the overlap window can repeat, so older entries are dead weight.
        if not self._seen:
            return
        horizon = max(self._seen.values()) - timedelta(seconds=self.cfg.overlap_seconds + 1)
        self._seen = {cid: stamp for cid, stamp in self._seen.items() if stamp >= horizon}

    def _deleted_since(self, start: datetime) -> list[str]:
        client = self.client
        now = datetime.now(UTC)
        start = max(start, now - _DELETED_HORIZON + timedelta(minutes=5))
        if now - start < timedelta(minutes=2):
            start = now - timedelta(minutes=2)  # getDeleted needs a window over one minute
        result = client.call("listing deleted cases",
                             lambda: _case_type(client).deleted(start, now))
        if not isinstance(result, Mapping) or not isinstance(result.get("deletedRecords"), list):
            raise SalesforceApiError("Salesforce answered getDeleted without deletedRecords",
                                     code=None, status=200)
        return [str(r["id"]) for r in result["deletedRecords"]
                if isinstance(r, Mapping) and r.get("id")]

    def _conversations(self, cases: Sequence[Mapping[str, Any]], forward: bool
                       ) -> tuple[FetchBatch, datetime | None]:
        """The chunk's conversations, and Salesforce's time when its children were read.

        In a forward cycle, when every case of the chunk had its children read before, only
        the children changed since then (minus the overlap) are fetched: the engine keeps the
        older messages, and a case that changed only because of our write-back costs no rows.
        """
        ids = [str(c["Id"]) for c in cases if c.get("Id")]
        changed_since: datetime | None = None
        if forward and ids:
            known = [self._children_as_of.get(i) for i in ids]
            if all(k is not None for k in known):
                oldest = min(k for k in known if k is not None)
                changed_since = oldest - timedelta(seconds=self.cfg.overlap_seconds)
        emails, read_at = self._children("EmailMessage", EMAIL_FIELDS, ids, "MessageDate",
                                         changed_since)
        comments, _ = self._children("CaseComment", COMMENT_FIELDS, ids, "CreatedDate",
                                     changed_since)
        batch = FetchBatch()
        for case in cases:
            case_id = str(case.get("Id"))
            try:
                batch.interactions.extend(case_interactions(
                    self.source_name, case, emails.get(case_id, []), comments.get(case_id, [])))
                self._native_priority[case_id] = case.get("Priority")
            except (KeyError, ValueError, TypeError) as exc:
                batch.failures.append(FetchFailure(case_id, dict(case),
                                                   f"malformed Case record: {exc}"))
        if cases:
            try:
                batch.cursor = modstamp(cases[-1]).isoformat()
            except (KeyError, ValueError):
                batch.cursor = None
        return batch, read_at

    def _children(self, sobject: str, fields: Sequence[str], case_ids: Sequence[str],
                  order: str, changed_since: datetime | None = None
                  ) -> tuple[dict[str, list[Mapping[str, Any]]], datetime | None]:
        """Rows of ``sobject`` under ``case_ids`` (one query, paged), grouped by ParentId, and
        Salesforce's time at the first answer."""
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        if not case_ids:
            return grouped, None
        client = self.client
        since = (f" AND SystemModstamp >= {_soql_datetime(changed_since)}"
                 if changed_since is not None else "")
        soql = (f"SELECT {', '.join(fields)} FROM {sobject} WHERE ParentId IN "
                f"({', '.join(_quote(i) for i in case_ids)}){since} ORDER BY {order}, Id")
        headers = {"Sforce-Query-Options": f"batchSize={self.cfg.query_batch_size}"}
        what = f"reading {sobject} rows"
        page = client.call(what, lambda: client.sf.query(soql, headers=headers))
        read_at = client.server_time
        while True:
            for row in _records(page, f"{sobject} query"):
                grouped.setdefault(str(row.get("ParentId")), []).append(row)
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return grouped, read_at
            next_url = str(page["nextRecordsUrl"])
            page = client.call(what, lambda url=next_url: client.sf.query_more(  # type: ignore[misc]
                url, identifier_is_url=True, headers=headers))

    # -- write-back ---------------------------------------------------------------------------

    def plan_writeback(self, conversation: Conversation, context: EmotionalContext,
                       decisions: Decisions) -> list[FieldUpdate]:
        """The configured emotional fields, and Priority when the decision raises it."""
        record = conversation.interactions[-1].target_record
        available = self._known_fields()
        values: dict[str, Any] = {}
        mapping = self.cfg.fields.written()
        planned = {"sentiment": round(context.sentiment, 3),
                   "emotional_state": context.state.value,
                   "intensity": round(context.intensity, 3), "tier": context.tier.value}
        for key, api_name in mapping.items():
            if available is None or api_name in available:
                values[api_name] = planned[key]
        priority = decisions.priority
        if self.cfg.write_priority and priority is not None:
            native = self._native_priority.get(record, self._latest_priority(conversation))
            wanted = self.cfg.priority_map.get(priority.priority.value)
            if wanted is not None and self._raises(native, wanted):
                values["Priority"] = wanted
        rank = context.tier.rank
        return [FieldUpdate(source=self.source_name, record_id=record, field=name, value=value,
                            priority_rank=rank, reason="emotional context")
                for name, value in values.items()]

    def _latest_priority(self, conversation: Conversation) -> str | None:
        latest = max(conversation.interactions,
                     key=lambda i: i.updated_at or i.created_at)
        return latest.native_priority

    def _raises(self, native: str | None, wanted: str) -> bool:
        order = self.cfg.priority_order
        if native is None or native == "":
            return True
        if native not in order:
            return False  # an org-specific value we cannot rank: never risk lowering it
        return order.index(wanted) > order.index(native)

    def _known_fields(self) -> set[str] | None:
        """The org's Case fields if known; never raises (unknown: write what is configured)."""
        if self._available_fields is None:
            try:
                return self._fields_available()
            except EmpathyBridgeError as exc:
                log.warning("could not describe Case to check write-back fields: %s", exc)
                return None
        return self._available_fields

    def _fields_available(self) -> set[str] | None:
        """API names of Case fields in the org (one describe per adapter); None if unknown."""
        if self._available_fields is None:
            try:
                fields = self._describe_case()
            except SalesforceApiError as exc:
                log.warning("could not describe Case to check write-back fields: %s", exc)
                return None
            self._available_fields = {str(f.get("name")) for f in fields}
            missing = [n for n in self.cfg.fields.written().values()
                       if n not in self._available_fields]
            if missing:
                log.warning("Case fields %s do not exist in this org; they are not written. Run "
                            "`empathy-bridge fields check --source %s`", ", ".join(missing),
                            self.source_name)
        return self._available_fields

    def _describe_case(self) -> list[Mapping[str, Any]]:
        client = self.client
        result = client.call("describing Case", lambda: _case_type(client).describe())
        fields = result.get("fields") if isinstance(result, Mapping) else None
        if not isinstance(fields, list):
            raise SalesforceApiError("Salesforce answered describe without a fields list",
                                     code=None, status=200)
        return [f for f in fields if isinstance(f, Mapping)]

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        """One ``PATCH composite/sobjects`` per 200 records; one WriteResult per record."""
        records: dict[str, dict[str, Any]] = {}
        results: list[WriteResult] = []
        rejected: set[str] = set()
        for update in updates:
            if update.op != "set":
                if update.record_id not in rejected:
                    rejected.add(update.record_id)
                    results.append(WriteResult(
                        record_id=update.record_id, success=False,
                        error=f"Salesforce Case fields support only 'set', not {update.op!r} "
                              f"({update.field})", error_code="UNSUPPORTED_OPERATION"))
                continue
            record = records.setdefault(update.record_id, {"attributes": {"type": "Case"},
                                                           "id": update.record_id})
            record[update.field] = update.value
        for rid in rejected:
            records.pop(rid, None)
        chunk: list[dict[str, Any]] = []
        for record in records.values():
            chunk.append(record)
            if len(chunk) == COLLECTION_LIMIT:
                results.extend(self._patch(chunk))
                chunk = []
        if chunk:
            results.extend(self._patch(chunk))
        return results

    def _patch(self, records: list[dict[str, Any]]) -> list[WriteResult]:
        client = self.client
        body = {"allOrNone": False, "records": records}
        try:
            answer = client.call(
                f"updating {len(records)} cases",
                lambda: client.sf.restful("composite/sobjects", method="PATCH", json=body),
                retry=False)
        except SalesforceApiError as exc:
            # The whole request was refused (400): no record was written; each one becomes a
            # dead letter with the code, rather than the batch stopping the cycle.
            return [WriteResult(record_id=str(r["id"]), success=False, error=str(exc),
                                error_code=exc.code or f"HTTP_{exc.status}") for r in records]
        return save_results(records, answer)

    def read_fields(self, record_ids: Sequence[str], fields: Sequence[str]
                    ) -> Mapping[tuple[str, str], Any] | None:
        """Current values of Case ``fields`` (SOQL by Id), for reconciling unanswered writes."""
        wanted = [f for f in fields if f and f.replace("_", "").isalnum()]
        if not record_ids or not wanted:
            return {}
        client = self.client
        found: dict[tuple[str, str], Any] = {}
        for start in range(0, len(record_ids), self.cfg.max_ids_per_query):
            ids = record_ids[start:start + self.cfg.max_ids_per_query]
            soql = (f"SELECT Id, {', '.join(sorted(set(wanted)))} FROM Case WHERE Id IN "
                    f"({', '.join(_quote(i) for i in ids)})")
            page = client.call("reading back case fields", lambda q=soql: client.sf.query(q))  # type: ignore[misc]
            for row in _records(page, "Case read-back"):
                for name in wanted:
                    if name in row:
                        found[(str(row["Id"]), name)] = row[name]
        return found

    # -- fields and cases ---------------------------------------------------------------------

    def check_fields(self) -> list[FieldCheck]:
        """Check each configured Case field through ``describe`` and say what is missing."""
        checks = check_case_fields(self._describe_case(), self.cfg)
        self._available_fields = {c.native_id for c in checks if c.exists}
        return checks

    def create_case(self, interaction: Interaction, context: EmotionalContext, subject: str,
                    external_id: str) -> str:
        """Open (or find again) the Case for ``interaction``; idempotent by ``external_id``.

        An upsert on the external id field (``PATCH composite/sobjects/Case/<field>``): a retried
        create updates the case it already made instead of opening a duplicate.
        """
        ext_field = self.cfg.fields.external_id
        if not ext_field:
            raise ConfigError(f"sources.{self.source_name}.fields.external_id is empty: "
                              "create_case needs an External ID field to stay idempotent")
        if not external_id:
            raise SkippableError("create_case needs a non-empty external_id")
        available = self._known_fields()
        record: dict[str, Any] = {
            "attributes": {"type": "Case"}, ext_field: external_id[:255],
            "Subject": subject[:255], "Description": interaction.text[:32000],
            "Origin": self.cfg.create_case_origin,
        }
        author = interaction.author
        name = (author.name or author.handle) if author else None
        if name:
            record["SuppliedName"] = name[:80]
        priority = self.cfg.priority_map.get(_TIER_PRIORITY[context.tier].value)
        if priority:
            record["Priority"] = priority
        planned = {"sentiment": round(context.sentiment, 3),
                   "emotional_state": context.state.value,
                   "intensity": round(context.intensity, 3), "tier": context.tier.value}
        for key, api_name in self.cfg.fields.written().items():
            if available is None or api_name in available:
                record[api_name] = planned[key]
        client = self.client
        body = {"allOrNone": True, "records": [record]}
        try:
            answer = client.call(
                "creating a case",
                lambda: client.sf.restful(f"composite/sobjects/Case/{ext_field}",
                                          method="PATCH", json=body))
        except SalesforceApiError as exc:
            if exc.status == 404:
                raise ConfigError(
                    f"Case field {ext_field} does not exist or is not an External ID field: "
                    "create it (Text, External ID, Unique) or run `empathy-bridge fields check`"
                ) from exc
            raise SkippableError(str(exc), code=exc.code) from exc
        result = save_results([{"id": external_id}], answer)[0]
        native = answer[0].get("id") if isinstance(answer, list) and answer and isinstance(
            answer[0], Mapping) else None
        if not result.success or not native:
            raise SkippableError(f"Salesforce did not create the case: {result.error}",
                                 code=result.error_code)
        return str(native)

    def push_metrics(self, metrics: Sequence[EmpathyMetric],
                     options: Mapping[str, Any] | None = None) -> int:
        """Upsert ``metrics`` into a custom object (default ``Empathy_Metric__c``) by external id.

        See :mod:`empathy_bridge_salesforce.metrics_sink` for the options and field names.
        """
        from empathy_bridge_salesforce.metrics_sink import (
            MetricSinkOptions,
            metric_records,
            rejected,
        )

        opts = MetricSinkOptions(options)
        records = metric_records(metrics, opts)
        client = self.client
        path = f"composite/sobjects/{opts.object}/{opts.external_id_field}"
        outcomes: list[tuple[bool, str | None, str]] = []
        for start in range(0, len(records), COLLECTION_LIMIT):
            chunk = records[start:start + COLLECTION_LIMIT]
            body = {"allOrNone": False, "records": chunk}
            try:
                answer = client.call(
                    f"pushing {len(chunk)} metrics",
                    lambda b=body: client.sf.restful(  # type: ignore[misc]
                        path, method="PATCH", json=b))
            except SalesforceApiError as exc:
                if exc.status == 404:
                    raise ConfigError(
                        f"custom object {opts.object} with External ID field "
                        f"{opts.external_id_field} does not exist in this org: create it (see "
                        "docs/adapters/salesforce.md) or set the sink's options") from exc
                raise
            keys = [{"id": r[opts.external_id_field]} for r in chunk]
            outcomes += [(r.success, r.error_code, r.error or "")
                         for r in save_results(keys, answer)]
        if not all(ok for ok, _, _ in outcomes):
            raise rejected(outcomes, len(records))
        return len(outcomes)

    def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _case_type(client: SalesforceClient) -> SFType:
    # ``Salesforce.__getattr__`` is typed as a union with the bulk handlers; Case is an SFType.
    return cast(SFType, client.sf.Case)


def _records(page: Any, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(page, Mapping) or not isinstance(page.get("records"), list):
        raise SalesforceApiError(f"Salesforce answered the {what} without a records list",
                                 code=None, status=200)
    return [r for r in page["records"] if isinstance(r, Mapping)]


def save_results(records: Sequence[Mapping[str, Any]], answer: Any) -> list[WriteResult]:
    """One :class:`WriteResult` per record from sObject Collections SaveResults (same order).

    A malformed answer (not a list, wrong length, entries without ``success``) makes the affected
    records fail with ``MALFORMED_SAVE_RESULT`` instead of guessing what was saved.
    """
    ids = [str(r.get("id")) for r in records]
    if not isinstance(answer, list) or len(answer) != len(records):
        size = len(answer) if isinstance(answer, list) else type(answer).__name__
        message = (f"Salesforce returned a malformed SaveResult list ({size} entries for "
                   f"{len(records)} records); the outcome is unknown, replay the dead letter")
        return [WriteResult(record_id=rid, success=False, error=message,
                            error_code="MALFORMED_SAVE_RESULT") for rid in ids]
    results: list[WriteResult] = []
    for rid, entry in zip(ids, answer, strict=True):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("success"), bool):
            results.append(WriteResult(
                record_id=rid, success=False, error_code="MALFORMED_SAVE_RESULT",
                error=f"Salesforce returned a malformed SaveResult for case {rid}: "
                      f"{str(entry)[:200]}"))
            continue
        if entry["success"]:
            results.append(WriteResult(record_id=rid, success=True, native_response=dict(entry)))
            continue
        errors = entry.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else {}
        code, message = error_details([first]) if isinstance(first, Mapping) else (None, "")
        status = first.get("statusCode") if isinstance(first, Mapping) else None
        code = str(status) if status else code or "UNKNOWN_ERROR"
        fields = first.get("fields") if isinstance(first, Mapping) else None
        where = f" (fields: {', '.join(map(str, fields))})" if fields else ""
        results.append(WriteResult(
            record_id=rid, success=False, error_code=code,
            error=f"Salesforce rejected the update of case {rid}: {code}: {message}{where}",
            retriable=code in _RETRIABLE_CODES, native_response=dict(entry)))
    return results
