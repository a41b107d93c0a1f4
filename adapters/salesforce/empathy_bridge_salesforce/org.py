"""The sandbox's in-memory Salesforce org: objects, indexes, SOQL execution and DML.

Holds Case, EmailMessage, CaseComment, User and Contact rows as dicts of Python values
(datetimes are aware UTC). Cases are indexed by id, by SystemModstamp (a sorted list, so a
``SystemModstamp >= X ORDER BY SystemModstamp, Id`` query is a bisect) and by external id;
children are indexed by ``ParentId``. Deleted cases move to a recycle bin that ``getDeleted``
reads. Every method is called under the sandbox's lock.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from empathy_bridge_salesforce.soql import (
    Condition,
    OrderBy,
    Query,
    SoqlError,
    format_datetime,
    parse_datetime,
)

__all__ = ["CUSTOM_CASE_FIELDS", "FieldDef", "Org", "SaveError", "sf_id"]

_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

PREFIXES = {"Case": "500", "EmailMessage": "02s", "CaseComment": "00a", "User": "005",
            "Contact": "003", "Account": "001", "Empathy_Metric__c": "a0B"}


def sf_id(prefix: str, number: int) -> str:
    """An 18-character Salesforce id with a valid case-safety checksum."""
    digits = ""
    while True:
        number, rem = divmod(number, 62)
        digits = _BASE62[rem] + digits
        if number == 0:
            break
    body = f"{prefix}5g0{digits.rjust(9, '0')}"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, char in enumerate(body[chunk * 5:chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += _CHECKSUM[bits]
    return body + suffix


@dataclass(frozen=True)
class FieldDef:
    """One field of an object as ``describe`` reports it."""

    name: str
    type: str
    label: str = ""
    updateable: bool = True
    createable: bool = True
    length: int = 0
    external_id: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: str | None = None
    relationship: str | None = None

    def describe(self) -> dict[str, Any]:
        """The field's entry in a describe result."""
        return {
            "name": self.name, "label": self.label or self.name, "type": self.type,
            "length": self.length, "updateable": self.updateable, "createable": self.createable,
            "nillable": self.name != "Id", "custom": self.name.endswith("__c"),
            "externalId": self.external_id, "unique": self.external_id,
            "restrictedPicklist": self.restricted,
            "picklistValues": [{"value": v, "label": v, "active": True, "defaultValue": False}
                               for v in self.picklist],
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship,
        }


def _ro(name: str, ftype: str, **extra: Any) -> FieldDef:
    """A system field: neither createable nor updateable through the API."""
    return FieldDef(name, ftype, updateable=False, createable=False, **extra)


_STATES = ("frustration", "confusion", "anxiety", "disappointment", "satisfaction", "neutral")
_TIERS = ("calm", "concerned", "upset", "distressed", "critical")

CUSTOM_CASE_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("Sentiment__c", "double", "Sentiment"),
    FieldDef("Emotional_State__c", "picklist", "Emotional State", picklist=_STATES,
             restricted=True),
    FieldDef("Emotional_Intensity__c", "double", "Emotional Intensity"),
    FieldDef("Empathy_Tier__c", "picklist", "Empathy Tier", picklist=_TIERS, restricted=True),
    FieldDef("Empathy_External_Id__c", "string", "Empathy External Id", length=255,
             external_id=True),
)

