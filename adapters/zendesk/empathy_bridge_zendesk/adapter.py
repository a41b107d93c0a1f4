"""The Zendesk Support adapter: incremental read, batched write-back, field provisioning."""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, cast

import requests

from empathy_bridge.adapter import (
    Adapter,
    Decisions,
    FetchBatch,
    FieldCheck,
    SourceConfig,
)
from empathy_bridge.errors import RetriableError, SkippableError
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import (
    Conversation,
    EmotionalContext,
    EmpathyMetric,
    FieldUpdate,
    Interaction,
    Party,
    Priority,
    Tier,
    WriteResult,
)
from empathy_bridge.secrets import Secrets
from empathy_bridge_zendesk.config import ZendeskConfig, plan_limits
from empathy_bridge_zendesk.export import ExportReader, UserDirectory
from empathy_bridge_zendesk.fields import check_fields, create_missing, list_fields
from empathy_bridge_zendesk.transport import ZendeskHttp, build_session
from empathy_bridge_zendesk.writeback import (
    TicketChange,
    build_changes,
    plan_ticket,
    results_from_job,
)

__all__ = ["ZendeskAdapter"]

#: Zendesk's limit of tickets per ``update_many`` call.
UPDATE_MANY_MAX = 100

_TicketMeta = tuple[str | None, tuple[str, ...]]

#: Priority of a ticket opened for an escalation, by the customer's tier.
_TIER_PRIORITY = {Tier.CALM: Priority.LOW.value, Tier.CONCERNED: Priority.NORMAL.value,
                  Tier.UPSET: Priority.NORMAL.value, Tier.DISTRESSED: Priority.HIGH.value,
                  Tier.CRITICAL: Priority.URGENT.value}


