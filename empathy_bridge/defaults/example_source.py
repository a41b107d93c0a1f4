"""The built-in in-memory example source: a tiny help desk for the demo, docs and tests.

It is a real adapter (the conformance suite runs against it) whose "platform" is an in-process
:class:`ExampleDesk`: seeded tickets with customer and agent messages, record fields that
write-back updates, and a count of API calls by method and path like a sandbox would report.
Use it to try empathy-bridge without any account: ``[sources.example] adapter = "example"``.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from empathy_bridge.adapter import Adapter, Decisions, FetchBatch, FetchFailure, SourceConfig
from empathy_bridge.errors import SkippableError
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    EmotionalContext,
    FieldUpdate,
    Interaction,
    Party,
    Priority,
    WriteResult,
)
from empathy_bridge.secrets import Secrets
from empathy_bridge.text import clean_text

__all__ = ["ExampleAdapter", "ExampleConfig", "ExampleDesk"]

UpdateOp = Literal["set", "add_tags", "remove_tags", "create"]


def _tags(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


_CUSTOMER_LINES = [
    "This is the third time I'm writing about my refund and it's still not fixed!!!",
    "I don't understand how to export my invoices, where is the button?",
    "I'm worried: the charge of $450 went out twice and my rent is due Friday.",
    "Honestly disappointed, I expected the new plan to include the reports.",
    "Thank you so much, the fix works perfectly now!",
    "Can you tell me the opening hours of the support line?",
    "I want to cancel my subscription. I'm switching to another provider.",
    "Please let me talk to a human, the bot keeps sending me the same article.",
]
_AGENT_LINES = [
    "Thanks for reaching out, I'm looking into this now.",
    "I'm sorry for the trouble, I've escalated this to our billing team.",
    "Here is the guide that walks through it step by step.",
]


class ExampleDesk:
    """The in-memory help desk behind the example adapter (shared by name within a process)."""

    _instances: ClassVar[dict[str, ExampleDesk]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, seed: int = 7, tickets: int = 24) -> None:
        self.lock = threading.Lock()
        self.tickets: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, int] = {}
        self.clock = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
        self.version = 0
        rng = random.Random(seed)
        for n in range(1, tickets + 1):
            comments = []
            when = self.clock + timedelta(minutes=n)
            for turn in range(rng.randint(1, 3)):
                comments.append(
                    {
                        "id": f"{n}-{2 * turn}",
                        "author": f"customer-{n % 9}",
                        "role": "customer",
                        "body": rng.choice(_CUSTOMER_LINES),
                        "at": (when + timedelta(minutes=10 * turn)).isoformat(),
                    }
                )
                if turn < 2 and rng.random() < 0.6:
                    comments.append(
                        {
                            "id": f"{n}-{2 * turn + 1}",
                            "author": "agent-1",
                            "role": "agent",
                            "body": rng.choice(_AGENT_LINES),
                            "at": (when + timedelta(minutes=10 * turn + 5)).isoformat(),
                        }
                    )
            self.add_ticket(str(n), comments, priority=rng.choice([None, "normal", "high"]))

    @classmethod
    def named(cls, name: str, seed: int = 7, tickets: int = 24) -> ExampleDesk:
        """The desk called ``name`` in this process, created on first use."""
        with cls._registry_lock:
            if name not in cls._instances:
                cls._instances[name] = ExampleDesk(seed, tickets)
            return cls._instances[name]

    @classmethod
    def drop(cls, name: str) -> None:
        """Forget a named desk (tests)."""
        with cls._registry_lock:
            cls._instances.pop(name, None)

    def _count(self, method: str, path: str) -> None:
        self.calls[f"{method} {path}"] = self.calls.get(f"{method} {path}", 0) + 1

    def add_ticket(
        self, ticket_id: str, comments: list[dict[str, Any]], priority: str | None = None
    ) -> None:
        """Create or replace a ticket (bumps its change version)."""
        with self.lock:
            self.version += 1
            self.tickets[ticket_id] = {
                "id": ticket_id,
                "comments": comments,
                "priority": priority,
                "fields": {},
                "tags": [],
                "version": self.version,
                "requester": comments[0]["author"] if comments else None,
            }

    def changed_since(self, version: int, limit: int) -> list[dict[str, Any]]:
        """Tickets changed after ``version``, oldest change first (one 'API call')."""
        with self.lock:
            self._count("GET", "/tickets/changes")
            found = sorted(
                (t for t in self.tickets.values() if t["version"] > version),
                key=lambda t: t["version"],
            )
            return [json.loads(json.dumps(t)) for t in found[:limit]]

    def update_many(self, changes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply per-ticket changes in one 'API call'; unknown ids fail individually."""
        with self.lock:
            self._count("PUT", "/tickets/update_many")
            results = []
            for change in changes:
                ticket = self.tickets.get(str(change["id"]))
                if ticket is None:
                    results.append(
                        {"id": change["id"], "success": False, "error": "RecordNotFound"}
                    )
                    continue
                ticket["fields"].update(change.get("fields", {}))
                if "priority" in change:
                    ticket["priority"] = change["priority"]
                tags = set(ticket["tags"]) | set(change.get("add_tags", ()))
                ticket["tags"] = sorted(tags - set(change.get("remove_tags", ())))
                self.version += 1
                ticket["version"] = self.version  # our own write shows up as a change, like Zendesk
                results.append({"id": change["id"], "success": True})
            return results


