"""Checking and provisioning the ticket custom fields we write (``/api/v2/ticket_fields``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from empathy_bridge.adapter import FieldCheck
from empathy_bridge_zendesk.config import ZendeskConfig
from empathy_bridge_zendesk.transport import ZendeskHttp

__all__ = ["COMPATIBLE_TYPES", "FIELD_TITLES", "check_fields", "create_missing", "list_fields"]

#: Title a provisioned field gets, and by which an unconfigured one is found again.
FIELD_TITLES = {
    "sentiment": "Empathy sentiment",
    "state": "Empathy emotional state",
    "intensity": "Empathy intensity",
    "tier": "Empathy tier",
}

#: Zendesk field types that can hold each value we write.
COMPATIBLE_TYPES = {
    "sentiment": frozenset({"decimal", "text"}),
    "state": frozenset({"text", "tagger", "textarea"}),
    "intensity": frozenset({"decimal", "text"}),
    "tier": frozenset({"text", "tagger", "textarea"}),
}


def list_fields(http: ZendeskHttp) -> list[dict[str, Any]]:
    """Every ticket field of the account (follows ``next_page``)."""
    fields: list[dict[str, Any]] = []
    url: str | None = http.url("/ticket_fields.json")
    while url:
        page = http.get(url, "listing ticket fields")
        fields.extend(f for f in page.get("ticket_fields") or [] if isinstance(f, dict))
        url = page.get("next_page")
    return fields


def check_fields(config: ZendeskConfig, ids: Mapping[str, int | None],
                 existing: list[dict[str, Any]]) -> list[FieldCheck]:
    """One check per value we can write, against the account's ``existing`` fields."""
    by_id = {int(f["id"]): f for f in existing if "id" in f}
    by_title = {str(f.get("title")): f for f in existing}
    checks = []
    for name, title in FIELD_TITLES.items():
        field_id = ids.get(name)
        found = by_id.get(field_id) if field_id is not None else by_title.get(title)
        if found is None:
            detail = (f"field {field_id} does not exist in this Zendesk account: run "
                      "`empathy-bridge fields create`" if field_id is not None else
                      f"not configured (set fields.{name}; `fields create` provisions it)")
            checks.append(FieldCheck(name=name, native_id=str(field_id or ""), exists=False,
                                     compatible=False, detail=detail))
            continue
        kind = str(found.get("type"))
        compatible = kind in COMPATIBLE_TYPES[name] and bool(found.get("active", True))
        detail = f"{kind} field {found.get('title')!r}"
        if not found.get("active", True):
            detail += " (inactive: activate it in Zendesk admin)"
        elif not compatible:
            detail += f" cannot hold {name}: use one of {sorted(COMPATIBLE_TYPES[name])}"
        if field_id is None:
            detail += f"; found by title, set fields.{name} = {found['id']}"
        checks.append(FieldCheck(name=name, native_id=str(found["id"]), exists=True,
                                 compatible=compatible, detail=detail))
    return checks


def create_missing(http: ZendeskHttp, config: ZendeskConfig, checks: list[FieldCheck]
                   ) -> dict[str, int]:
    """Create the fields the checks found missing; returns ``name -> new id``."""
    created: dict[str, int] = {}
    types = config.field_types.model_dump()
    for check in checks:
        if check.exists:
            continue
        payload = {"ticket_field": {
            "type": types[check.name], "title": FIELD_TITLES[check.name],
            "description": f"Written by empathy-bridge: customer {check.name}.",
            "active": True, "visible_in_portal": False, "editable_in_portal": False,
        }}
        answer = http.post(http.url("/ticket_fields.json"), payload,
                           f"creating the {check.name} ticket field")
        created[check.name] = int(answer["ticket_field"]["id"])
    return created