_SCHEMAS: dict[str, tuple[FieldDef, ...]] = {
    "Case": (
        _ro("Id", "id"),
        _ro("IsDeleted", "boolean"),
        _ro("CaseNumber", "string", length=30),
        FieldDef("Subject", "string", length=255),
        FieldDef("Description", "textarea", length=32000),
        FieldDef("Status", "picklist", picklist=("New", "Working", "Escalated", "Closed")),
        FieldDef("Priority", "picklist", picklist=("High", "Medium", "Low")),
        FieldDef("Origin", "picklist", picklist=("Phone", "Email", "Web")),
        _ro("IsClosed", "boolean"),
        _ro("ClosedDate", "datetime"),
        FieldDef("ContactId", "reference", reference_to="Contact", relationship="Contact"),
        FieldDef("AccountId", "reference", reference_to="Account", relationship="Account"),
        FieldDef("OwnerId", "reference", reference_to="User", relationship="Owner"),
        FieldDef("SuppliedEmail", "email", length=80),
        FieldDef("SuppliedName", "string", length=80),
        _ro("CreatedDate", "datetime"),
        _ro("LastModifiedDate", "datetime"),
        _ro("SystemModstamp", "datetime"),
    ),
    "EmailMessage": (
        _ro("Id", "id"),
        FieldDef("ParentId", "reference", reference_to="Case", relationship="Parent"),
        FieldDef("TextBody", "textarea", length=131072),
        FieldDef("HtmlBody", "textarea", length=131072),
        FieldDef("Incoming", "boolean"),
        FieldDef("FromAddress", "email", length=80),
        FieldDef("FromName", "string", length=1000),
        FieldDef("ToAddress", "string", length=4000),
        FieldDef("Subject", "string", length=3000),
        FieldDef("Status", "picklist", picklist=("0", "1", "2", "3", "4", "5")),
        FieldDef("MessageDate", "datetime"),
        _ro("CreatedDate", "datetime"),
        _ro("SystemModstamp", "datetime"),
    ),
    "CaseComment": (
        _ro("Id", "id"),
        FieldDef("ParentId", "reference", reference_to="Case", relationship="Parent"),
        FieldDef("CommentBody", "textarea", length=4000),
        FieldDef("IsPublished", "boolean"),
        _ro("CreatedById", "reference", reference_to="User", relationship="CreatedBy"),
        _ro("CreatedDate", "datetime"),
        _ro("SystemModstamp", "datetime"),
    ),
    "User": (
        _ro("Id", "id"),
        FieldDef("Name", "string", length=121),
        FieldDef("Email", "email", length=80),
        FieldDef("ContactId", "reference", reference_to="Contact", relationship="Contact"),
    ),
    "Contact": (
        _ro("Id", "id"),
        FieldDef("Name", "string", length=121),
        FieldDef("Email", "email", length=80),
    ),
}

#: The custom object metrics are pushed into (``Adapter.push_metrics``).
METRIC_OBJECT: tuple[FieldDef, ...] = (
    _ro("Id", "id"),
    FieldDef("Name", "string", length=80),
    FieldDef("External_Id__c", "string", length=255, external_id=True),
    FieldDef("Metric__c", "string", length=80),
    FieldDef("Value__c", "double"),
    FieldDef("N__c", "double"),
    FieldDef("CI_Low__c", "double"),
    FieldDef("CI_High__c", "double"),
    FieldDef("Dimension__c", "string", length=80),
    FieldDef("Dimension_Value__c", "string", length=255),
    FieldDef("Period_Start__c", "datetime"),
    FieldDef("Period_End__c", "datetime"),
    FieldDef("Definition__c", "textarea", length=32000),
    _ro("CreatedDate", "datetime"),
    _ro("SystemModstamp", "datetime"),
)

#: Objects SOQL may select FROM.
QUERYABLE = ("Case", "EmailMessage", "CaseComment", "User", "Contact", "Empathy_Metric__c")
#: Objects the API may create and update.
WRITABLE = ("Case", "Empathy_Metric__c")

_NUMERIC = ("double", "int", "currency", "percent")
_TEXT = ("string", "textarea", "picklist", "email", "phone", "url")


