"""Checking the configured write-back fields against the org's Case ``describe``.

Each configured field is looked up by API name; the check says whether it exists, whether its
type can hold what we write, and, when it cannot, what to create or change. Salesforce custom
fields cannot be created through the REST data API, so the fix is spelled out for Setup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from empathy_bridge.adapter import FieldCheck
from empathy_bridge.schemas import EmotionalState, Tier
from empathy_bridge_salesforce.config import SalesforceConfig

__all__ = ["check_case_fields"]

_NUMBER = ("double", "percent", "currency", "int")
_TEXT = ("string", "textarea", "picklist")

# logical key -> (types accepted, what to create, values a restricted picklist must allow)
_SPECS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...]]] = {
    "sentiment": (_NUMBER, "Number(1, 3) (values -1..1)", ()),
    "emotional_state": (_TEXT, "Picklist or Text(32)", tuple(s.value for s in EmotionalState)),
    "intensity": (_NUMBER, "Number(1, 3) (values 0..1)", ()),
    "tier": (_TEXT, "Picklist or Text(32)", tuple(t.value for t in Tier)),
    "external_id": (("string", "email"), "Text(255) marked External ID and Unique", ()),
}


def check_case_fields(describe_fields: Sequence[Mapping[str, Any]],
                      config: SalesforceConfig) -> list[FieldCheck]:
    """One :class:`FieldCheck` per configured field (plus ``Priority`` when it is written)."""
    by_name = {str(f.get("name", "")).lower(): f for f in describe_fields}
    wanted = dict(config.fields.written())
    if config.fields.external_id:
        wanted["external_id"] = config.fields.external_id
    checks: list[FieldCheck] = []
    for key, api_name in wanted.items():
        types, kind, values = _SPECS[key]
        found = by_name.get(api_name.lower())
        if found is None:
            checks.append(FieldCheck(
                name=key, native_id=api_name, exists=False, compatible=False,
                detail=f"{api_name} does not exist on Case in this org: create a {kind} custom "
                       f"field with API name {api_name} (Setup > Object Manager > Case > Fields "
                       f"& Relationships), or set fields.{key} to an existing field, or to \"\" "
                       "to stop writing it"))
            continue
        checks.append(_check_existing(key, api_name, found, types, kind, values))
    if config.write_priority:
        found = by_name.get("priority")
        if found is None:
            checks.append(FieldCheck(name="priority", native_id="Priority", exists=False,
                                     compatible=False, detail="Case has no Priority field"))
        else:
            allowed = {str(v.get("value")) for v in found.get("picklistValues") or []
                       if isinstance(v, Mapping)}
            missing = [v for v in config.priority_map.values() if allowed and v not in allowed]
            checks.append(FieldCheck(
                name="priority", native_id="Priority", exists=True, compatible=not missing,
                detail=(f"Priority picklist lacks {', '.join(sorted(set(missing)))}: add the "
                        "values or change priority_map") if missing else "ok"))
    return checks


def _check_existing(key: str, api_name: str, found: Mapping[str, Any], types: tuple[str, ...],
                    kind: str, values: tuple[str, ...]) -> FieldCheck:
    ftype = str(found.get("type"))
    if ftype not in types:
        return FieldCheck(name=key, native_id=api_name, exists=True, compatible=False,
                          detail=f"{api_name} is a {ftype} field; it must be a {kind}")
    if key == "external_id" and not found.get("externalId"):
        return FieldCheck(name=key, native_id=api_name, exists=True, compatible=False,
                          detail=f"{api_name} is not marked External ID: edit the field and tick "
                                 "'External ID' (and 'Unique') so create_case can upsert on it")
    if key != "external_id" and not found.get("updateable", True):
        return FieldCheck(name=key, native_id=api_name, exists=True, compatible=False,
                          detail=f"{api_name} is read-only for the integration user: grant edit "
                                 "access in its field-level security")
    if ftype == "picklist" and found.get("restrictedPicklist") and values:
        allowed = {str(v.get("value")) for v in found.get("picklistValues") or []
                   if isinstance(v, Mapping)}
        missing = [v for v in values if v not in allowed]
        if missing:
            return FieldCheck(name=key, native_id=api_name, exists=True, compatible=False,
                              detail=f"restricted picklist {api_name} lacks values: "
                                     f"{', '.join(missing)}")
    return FieldCheck(name=key, native_id=api_name, exists=True, compatible=True, detail="ok")