class ExampleConfig(SourceConfig):
    """``[sources.example]`` keys."""

    desk: str = Field(default="demo", description="Name of the in-memory desk to use.")
    seed: int = 7
    tickets: int = Field(default=24, ge=0, le=1_000_000)
    page_size: int = Field(default=10, ge=1, le=1000)
    tag_prefix: str = "eb_"


class ExampleAdapter(Adapter):
    """Adapter for the in-memory :class:`ExampleDesk`."""

    name = "example"
    config_model = ExampleConfig
    write_batch_size = 20

    def __init__(self, source_name: str, config: SourceConfig, secrets: Secrets) -> None:
        super().__init__(source_name, config, secrets)
        assert isinstance(config, ExampleConfig)
        self.cfg = config
        self.desk = ExampleDesk.named(config.desk, config.seed, config.tickets)

    def fetch(self, cursor: str | None) -> Iterator[FetchBatch]:
        """Pages of changed tickets; the cursor is the last change version seen."""
        version = int(cursor or 0)
        while True:
            self.api_calls.add("GET", "/tickets/changes")
            tickets = self.desk.changed_since(version, self.cfg.page_size)
            if not tickets:
                return
            batch = FetchBatch()
            for ticket in tickets:
                try:
                    batch.interactions.extend(self._normalise(ticket))
                except (KeyError, ValueError, TypeError) as exc:
                    batch.failures.append(
                        FetchFailure(str(ticket.get("id")), ticket, f"malformed ticket: {exc}")
                    )
                version = ticket["version"]
            batch.cursor = str(version)
            yield batch

    def _normalise(self, ticket: dict[str, Any]) -> list[Interaction]:
        requester = ticket.get("requester")
        customer = (
            Party(source=self.source_name, id=requester, name=requester) if requester else None
        )
        out = []
        for comment in ticket["comments"]:
            role = AuthorRole(comment["role"])
            text, _ = clean_text(comment["body"], is_html="<" in comment["body"])
            out.append(
                Interaction(
                    source=self.source_name,
                    native_id=str(comment["id"]),
                    conversation_id=str(ticket["id"]),
                    channel="web",
                    kind="comment",
                    author=Party(source=self.source_name, id=comment["author"], role=role),
                    author_role=role,
                    customer=customer,
                    text=text,
                    created_at=datetime.fromisoformat(comment["at"]),
                    native_priority=ticket.get("priority"),
                    native_tags=tuple(ticket.get("tags", ())),
                )
            )
        return out

    def plan_writeback(
        self, conversation: Conversation, context: EmotionalContext, decisions: Decisions
    ) -> list[FieldUpdate]:
        """Sentiment/state/tier fields, state tag, and priority when the policy raises it."""
        record = conversation.interactions[-1].target_record
        prefix = self.cfg.tag_prefix

        def upd(field: str, value: Any, op: UpdateOp = "set") -> FieldUpdate:
            return FieldUpdate(
                source=self.source_name, record_id=record, field=field, value=value, op=op
            )

        updates = [
            upd("fields.sentiment", round(context.sentiment, 2)),
            upd("fields.state", context.state.value),
            upd("fields.intensity", round(context.intensity, 2)),
            upd("fields.tier", context.tier.value),
            upd("tags.add", [f"{prefix}{context.state.value}"], "add_tags"),
        ]
        priority = decisions.priority
        native = conversation.interactions[-1].native_priority
        if priority is not None and (
            native is None or priority.priority.rank > Priority(native).rank
        ):
            updates.append(upd("priority", priority.priority.value))
        return updates

    def apply(self, updates: Sequence[FieldUpdate]) -> list[WriteResult]:
        """One update_many call for all records in ``updates``."""
        changes: dict[str, dict[str, Any]] = {}
        for u in updates:
            change = changes.setdefault(u.record_id, {"id": u.record_id, "fields": {}})
            if u.field.startswith("fields."):
                change["fields"][u.field.removeprefix("fields.")] = u.value
            elif u.field == "priority":
                change["priority"] = u.value
            elif u.op == "add_tags":
                change.setdefault("add_tags", []).extend(_tags(u.value))
            elif u.op == "remove_tags":
                change.setdefault("remove_tags", []).extend(_tags(u.value))
            else:
                raise SkippableError(f"example desk has no field {u.field!r}")
        self.api_calls.add("PUT", "/tickets/update_many")
        results = self.desk.update_many(list(changes.values()))
        return [
            WriteResult(
                record_id=str(r["id"]),
                success=bool(r["success"]),
                error=r.get("error"),
                error_code=r.get("error"),
            )
            for r in results
        ]


@hookimpl
def empathy_bridge_register_adapters(register: Callable[[type[Adapter]], None]) -> None:
    """Register the example adapter."""
    register(ExampleAdapter)