class ZendeskAdapter(Adapter):
    """Reads tickets, comments and CSAT from Zendesk Support and writes results back.

    Cost of a cycle (see ``docs/adapters/zendesk.md``): one export page per 1,000 changed
    tickets, about one events page per 1,000 ticket updates, and for write-back one
    ``update_many`` plus one job-status poll per 100 tickets.
    """

    name: ClassVar[str] = "zendesk"
    config_model: ClassVar[type[SourceConfig]] = ZendeskConfig
    write_batch_size: ClassVar[int] = UPDATE_MANY_MAX

    def __init__(self, source_name: str, config: SourceConfig, secrets: Secrets) -> None:
        super().__init__(source_name, config, secrets)
        self.cfg = cast(ZendeskConfig, config)
        self._http: ZendeskHttp | None = None
        self._retry_policy = RetryPolicy(attempts=self.cfg.retry_attempts,
                                         max_seconds=self.cfg.retry_max_seconds)
        #: Sleep between job-status polls (tests may swap it).
        self.sleep: Callable[[float], None] = time.sleep
        self._session = build_session(self.cfg, self.api_calls)
        # Per instance, as the plan is per account: the engine sizes its API budget from it.
        self.__dict__["plan_limits"] = plan_limits(self.cfg.plan)
        self._users: UserDirectory | None = None
        self._field_ids: dict[str, int] = self.cfg.fields.configured()
        # Current priority and tags of recently fetched tickets: plan_writeback compares with
        # these rather than with stored history, which may predate a human's change.
        self._tickets: collections.OrderedDict[str, _TicketMeta] = collections.OrderedDict()
        # A ticket is planned in the batch it was fetched in, so a few pages' worth suffice.
        self._tickets_max = 5_000

    @property
    def retry_policy(self) -> RetryPolicy:
        """The shared retry policy every HTTP call runs under (429s, 5xx, dropped sockets)."""
        return self._retry_policy

    @retry_policy.setter
    def retry_policy(self, policy: RetryPolicy) -> None:
        self._retry_policy = policy
        if self._http is not None:
            self._http.policy = policy

    @property
    def http(self) -> ZendeskHttp:
        """The zenpy-backed HTTP client (built on first use, so credentials are read lazily)."""
        if self._http is None:
            self._http = ZendeskHttp(self.cfg, self.secrets, self._session, self.retry_policy)
        return self._http

    @property
    def users(self) -> UserDirectory:
        """Users seen so far (requesters and comment authors)."""
        if self._users is None:
            self._users = UserDirectory(self.http)
        return self._users

    # -- HTTP plumbing the engine uses ------------------------------------------------------

    def http_sessions(self) -> list[requests.Session]:
        """The session zenpy sends through (the engine wraps it with the API budget)."""
        return [self._session]

    def classify_request(self, method: str, url: str) -> str:
        """Incremental exports have their own limit; everything else shares the plan's."""
        return "incremental_export" if "/api/v2/incremental/" in url else "default"

    # -- read -------------------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        """Batches of changed tickets' new comments (and CSAT answers) since ``cursor``."""
        reader = ExportReader(self.http, self.cfg, self.source_name, self.users,
                              self._remember_ticket)
        yield from reader.batches(cursor)

    def _remember_ticket(self, ticket: Mapping[str, Any]) -> None:
        key = str(ticket["id"])
        priority = ticket.get("priority")
        self._tickets[key] = (str(priority) if priority else None,
                              tuple(map(str, ticket.get("tags") or ())))
        self._tickets.move_to_end(key)
        while len(self._tickets) > self._tickets_max:
            self._tickets.popitem(last=False)

    def parties(self) -> Mapping[str, Party]:
        """Users seen during fetches, as parties (customers and agents)."""
        if self._users is None:
            return {}
        out: dict[str, Party] = {}
        for user in self._users.users.values():
            role = "customer" if user.role == "end-user" else "agent"
            out[str(user.id)] = Party(source=self.source_name, id=str(user.id), role=role,
                                      name=user.name, handle=user.email)
        return out

    # -- write ------------------------------------------------------------------------------

    def plan_writeback(self, conversation: Conversation, context: EmotionalContext,
                       decisions: Decisions) -> list[FieldUpdate]:
        """Custom fields, our prefixed tags and a raised priority for the conversation's ticket."""
        messages = [i for i in conversation.interactions if i.kind != "survey"]
        latest = max(messages or conversation.interactions,
                     key=lambda i: (i.updated_at or i.created_at, i.created_at))
        ticket_id = latest.target_record
        meta = self._tickets.get(ticket_id)
        priority, tags = meta if meta is not None else (latest.native_priority,
                                                        latest.native_tags)
        return plan_ticket(
            source=self.source_name, ticket_id=ticket_id, context=context, decisions=decisions,
            field_ids=self._field_ids, tag_prefix=self.cfg.tag_prefix if self.cfg.write_tags
            else None, native_priority=priority, native_tags=tags,
            write_priority=self.cfg.write_priority,
        )

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        """One ``update_many`` per 100 tickets, each job polled until it finishes."""
        changes, rejected = build_changes(updates)
        results = list(rejected.values())
        for start in range(0, len(changes), UPDATE_MANY_MAX):
            chunk = changes[start:start + UPDATE_MANY_MAX]
            try:
                results.extend(self._update_many(chunk))
            except SkippableError as exc:
                # The whole request was refused (4xx): each ticket becomes a dead letter.
                results.extend(WriteResult(record_id=str(c.ticket_id), success=False,
                                           error=str(exc), error_code=exc.code) for c in chunk)
        return results

    def _update_many(self, chunk: list[TicketChange]) -> list[WriteResult]:
        answer = self.http.put(self.http.url("/tickets/update_many.json"),
                               {"tickets": [c.payload() for c in chunk]},
                               f"queueing an update of {len(chunk)} tickets")
        job = answer.get("job_status") or {}
        return results_from_job(chunk, self._await_job(job))

    def _await_job(self, job: Mapping[str, Any]) -> Mapping[str, Any]:
        """Poll a job status until ``completed`` or ``failed``."""
        job_id = job.get("id")
        if not job_id:
            raise RetriableError("Zendesk queued an update without a job id")
        url = self.http.url(f"/job_statuses/{job_id}.json")
        deadline = time.monotonic() + self.cfg.job_timeout_seconds
        delay = 0.0
        while job.get("status") not in ("completed", "failed"):
            if time.monotonic() > deadline:
                raise RetriableError(f"Zendesk job {job_id} still {job.get('status')} after "
                                     f"{self.cfg.job_timeout_seconds:.0f}s")
            if delay:
                self.sleep(delay)
            job = self.http.get(url, f"polling job {job_id}").get("job_status") or {}
            delay = min(max(delay * 2, 0.05), 2.0)
        return job

    # -- metrics ----------------------------------------------------------------------------

    def push_metrics(self, metrics: Sequence[EmpathyMetric],
                     options: Mapping[str, Any] | None = None) -> int:
        """Write metrics broken down by organisation or customer into organisation and user
        fields; see :mod:`empathy_bridge_zendesk.metrics_push` for the options."""
        from empathy_bridge_zendesk import metrics_push

        return metrics_push.push(self.http.put, self._await_job, self.http.url, metrics, options)

    # -- cases ------------------------------------------------------------------------------

    def create_case(self, interaction: Interaction, context: EmotionalContext, subject: str,
                    external_id: str) -> str:
        """Open (or find again) a ticket for ``interaction``; idempotent by ``external_id``.

        Each attempt first looks the external id up (``GET /tickets.json?external_id=``), so
        a retry after an answer lost in transit finds the ticket instead of opening a second.
        The message goes in as a private note; fields and tags carry the emotional context.
        """
        if not external_id:
            raise SkippableError("create_case needs a non-empty external_id")
        planned = {"sentiment": round(context.sentiment, 3), "state": context.state.value,
                   "intensity": round(context.intensity, 3), "tier": context.tier.value}
        ticket: dict[str, Any] = {
            "subject": subject[:255], "external_id": external_id[:255],
            "comment": {"body": interaction.text[:60_000] or subject, "public": False},
            "priority": _TIER_PRIORITY[context.tier],
            "custom_fields": [{"id": fid, "value": planned[name]}
                              for name, fid in self._field_ids.items()],
        }
        if self.cfg.write_tags:
            prefix = self.cfg.tag_prefix
            ticket["tags"] = [f"{prefix}escalated_{interaction.source}"[:80],
                              f"{prefix}state_{context.state.value}",
                              f"{prefix}tier_{context.tier.value}"]
        http = self.http

        def find_or_create() -> str:
            found = http._send(http.session.get, http.url("/tickets.json"),
                               params={"external_id": external_id[:255]})
            for existing in found.get("tickets") or ():
                if existing.get("external_id") == external_id[:255]:
                    return str(existing["id"])
            created = http._send(http.session.post, http.url("/tickets.json"),
                                 json={"ticket": ticket})
            return str(created["ticket"]["id"])

        return http.call(f"opening a ticket for {external_id}", find_or_create)

    # -- fields -----------------------------------------------------------------------------

    def check_fields(self) -> list[FieldCheck]:
        """Each configured field: does it exist, with a type that can hold the value?"""
        ids: dict[str, int | None] = dict(self._field_ids)
        return check_fields(self.cfg, ids, list_fields(self.http))

    def create_fields(self) -> list[FieldCheck]:
        """Create missing fields; this adapter instance writes to the new ids at once."""
        checks = self.check_fields()
        created = create_missing(self.http, self.cfg, checks)
        self._field_ids.update(created)
        return [dataclasses.replace(c, detail=f"{c.detail}; created: set fields.{c.name} = "
                                    f"{created[c.name]} in the config")
                if c.name in created else c for c in self.check_fields()]

    def read_fields(self, record_ids: Sequence[str], fields: Sequence[str]
                    ) -> Mapping[tuple[str, str], Any] | None:
        """Current values of our write-back keys on tickets, by ``/tickets/show_many`` (100 a
        call); used by the engine to settle writes whose answer was lost."""
        out: dict[tuple[str, str], Any] = {}
        ids = [r for r in record_ids if r.isdigit()]
        for start in range(0, len(ids), UPDATE_MANY_MAX):
            chunk = ids[start:start + UPDATE_MANY_MAX]
            page = self.http.get(self.http.url("/tickets/show_many.json"),
                                 "reading back ticket fields", {"ids": ",".join(chunk)})
            for ticket in page.get("tickets") or ():
                record = str(ticket.get("id"))
                values = {f"custom_fields.{f.get('id')}": f.get("value")
                          for f in ticket.get("custom_fields") or () if isinstance(f, dict)}
                tags = list(ticket.get("tags") or ())
                for key in fields:
                    if key in ("tags.add", "tags.remove"):
                        out[(record, key)] = tags
                    elif key == "priority":
                        out[(record, key)] = ticket.get("priority")
                    elif key in values:
                        out[(record, key)] = values[key]
        return out

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()