class SaveError(Exception):
    """A per-record DML failure, shaped like a SaveResult error."""

    def __init__(self, code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = list(fields)

    def as_dict(self) -> dict[str, Any]:
        """The ``errors[]`` entry of a SaveResult."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


class Org:
    """An in-memory org. ``missing_fields`` are custom Case fields this org does not have."""

    def __init__(self, api_version: str = "59.0", missing_fields: Iterable[str] = (),
                 metric_object: bool = True) -> None:
        self.api_version = api_version
        missing = set(missing_fields)
        schemas = dict(_SCHEMAS)
        if metric_object:
            schemas["Empathy_Metric__c"] = METRIC_OBJECT
        self.schemas: dict[str, dict[str, FieldDef]] = {
            name: {f.name: f for f in fields} for name, fields in schemas.items()
        }
        for custom in CUSTOM_CASE_FIELDS:
            if custom.name not in missing:
                self.schemas["Case"][custom.name] = custom
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in schemas}
        self.by_parent: dict[str, dict[str, list[str]]] = {"EmailMessage": {}, "CaseComment": {}}
        self.modstamps: list[tuple[datetime, str]] = []
        self.external_ids: dict[str, str] = {}
        self.recycle_bin: dict[str, datetime] = {}
        self._deleted_order: list[tuple[datetime, str]] = []
        self._counters = {name: itertools.count(1) for name in PREFIXES}
        self._case_numbers = itertools.count(1001)

    # -- ids and rows -------------------------------------------------------------------------

    def new_id(self, sobject: str) -> str:
        """A fresh id for ``sobject``."""
        return sf_id(PREFIXES[sobject], next(self._counters[sobject]))

    def insert(self, sobject: str, row: dict[str, Any]) -> str:
        """Store a row (seeding and API inserts); fills Id and system fields; returns the id."""
        row.setdefault("Id", self.new_id(sobject))
        schema = self.schemas[sobject]
        for name in schema:
            row.setdefault(name, None)
        if "IsDeleted" in schema:
            row["IsDeleted"] = False
        rid = str(row["Id"])
        self.tables[sobject][rid] = row
        if sobject == "Case":
            if row.get("CaseNumber") is None:
                row["CaseNumber"] = f"{next(self._case_numbers):08d}"
            bisect.insort(self.modstamps, (row["SystemModstamp"], rid))
            ext = row.get("Empathy_External_Id__c")
            if ext:
                self.external_ids[str(ext)] = rid
        elif sobject in self.by_parent:
            self.by_parent[sobject].setdefault(str(row["ParentId"]), []).append(rid)
        return rid

    def touch(self, case_id: str, when: datetime) -> None:
        """Bump a case's LastModifiedDate and SystemModstamp (re-indexing it)."""
        row = self.tables["Case"][case_id]
        old = (row["SystemModstamp"], case_id)
        index = bisect.bisect_left(self.modstamps, old)
        if index < len(self.modstamps) and self.modstamps[index] == old:
            del self.modstamps[index]
        row["SystemModstamp"] = row["LastModifiedDate"] = when
        bisect.insort(self.modstamps, (when, case_id))

    def delete_case(self, case_id: str, when: datetime) -> None:
        """Move a case and its children to the recycle bin."""
        row = self.tables["Case"].pop(case_id)
        old = (row["SystemModstamp"], case_id)
        index = bisect.bisect_left(self.modstamps, old)
        if index < len(self.modstamps) and self.modstamps[index] == old:
            del self.modstamps[index]
        ext = row.get("Empathy_External_Id__c")
        if ext:
            self.external_ids.pop(str(ext), None)
        for child in self.by_parent:
            for child_id in self.by_parent[child].pop(case_id, []):
                self.tables[child].pop(child_id, None)
        self.recycle_bin[case_id] = when
        bisect.insort(self._deleted_order, (when, case_id))

    def deleted_between(self, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
        """Cases deleted in ``[start, end]``."""
        lo = bisect.bisect_left(self._deleted_order, (start, ""))
        hi = bisect.bisect_right(self._deleted_order, (end, "\uffff"))
        return [(cid, when) for when, cid in self._deleted_order[lo:hi]]

    def updated_between(self, start: datetime, end: datetime) -> list[str]:
        """Ids of cases whose SystemModstamp is in ``[start, end]``."""
        lo = bisect.bisect_left(self.modstamps, (start, ""))
        hi = bisect.bisect_right(self.modstamps, (end, "\uffff"))
        return [cid for _, cid in self.modstamps[lo:hi]]

    # -- SOQL ---------------------------------------------------------------------------------

    def _field(self, sobject: str, path: str) -> tuple[FieldDef, str | None]:
        """Resolve a (possibly relationship) path; returns the final field and the relationship."""
        schema = self.schemas[sobject]
        if "." not in path:
            fdef = _lookup(schema, path)
            if fdef is None:
                raise SoqlError(f"No such column '{path}' on entity '{sobject}'. If you are "
                                "attempting to use a custom field, be sure to append the '__c' "
                                "after the custom field name.", "INVALID_FIELD")
            return fdef, None
        relationship, _, rest = path.partition(".")
        ref = next((f for f in schema.values()
                    if f.relationship and f.relationship.lower() == relationship.lower()), None)
        if ref is None or ref.reference_to is None or "." in rest:
            raise SoqlError(f"Didn't understand relationship '{relationship}' in field path. The "
                            "sandbox supports one level of parent relationship.", "INVALID_FIELD")
        target = _lookup(self.schemas[ref.reference_to], rest)
        if target is None:
            raise SoqlError(f"No such column '{rest}' on entity '{ref.reference_to}'.",
                            "INVALID_FIELD")
        return target, ref.name

    def _value(self, sobject: str, row: Mapping[str, Any], path: str) -> Any:
        fdef, ref_field = self._field(sobject, path)
        if ref_field is None:
            return row.get(fdef.name)
        ref_id = row.get(ref_field)
        schema_ref = self.schemas[sobject][ref_field].reference_to or ""
        parent = self.tables.get(schema_ref, {}).get(str(ref_id)) if ref_id else None
        return parent.get(fdef.name) if parent else None

    def validate(self, query: Query) -> None:
        """Check object, fields and literal types; raises :class:`SoqlError`."""
        if query.sobject not in QUERYABLE:
            raise SoqlError(f"sObject type '{query.sobject}' is not supported.", "INVALID_TYPE")
        for name in query.fields:
            self._field(query.sobject, name)
        for cond in query.where:
            fdef, _ = self._field(query.sobject, cond.field)
            values = cond.value if cond.op in ("IN", "NOT IN") else (cond.value,)
            for value in values:
                _check_literal(fdef, cond, value)
        for key in query.order_by:
            self._field(query.sobject, key.field)

    def execute(self, query: Query) -> list[str]:
        """Ids of the rows matching ``query``, in its order, cut to its LIMIT."""
        self.validate(query)
        sobject = query.sobject
        table = self.tables[sobject]
        conditions = list(query.where)
        candidates: Iterable[str]
        presorted = False
        parent_cond = next((c for c in conditions if c.field.lower() == "parentid"
                            and c.op in ("=", "IN")), None)
        stamp_conds = [c for c in conditions if c.field.lower() == "systemmodstamp"
                       and c.op in (">", ">=")]
        if sobject in self.by_parent and parent_cond is not None:
            parents = parent_cond.value if parent_cond.op == "IN" else (parent_cond.value,)
            index = self.by_parent[sobject]
            candidates = [cid for pid in dict.fromkeys(parents) for cid in index.get(pid, ())]
        elif sobject == "Case" and stamp_conds:
            start = max(stamp_conds, key=lambda c: c.value).value
            lo = bisect.bisect_left(self.modstamps, (start, ""))
            candidates = [cid for _, cid in self.modstamps[lo:]]
            presorted = [k.field.lower() for k in query.order_by if not k.descending] in (
                ["systemmodstamp", "id"], ["systemmodstamp"])
        else:
            candidates = list(table)
        rows = [table[cid] for cid in candidates if cid in table]
        matched = [r for r in rows if all(self._matches(sobject, r, c) for c in conditions)]
        if query.order_by and not presorted:
            matched = self._sort(sobject, matched, query.order_by)
        ids = [str(r["Id"]) for r in matched]
        return ids if query.limit is None else ids[:query.limit]

    def _matches(self, sobject: str, row: Mapping[str, Any], cond: Condition) -> bool:
        value = self._value(sobject, row, cond.field)
        if cond.op == "IN":
            return any(_equal(value, v) for v in cond.value)
        if cond.op == "NOT IN":
            return not any(_equal(value, v) for v in cond.value)
        if cond.op == "=":
            return _equal(value, cond.value)
        if cond.op == "!=":
            return not _equal(value, cond.value)
        if value is None or cond.value is None:
            return False
        if cond.op == "<":
            return bool(value < cond.value)
        if cond.op == "<=":
            return bool(value <= cond.value)
        if cond.op == ">":
            return bool(value > cond.value)
        return bool(value >= cond.value)

    def _sort(self, sobject: str, rows: list[dict[str, Any]],
              keys: Sequence[OrderBy]) -> list[dict[str, Any]]:
        # Stable sorts from the last key to the first give a multi-key sort with per-key
        # direction and NULLS FIRST/LAST (Salesforce: ASC puts nulls first, DESC last).
        for key in reversed(keys):
            nulls_last = key.nulls_last if key.nulls_last is not None else key.descending
            present = [r for r in rows if self._value(sobject, r, key.field) is not None]
            absent = [r for r in rows if self._value(sobject, r, key.field) is None]
            field_name = key.field

            def sort_key(row: dict[str, Any], name: str = field_name) -> Any:
                return self._value(sobject, row, name)

            present.sort(key=sort_key, reverse=key.descending)
            rows = present + absent if nulls_last else absent + present
        return rows

    def render(self, sobject: str, rid: str, fields: Sequence[str]) -> dict[str, Any]:
        """A query record: ``attributes`` plus the selected fields in wire format."""
        row = self.tables[sobject][rid]
        record: dict[str, Any] = {"attributes": self.attributes(sobject, rid)}
        for path in fields:
            fdef, ref_field = self._field(sobject, path)
            if ref_field is None:
                record[fdef.name] = wire(row.get(fdef.name))
                continue
            rel = self.schemas[sobject][ref_field]
            ref_id = row.get(ref_field)
            parent = self.tables[rel.reference_to or ""].get(str(ref_id)) if ref_id else None
            if parent is None:
                record[rel.relationship or ref_field] = None
                continue
            nested = record.get(rel.relationship or ref_field)
            if not isinstance(nested, dict):
                nested = {"attributes": self.attributes(rel.reference_to or "", str(ref_id))}
                record[rel.relationship or ref_field] = nested
            nested[fdef.name] = wire(parent.get(fdef.name))
        return record

    def attributes(self, sobject: str, rid: str) -> dict[str, str]:
        """The ``attributes`` of a record."""
        return {"type": sobject,
                "url": f"/services/data/v{self.api_version}/sobjects/{sobject}/{rid}"}

    # -- DML ----------------------------------------------------------------------------------

    def check_values(self, sobject: str, values: Mapping[str, Any], *, creating: bool) -> None:
        """Validate field names, writability and value types; raises :class:`SaveError`."""
        schema = self.schemas[sobject]
        for name, value in values.items():
            fdef = _lookup(schema, name)
            if fdef is None:
                raise SaveError("INVALID_FIELD",
                                f"No such column '{name}' on sobject of type {sobject}", [name])
            if not (fdef.createable if creating else fdef.updateable):
                raise SaveError("INVALID_FIELD_FOR_INSERT_UPDATE",
                                f"Unable to create/update fields: {fdef.name}. Please check the "
                                "security settings of this field and verify that it is "
                                "read/write for your profile or permission set.", [fdef.name])
            _check_value(fdef, value)

    def update(self, sobject: str, rid: str, values: Mapping[str, Any], when: datetime) -> None:
        """Update one row (Case only bumps SystemModstamp); raises :class:`SaveError`."""
        if rid in self.recycle_bin:
            raise SaveError("ENTITY_IS_DELETED", "entity is deleted", [])
        row = self.tables[sobject].get(rid)
        if row is None:
            raise SaveError("INVALID_CROSS_REFERENCE_KEY",
                            f"invalid cross reference id: {rid}", [])
        self.check_values(sobject, values, creating=False)
        self._assign(sobject, rid, row, values)
        if sobject == "Case":
            self.touch(rid, when)

    def create(self, sobject: str, values: Mapping[str, Any], when: datetime) -> str:
        """Insert a record from API values; raises :class:`SaveError`."""
        self.check_values(sobject, values, creating=True)
        schema = self.schemas[sobject]
        row: dict[str, Any] = {"CreatedDate": when, "SystemModstamp": when}
        if sobject == "Case":
            row.update({"Status": "New", "Priority": "Medium", "LastModifiedDate": when})
        normalised: dict[str, Any] = {}
        for key, value in values.items():
            fdef = _lookup(schema, key)
            assert fdef is not None  # check_values rejected unknown fields
            normalised[fdef.name] = _stored(fdef, value)
        row.update(normalised)
        for fdef in schema.values():
            ext_value = normalised.get(fdef.name)
            if fdef.external_id and ext_value:
                existing = self.find_external(sobject, fdef.name, str(ext_value))
                if existing is not None:
                    raise SaveError("DUPLICATE_VALUE", f"duplicate value found: {fdef.name} "
                                    f"duplicates value on record with id: {existing}",
                                    [fdef.name])
        if sobject == "Case":
            row["IsClosed"] = row.get("Status") == "Closed"
        return self.insert(sobject, row)

    def find_external(self, sobject: str, field: str, key: str) -> str | None:
        """Id of the ``sobject`` record whose external id ``field`` equals ``key``."""
        if sobject == "Case" and field == "Empathy_External_Id__c":
            return self.external_ids.get(key)
        return next((rid for rid, row in self.tables[sobject].items() if row.get(field) == key),
                    None)

    def _assign(self, sobject: str, rid: str, row: dict[str, Any],
                values: Mapping[str, Any]) -> None:
        schema = self.schemas[sobject]
        for name, value in values.items():
            fdef = _lookup(schema, name)
            assert fdef is not None
            value = _stored(fdef, value)
            if sobject == "Case" and fdef.name == "Empathy_External_Id__c":
                old = row.get(fdef.name)
                if old:
                    self.external_ids.pop(str(old), None)
                if value:
                    self.external_ids[str(value)] = rid
            row[fdef.name] = value
        if sobject == "Case" and "Status" in row:
            row["IsClosed"] = row["Status"] == "Closed"

    def describe(self, sobject: str) -> dict[str, Any]:
        """The describe result of ``sobject``."""
        return {
            "name": sobject, "label": sobject, "keyPrefix": PREFIXES.get(sobject),
            "custom": False, "createable": True, "updateable": True, "queryable": True,
            "fields": [f.describe() for f in self.schemas[sobject].values()],
            "urls": {"describe": f"/services/data/v{self.api_version}/sobjects/{sobject}/describe"},
        }

    def snapshot(self, sobject: str, rid: str) -> dict[str, Any] | None:
        """Current state of one record in wire format (for ``/_sandbox/records``)."""
        table = self.tables.get(sobject)
        row = table.get(rid) if table is not None else None
        if row is None:
            return None
        return {"attributes": self.attributes(sobject, rid),
                **{k: wire(v) for k, v in row.items()}}


def _stored(fdef: FieldDef, value: Any) -> Any:
    """An API value as the org stores it (dateTime strings become datetimes)."""
    if fdef.type == "datetime" and isinstance(value, str):
        return parse_datetime(value)
    return value


def wire(value: Any) -> Any:
    """A field value in JSON wire format."""
    if isinstance(value, datetime):
        return format_datetime(value)
    return value


def _lookup(schema: Mapping[str, FieldDef], name: str) -> FieldDef | None:
    # Salesforce field names are case-insensitive.
    found = schema.get(name)
    if found is not None:
        return found
    lowered = name.lower()
    return next((f for key, f in schema.items() if key.lower() == lowered), None)


def _equal(value: Any, literal: Any) -> bool:
    if isinstance(value, str) and isinstance(literal, str) and len(literal) == 15 \
            and len(value) == 18:
        return value[:15] == literal  # 15-character ids match their 18-character form
    return bool(value == literal)


def _check_literal(fdef: FieldDef, cond: Condition, value: Any) -> None:
    if value is None:
        if cond.op not in ("=", "!="):
            raise SoqlError(f"null is only allowed with = and != (field {fdef.name})",
                            "MALFORMED_QUERY")
        return
    if fdef.type == "datetime" and not isinstance(value, datetime):
        raise SoqlError(f"value of filter criterion for field '{fdef.name}' must be of type "
                        "dateTime and should not be enclosed in quotes", "INVALID_FIELD")
    if fdef.type in _NUMERIC and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise SoqlError(f"value of filter criterion for field '{fdef.name}' must be a number",
                        "INVALID_FIELD")
    if fdef.type == "boolean" and not isinstance(value, bool):
        raise SoqlError(f"value of filter criterion for field '{fdef.name}' must be true or false",
                        "INVALID_FIELD")
    if fdef.type in (*_TEXT, "id", "reference") and not isinstance(value, str):
        raise SoqlError(f"value of filter criterion for field '{fdef.name}' must be a quoted "
                        "string", "INVALID_FIELD")


def _check_value(fdef: FieldDef, value: Any) -> None:
    if value is None:
        return
    if fdef.type in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SaveError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                            f"{fdef.label or fdef.name}: value not of required type: {value!r}",
                            [fdef.name])
        return
    if fdef.type == "boolean":
        if not isinstance(value, bool):
            raise SaveError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                            f"{fdef.name}: value not of required type: {value!r}", [fdef.name])
        return
    if fdef.type == "datetime":
        try:
            parse_datetime(str(value))
        except ValueError:
            raise SaveError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{fdef.name}: value not of "
                            f"required type: {value!r}", [fdef.name]) from None
        return
    if not isinstance(value, str):
        raise SaveError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                        f"{fdef.name}: value not of required type: {value!r}", [fdef.name])
    if fdef.length and len(value) > fdef.length:
        raise SaveError("STRING_TOO_LONG", f"{fdef.name}: data value too large: "
                        f"{value[:20]}... (max length={fdef.length})", [fdef.name])
    if fdef.restricted and value not in fdef.picklist:
        raise SaveError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{fdef.name}: bad value for restricted picklist field: {value}",
                        [fdef.name])


def utcnow() -> datetime:
    """The sandbox clock (millisecond precision, as Salesforce stores it)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
