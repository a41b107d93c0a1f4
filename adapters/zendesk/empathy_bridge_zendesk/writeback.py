"""Write-back mapping: emotional context and decisions -> Zendesk ticket changes.

Native field keys used in :class:`~empathy_bridge.schemas.FieldUpdate`:

- ``custom_fields.<id>`` (op ``set``): a ticket custom field;
- ``priority`` (op ``set``): only ever *raised* above the ticket's current priority;
- ``tags.add`` (op ``add_tags``) and ``tags.remove`` (op ``remove_tags``): our prefixed tags.

Each record's updates become one entry of an ``update_many`` call (``additional_tags`` /
``remove_tags`` leave tags a human added untouched).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from empathy_bridge.adapter import Decisions
from empathy_bridge.schemas import (
    EmotionalContext,
    FieldUpdate,
    Priority,
    WriteResult,
)

__all__ = ["TicketChange", "build_changes", "plan_ticket", "results_from_job"]

_PRIORITY_RANK = {p.value: p.rank for p in Priority}
#: A ticket's updates are validated in one call: the same checks as one ``FieldUpdate(...)``
#: each, for less of pydantic's per-call cost.
_UPDATES = TypeAdapter(list[FieldUpdate])


def plan_ticket(
    *,
    source: str,
    ticket_id: str,
    context: EmotionalContext,
    decisions: Decisions,
    field_ids: Mapping[str, int],
    tag_prefix: str | None,
    native_priority: str | None,
    native_tags: Sequence[str],
    write_priority: bool,
) -> list[FieldUpdate]:
    """The desired changes for one ticket (the engine drops those the ledger already holds)."""
    tier = decisions.priority.tier if decisions.priority else context.tier
    rank = tier.rank
    values: dict[str, Any] = {
        "sentiment": round(context.sentiment, 3),
        "state": context.state.value,
        "intensity": round(context.intensity, 3),
        "tier": tier.value,
    }
    # Each dict names the same keys a FieldUpdate(...) call did, so fields_set is unchanged.
    updates: list[dict[str, Any]] = [
        {"source": source, "record_id": ticket_id, "field": f"custom_fields.{fid}",
         "value": values[name], "priority_rank": rank, "reason": f"empathy {name}"}
        for name, fid in field_ids.items() if name in values
    ]
    if tag_prefix:
        wanted = [f"{tag_prefix}state_{context.state.value}", f"{tag_prefix}tier_{tier.value}"]
        ours = (f"{tag_prefix}state_", f"{tag_prefix}tier_")
        stale = sorted(t for t in native_tags if t.startswith(ours) and t not in wanted)
        updates.append({"source": source, "record_id": ticket_id, "field": "tags.add",
                        "value": wanted, "op": "add_tags", "priority_rank": rank,
                        "reason": "empathy state and tier tags"})
        if stale:
            updates.append({"source": source, "record_id": ticket_id, "field": "tags.remove",
                            "value": stale, "op": "remove_tags", "priority_rank": rank,
                            "reason": "stale empathy tags"})
    decided = decisions.priority
    if write_priority and decided is not None:
        current = _PRIORITY_RANK.get(native_priority or "", -1)
        # Raise only: a priority a human set is never lowered by us.
        if decided.priority.rank > current:
            updates.append({"source": source, "record_id": ticket_id, "field": "priority",
                            "value": decided.priority.value, "priority_rank": rank,
                            "reason": decided.reason[:200]})
    return _UPDATES.validate_python(updates)


@dataclass
class TicketChange:
    """One ticket's entry of an ``update_many`` payload."""

    ticket_id: int
    custom_fields: dict[int, Any] = field(default_factory=dict)
    priority: str | None = None
    additional_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        """The JSON object for ``{"tickets": [...]}``."""
        body: dict[str, Any] = {"id": self.ticket_id}
        if self.custom_fields:
            body["custom_fields"] = [{"id": k, "value": v} for k, v in self.custom_fields.items()]
        if self.priority:
            body["priority"] = self.priority
        if self.additional_tags:
            body["additional_tags"] = self.additional_tags
        if self.remove_tags:
            body["remove_tags"] = self.remove_tags
        return body


def build_changes(updates: Sequence[FieldUpdate]
                  ) -> tuple[list[TicketChange], dict[str, WriteResult]]:
    """Group updates per ticket; records that cannot be expressed fail here, not at Zendesk."""
    changes: dict[str, TicketChange] = {}
    rejected: dict[str, WriteResult] = {}
    for update in updates:
        record = update.record_id
        if record in rejected:
            continue
        if not record.isdigit():
            rejected[record] = WriteResult(record_id=record, success=False,
                                           error=f"{record!r} is not a Zendesk ticket id",
                                           error_code="InvalidRecord")
            continue
        change = changes.setdefault(record, TicketChange(ticket_id=int(record)))
        key = update.field
        if key.startswith("custom_fields.") and key[14:].isdigit() and update.op == "set":
            change.custom_fields[int(key[14:])] = update.value
        elif key == "priority" and update.op == "set" and update.value in _PRIORITY_RANK:
            change.priority = str(update.value)
        elif update.op == "add_tags" and isinstance(update.value, list):
            change.additional_tags.extend(str(t) for t in update.value)
        elif update.op == "remove_tags" and isinstance(update.value, list):
            change.remove_tags.extend(str(t) for t in update.value)
        else:
            rejected[record] = WriteResult(
                record_id=record, success=False, error_code="UnsupportedField",
                error=f"cannot write {key!r} (op {update.op}) to a Zendesk ticket: use "
                      "custom_fields.<id>, priority, tags.add or tags.remove")
            changes.pop(record, None)
    return list(changes.values()), rejected


def results_from_job(changes: Sequence[TicketChange], job: Mapping[str, Any]
                     ) -> list[WriteResult]:
    """One WriteResult per ticket of a finished job (``completed`` or ``failed``)."""
    by_id: dict[int, Mapping[str, Any]] = {}
    results = job.get("results") or []
    for position, item in enumerate(results if isinstance(results, list) else []):
        if not isinstance(item, Mapping):
            continue
        ticket_id = item.get("id")
        if ticket_id is None and isinstance(item.get("index"), int):
            index = int(item["index"])
            ticket_id = changes[index].ticket_id if index < len(changes) else None
        if ticket_id is None and position < len(changes):
            ticket_id = changes[position].ticket_id
        if ticket_id is not None:
            by_id[int(ticket_id)] = item
    out: list[WriteResult] = []
    for change in changes:
        item = by_id.get(change.ticket_id)
        record = str(change.ticket_id)
        if item is None:
            message = str(job.get("message") or "the job reported no result for this ticket")
            out.append(WriteResult(record_id=record, success=False, error=message[:300],
                                   error_code="NoResult"))
        elif item.get("success") is False or item.get("error"):
            code = str(item.get("error") or "UpdateFailed")
            detail = str(item.get("details") or item.get("description") or code)
            if "custom field" in detail.lower():
                detail += " (run `empathy-bridge fields check` against this account)"
            out.append(WriteResult(record_id=record, success=False, error_code=code,
                                   error=f"Zendesk rejected ticket {record}: {detail}"[:300],
                                   native_response=dict(item)))
        else:
            out.append(WriteResult(record_id=record, success=True))
    return out
