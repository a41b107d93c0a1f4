"""A local Salesforce REST API over real HTTPS, for tests, the demo and benchmarks.

``SalesforceSandbox`` serves the REST paths the adapter uses under ``/services/data/vNN.N/``
with Salesforce's payloads and errors:

- ``GET query?q=SOQL`` and ``GET query/<locator>`` (``nextRecordsUrl`` paging, 2,000 records a
  page or ``Sforce-Query-Options: batchSize=N``); the SOQL subset is in
  :mod:`empathy_bridge_salesforce.soql`; anything else is a 400 ``MALFORMED_QUERY``;
- ``GET sobjects/Case/describe``, ``sobjects/Case/updated/``, ``sobjects/Case/deleted/``,
  ``sobjects/Case/<id>``, ``limits``;
- ``PATCH``/``POST composite/sobjects`` and ``PATCH composite/sobjects/Case/<externalIdField>``
  (at most 200 records, per-record SaveResults, ``allOrNone``);
- ``Sforce-Limit-Info: api-usage=N/M`` on every answer and a daily allowance that runs out with
  403 ``REQUEST_LIMIT_EXCEEDED``; 401 ``INVALID_SESSION_ID`` for a wrong or expired session;
- ``/_sandbox/stats`` and ``/_sandbox/records/<type>/<id>`` for inspection.

TLS uses a throwaway CA made at start-up (``ca_path``); point the adapter's ``ca_bundle`` at it.
"""

from __future__ import annotations

import collections
import itertools
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from empathy_bridge.sandbox import FaultConfig, SandboxServer, json_response
from empathy_bridge_salesforce.org import (
    CUSTOM_CASE_FIELDS,
    PREFIXES,
    WRITABLE,
    Org,
    SaveError,
    utcnow,
)
from empathy_bridge_salesforce.seed import seed_org
from empathy_bridge_salesforce.soql import SoqlError, format_datetime, parse_datetime, parse_soql

__all__ = ["DEFAULT_SESSION_ID", "SalesforceSandbox", "make_sandbox"]

#: Session id the sandbox accepts unless told otherwise.
DEFAULT_SESSION_ID = "00D5g0000000001!sandbox.session.token"

_MAX_COLLECTION = 200
_MAX_URI = 16_384
_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_PREFIX = "/services/data/<version>"


def _error(status: int, code: str, message: str, **headers: str) -> Response:
    return json_response([{"message": message, "errorCode": code}], status, dict(headers))


class _Locator:
    """A query cursor: the matching ids (a snapshot, as Salesforce keeps), fields and page size."""

    def __init__(self, sobject: str, fields: list[str], ids: list[str], batch: int) -> None:
        self.sobject = sobject
        self.fields = fields
        self.ids = ids
        self.batch = batch


class SalesforceSandbox(SandboxServer):
    """Salesforce Service Cloud emulator. See the module docstring for what it serves.

    :param records: seeded cases (plus about 2 % more that are already deleted).
    :param daily_api_limit: the org's daily API allowance (``Sforce-Limit-Info`` total).
    :param fields_missing: ``True`` for an org without any empathy custom fields, or the API
        names of the custom Case fields to leave out.
    :param session_id: the session id (access token) the sandbox accepts.
    :param expire_after_requests: the session expires after this many API requests.
    :param rate_limits: enforce the daily allowance (the header is sent either way).
    """

    name: ClassVar[str] = "salesforce"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 0,
                 records: int = 200, rate_limits: bool = True, error_rate: float = 0.0,
                 latency_ms: float = 0.0, drop_rate: float = 0.0,
                 daily_api_limit: int = 15_000, fields_missing: bool | Iterable[str] = False,
                 session_id: str = DEFAULT_SESSION_ID, expire_after_requests: int | None = None,
                 api_version: str = "59.0", metric_object: bool = True) -> None:
        super().__init__(host=host, port=port, seed=seed, tls=True, rate_limits=rate_limits,
                         faults=FaultConfig(error_rate=error_rate, latency_ms=latency_ms,
                                            drop_rate=drop_rate, seed=seed))
        if fields_missing is True:
            missing: list[str] = [f.name for f in CUSTOM_CASE_FIELDS]
        elif fields_missing is False:
            missing = []
        else:
            missing = list(fields_missing)
        self.org = Org(api_version=api_version, missing_fields=missing,
                       metric_object=metric_object)
        self.api_version = api_version
        self.daily_api_limit = daily_api_limit
        self.api_usage = 0
        self.session_id = session_id
        self.expire_after_requests = expire_after_requests
        self._authenticated_requests = 0
        self._locators: OrderedDict[str, _Locator] = OrderedDict()
        self._locator_ids = itertools.count(1)
        self.records_written = 0
        self.records_created = 0
        self.limit_refusals = 0
        self.rows_served: collections.Counter[str] = collections.Counter()
        seed_org(self.org, records=records, seed=seed, now=utcnow())

    # -- routes -------------------------------------------------------------------------------

    def url_map(self) -> list[Rule]:
        """The REST paths served."""
        return [
            Rule(f"{_PREFIX}/query", endpoint="query", methods=["GET"]),
            Rule(f"{_PREFIX}/query/<locator>", endpoint="query_more", methods=["GET"]),
            Rule(f"{_PREFIX}/limits", endpoint="limits", methods=["GET"]),
            Rule(f"{_PREFIX}/sobjects/<sobject>/describe", endpoint="describe", methods=["GET"]),
            Rule(f"{_PREFIX}/sobjects/<sobject>/updated", endpoint="updated", methods=["GET"]),
            Rule(f"{_PREFIX}/sobjects/<sobject>/deleted", endpoint="deleted", methods=["GET"]),
            Rule(f"{_PREFIX}/sobjects/<sobject>/<rid>", endpoint="retrieve", methods=["GET"]),
            Rule(f"{_PREFIX}/composite/sobjects", endpoint="collection",
                 methods=["PATCH", "POST"]),
            Rule(f"{_PREFIX}/composite/sobjects/<sobject>/<ext_field>", endpoint="upsert",
                 methods=["PATCH"]),
            Rule("/_sandbox/records/<sobject>/<rid>", endpoint="sandbox_records",
                 methods=["GET"]),
            Rule("/_sandbox/ca.pem", endpoint="sandbox_ca", methods=["GET"]),
        ]

    def route_key(self, request: Request, rule: Rule | None) -> str:
        """Stats key without the API version, e.g. ``GET /query``."""
        path = rule.rule if rule is not None else request.path
        return f"{request.method} {path.replace(_PREFIX, '')}"

    def not_found(self, request: Request) -> Response:
        """Salesforce's 404 shape."""
        return _error(404, "NOT_FOUND", "The requested resource does not exist",
                      **self._limit_header())

    def server_error_response(self) -> Response:
        """A 503 as Salesforce sends it during maintenance, with the usage header."""
        return _error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable",
                      **self._limit_header())

    def demo_source_config(self) -> dict[str, Any]:
        """The ``[sources.salesforce]`` table for this sandbox (call after start: the CA exists)."""
        table: dict[str, Any] = {"adapter": "salesforce", "base_url": self.url,
                                 "api_version": self.api_version,
                                 "session_id_env": "SALESFORCE_SESSION_ID"}
        if self.ca_path is not None:
            table["ca_bundle"] = str(self.ca_path)
        return table

    def demo_environment(self) -> dict[str, str]:
        """The sandbox session id, as the demo's ``SALESFORCE_SESSION_ID``."""
        return {"SALESFORCE_SESSION_ID": self.session_id}

    def extra_stats(self) -> dict[str, Any]:
        """API usage, records written and created, refusals, live cases."""
        return {"api_usage": self.api_usage, "daily_api_limit": self.daily_api_limit,
                "records_written": self.records_written,
                "records_created": self.records_created,
                "limit_refusals": self.limit_refusals,
                "rows_served": dict(self.rows_served),
                "cases": len(self.org.tables["Case"]),
                "deleted_cases": len(self.org.recycle_bin)}

    def reset_stats(self) -> None:
        """Zero the request and row counters (state and API usage are kept)."""
        super().reset_stats()
        with self.lock:
            self.rows_served.clear()

    # -- state helpers for tests and demos (not HTTP) -----------------------------------------

    def case_ids(self) -> list[str]:
        """Ids of live cases, oldest SystemModstamp first."""
        with self.lock:
            return [cid for _, cid in self.org.modstamps]

    def record(self, sobject: str, rid: str) -> dict[str, Any] | None:
        """Current state of a record in wire format (``None`` if absent)."""
        with self.lock:
            return self.org.snapshot(sobject, rid)

    def add_email(self, case_id: str, text: str | None, *, incoming: bool = True,
                  html: str | None = None) -> str:
        """Add an email to a case (bumps the case's SystemModstamp); returns its id."""
        with self.lock:
            now = utcnow()
            case = self.org.tables["Case"][case_id]
            eid = self.org.insert("EmailMessage", {
                "ParentId": case_id, "TextBody": text, "HtmlBody": html, "Incoming": incoming,
                "FromAddress": case["SuppliedEmail"] if incoming else "support@acme.example",
                "ToAddress": "support@acme.example" if incoming else case["SuppliedEmail"],
                "Subject": "Re: your case", "Status": "0", "MessageDate": now,
                "CreatedDate": now, "SystemModstamp": now})
            self.org.touch(case_id, now)
            return eid

    def update_case(self, case_id: str, **values: Any) -> None:
        """Change case fields as a user would (bumps SystemModstamp)."""
        with self.lock:
            self.org.update("Case", case_id, values, utcnow())

    def set_modstamp(self, case_id: str, when: datetime) -> None:
        """Force a case's SystemModstamp (e.g. a transaction that committed late)."""
        with self.lock:
            self.org.touch(case_id, when)

    def delete_case(self, case_id: str, when: datetime | None = None) -> None:
        """Delete a case (at ``when``, default now); it shows up in getDeleted.

        getDeleted works by the minute, so a deletion shows once its minute is over.
        """
        with self.lock:
            self.org.delete_case(case_id, when or utcnow())

    def expire_session(self) -> None:
        """Invalidate the current session id: every later request gets 401."""
        with self.lock:
            self.expire_after_requests = self._authenticated_requests

    def reset_quota(self) -> None:
        """Start a fresh daily allowance (as if the 24-hour window had rolled)."""
        with self.lock:
            self.api_usage = 0

    # -- the API guard: session, allowance, header --------------------------------------------

    def _limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_usage}/{self.daily_api_limit}"}

    def _serve(self, request: Request, handler: Callable[[], Response]) -> Response:
        with self.lock:
            auth = request.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").removeprefix("OAuth ").strip()
            expired = (self.expire_after_requests is not None
                       and self._authenticated_requests >= self.expire_after_requests)
            if token != self.session_id or expired:
                return _error(401, "INVALID_SESSION_ID", "Session expired or invalid",
                              **self._limit_header())
            self._authenticated_requests += 1
            if self.rate_limits_enabled and self.api_usage >= self.daily_api_limit:
                self.limit_refusals += 1
                return _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.",
                              **self._limit_header())
            self.api_usage += 1
            raw_uri = str(request.environ.get("RAW_URI") or request.full_path)
            if len(raw_uri) > _MAX_URI:
                response = _error(414, "URI_TOO_LONG",
                                  f"The request URI is too long ({len(raw_uri)} bytes)")
            else:
                response = handler()
            response.headers.update(self._limit_header())
            return response

    # -- query --------------------------------------------------------------------------------

    def on_query(self, request: Request, version: str) -> Response:
        """``GET query?q=SOQL``: the first page of a query."""
        return self._serve(request, lambda: self._query(request))

    def _query(self, request: Request) -> Response:
        text = request.args.get("q")
        if text is None:
            return _error(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            query = parse_soql(text)
            ids = self.org.execute(query)
        except SoqlError as exc:
            return _error(400, exc.code, f"{exc}\n{text[:200]}")
        batch = _batch_size(request.headers.get("Sforce-Query-Options", ""))
        locator = _Locator(query.sobject, query.fields, ids, batch)
        key = ""
        if len(ids) > batch:
            key = f"01g5g{next(self._locator_ids):010d}"
            self._locators[key] = locator
            while len(self._locators) > 200:  # Salesforce keeps a bounded number of cursors
                self._locators.popitem(last=False)
        return json_response(self._page(locator, key, 0))

    def on_query_more(self, request: Request, version: str, locator: str) -> Response:
        """``GET query/<locator>-<offset>``: the next page (``nextRecordsUrl``)."""
        return self._serve(request, lambda: self._query_more(locator))

    def _query_more(self, token: str) -> Response:
        key, _, offset_text = token.partition("-")
        found = self._locators.get(key)
        if found is None or not offset_text.isdigit():
            return _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return json_response(self._page(found, key, int(offset_text)))

    def _page(self, locator: _Locator, key: str, offset: int) -> dict[str, Any]:
        chunk = locator.ids[offset:offset + locator.batch]
        table = self.org.tables[locator.sobject]
        # A record deleted after the query ran is skipped, as Salesforce's cursor does.
        records = [self.org.render(locator.sobject, rid, locator.fields)
                   for rid in chunk if rid in table]
        self.rows_served[locator.sobject] += len(records)
        end = offset + len(chunk)
        result: dict[str, Any] = {"totalSize": len(locator.ids), "done": end >= len(locator.ids),
                                  "records": records}
        if not result["done"]:
            result["nextRecordsUrl"] = (f"/services/data/v{self.api_version}/query/"
                                        f"{key}-{end}")
        return result

    # -- sobjects -----------------------------------------------------------------------------

    def on_limits(self, request: Request, version: str) -> Response:
        """``GET limits``: the daily API allowance."""
        return self._serve(request, lambda: json_response({"DailyApiRequests": {
            "Max": self.daily_api_limit, "Remaining": self.daily_api_limit - self.api_usage}}))

    def on_describe(self, request: Request, version: str, sobject: str) -> Response:
        """``GET sobjects/<type>/describe``."""
        def handler() -> Response:
            if sobject not in self.org.schemas:
                return _error(404, "NOT_FOUND", "The requested resource does not exist")
            return json_response(self.org.describe(sobject))
        return self._serve(request, handler)

    def on_retrieve(self, request: Request, version: str, sobject: str, rid: str) -> Response:
        """``GET sobjects/<type>/<id>``: one record."""
        def handler() -> Response:
            found = self.org.snapshot(sobject, rid) if sobject in self.org.tables else None
            if found is None:
                return _error(404, "NOT_FOUND", "The requested resource does not exist")
            return json_response(found)
        return self._serve(request, handler)

    def on_updated(self, request: Request, version: str, sobject: str) -> Response:
        """``GET sobjects/Case/updated/?start=&end=``: ids changed in the window."""
        return self._serve(request, lambda: self._replication(request, sobject, deleted=False))

    def on_deleted(self, request: Request, version: str, sobject: str) -> Response:
        """``GET sobjects/Case/deleted/?start=&end=``: cases deleted in the window."""
        return self._serve(request, lambda: self._replication(request, sobject, deleted=True))

    def _replication(self, request: Request, sobject: str, *, deleted: bool) -> Response:
        if sobject != "Case":
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            # A literal '+' in a query string decodes to a space; simple-salesforce encodes it,
            # other clients may not.
            start = parse_datetime(request.args.get("start", "").replace(" ", "+"))
            end = parse_datetime(request.args.get("end", "").replace(" ", "+"))
        except ValueError:
            return _error(400, "INVALID_REPLICATION_DATE",
                          "start and end must be ISO-8601 dateTimes with an offset")
        now = utcnow()
        # Replication works at minute granularity; seconds are dropped.
        start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
        if end <= start:
            return _error(400, "INVALID_REPLICATION_DATE",
                          "startDate must chronologically precede endDate by more than one "
                          "minute")
        if now - start > timedelta(days=30):
            return _error(400, "INVALID_REPLICATION_DATE", "startDate can't be more than 30 "
                          "days ago")
        end = min(end, now.replace(second=0, microsecond=0))
        covered = format_datetime(end)
        if deleted:
            rows = self.org.deleted_between(start, end)
            return json_response({
                "deletedRecords": [{"id": cid, "deletedDate": format_datetime(when)}
                                   for cid, when in rows],
                "earliestDateAvailable": format_datetime(now - timedelta(days=15)),
                "latestDateCovered": covered})
        return json_response({"ids": self.org.updated_between(start, end),
                              "latestDateCovered": covered})

    # -- sObject Collections ------------------------------------------------------------------

    def _records(self, request: Request) -> tuple[list[Any], bool] | Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError as exc:
            return _error(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return _error(400, "JSON_PARSER_ERROR",
                          "The request body must be an object with a 'records' array")
        all_or_none = body.get("allOrNone", False)
        if not isinstance(all_or_none, bool):
            return _error(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
        records = body["records"]
        if len(records) > _MAX_COLLECTION:
            return _error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more "
                          f"than {_MAX_COLLECTION} records into this call")
        if not records:
            return _error(400, "JSON_PARSER_ERROR", "records must not be empty")
        return records, all_or_none

    def on_collection(self, request: Request, version: str) -> Response:
        """``PATCH``/``POST composite/sobjects``: update or create up to 200 records."""
        return self._serve(request, lambda: self._collection(request))

    def _collection(self, request: Request) -> Response:
        parsed = self._records(request)
        if isinstance(parsed, Response):
            return parsed
        records, all_or_none = parsed
        now = utcnow()
        creating = request.method == "POST"
        plans: list[tuple[str, str | None, dict[str, Any]] | SaveError] = []
        for record in records:
            try:
                plans.append(self._plan(record, creating))
            except SaveError as exc:
                plans.append(exc)
        return json_response(self._save(plans, all_or_none, now))

    def on_upsert(self, request: Request, version: str, sobject: str, ext_field: str) -> Response:
        """``PATCH composite/sobjects/<type>/<externalIdField>``: upsert by external id."""
        return self._serve(request, lambda: self._upsert(request, sobject, ext_field))

    def _upsert(self, request: Request, sobject: str, ext_field: str) -> Response:
        fdef = self.org.schemas.get(sobject, {}).get(ext_field)
        if sobject not in WRITABLE or fdef is None or not fdef.external_id:
            return _error(404, "NOT_FOUND", "Provided external ID field does not exist or is "
                          f"not accessible: {ext_field}")
        parsed = self._records(request)
        if isinstance(parsed, Response):
            return parsed
        records, all_or_none = parsed
        plans: list[tuple[str, str | None, dict[str, Any]] | SaveError] = []
        for record in records:
            try:
                kind, _, values = self._plan(record, creating=True)
                if kind != sobject:
                    raise SaveError("INVALID_TYPE", f"record type {kind} does not match {sobject}")
                key = values.get(ext_field)
                if not isinstance(key, str) or not key:
                    raise SaveError("MISSING_ARGUMENT", f"{ext_field} not specified", [ext_field])
                existing = self.org.find_external(sobject, ext_field, key)
                plans.append((kind, existing, values))
            except SaveError as exc:
                plans.append(exc)
        return json_response(self._save(plans, all_or_none, utcnow(), upsert=True))

    def _plan(self, record: Any, creating: bool) -> tuple[str, str | None, dict[str, Any]]:
        if not isinstance(record, dict):
            raise SaveError("JSON_PARSER_ERROR", "each record must be an object")
        attributes = record.get("attributes")
        sobject = attributes.get("type") if isinstance(attributes, dict) else None
        if sobject is None:
            raise SaveError("INVALID_TYPE", "Must send a concrete entity type.")
        if sobject not in WRITABLE or sobject not in self.org.schemas:
            raise SaveError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        values = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
        rid = record.get("id", record.get("Id"))
        if creating:
            if rid is not None:
                raise SaveError("INVALID_FIELD_FOR_INSERT_UPDATE",
                                "cannot specify Id in an insert call", ["Id"])
            return sobject, None, values
        if rid is None:
            raise SaveError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        if not isinstance(rid, str) or not _ID.match(rid):
            raise SaveError("MALFORMED_ID", f"Case ID: id value of incorrect type: {rid}", ["Id"])
        prefix = PREFIXES[sobject]
        if not rid.startswith(prefix):
            raise SaveError("INVALID_ID_FIELD", f"Invalid id for a {sobject}: {rid}", ["Id"])
        if sobject == "Case":
            rid = self._full_id(rid)
        return sobject, rid, values

    def _full_id(self, rid: str) -> str:
        if len(rid) == 18:
            return rid
        return next((cid for cid in (*self.org.tables["Case"], *self.org.recycle_bin)
                     if cid[:15] == rid), rid)

    def _save(self, plans: list[tuple[str, str | None, dict[str, Any]] | SaveError],
              all_or_none: bool, now: datetime, upsert: bool = False) -> list[dict[str, Any]]:
        if all_or_none:
            failed = any(isinstance(p, SaveError) for p in plans)
            for plan in plans:
                if isinstance(plan, SaveError):
                    continue
                try:
                    if plan[1] is None:
                        self.org.check_values(plan[0], plan[2], creating=True)
                    else:
                        self._check_update(plan[0], plan[1], plan[2])
                except SaveError:
                    failed = True
            if failed:
                return [self._rollback(p) for p in plans]
        results: list[dict[str, Any]] = []
        for plan in plans:
            if isinstance(plan, SaveError):
                results.append({"success": False, "errors": [plan.as_dict()]})
                continue
            sobject, rid, values = plan
            try:
                if rid is None:
                    new_id = self.org.create(sobject, values, now)
                    self.records_created += 1
                    result: dict[str, Any] = {"id": new_id, "success": True, "errors": []}
                    if upsert:
                        result["created"] = True
                else:
                    self.org.update(sobject, rid, values, now)
                    self.records_written += 1
                    result = {"id": rid, "success": True, "errors": []}
                    if upsert:
                        result["created"] = False
            except SaveError as exc:
                result = {"success": False, "errors": [exc.as_dict()]}
            results.append(result)
        return results

    def _check_update(self, sobject: str, rid: str, values: dict[str, Any]) -> None:
        if rid in self.org.recycle_bin:
            raise SaveError("ENTITY_IS_DELETED", "entity is deleted")
        if rid not in self.org.tables[sobject]:
            raise SaveError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {rid}")
        self.org.check_values(sobject, values, creating=False)

    def _rollback(self, plan: tuple[str, str | None, dict[str, Any]] | SaveError
                  ) -> dict[str, Any]:
        if isinstance(plan, SaveError):
            return {"success": False, "errors": [plan.as_dict()]}
        try:
            if plan[1] is None:
                self.org.check_values(plan[0], plan[2], creating=True)
            else:
                self._check_update(plan[0], plan[1], plan[2])
        except SaveError as exc:
            return {"success": False, "errors": [exc.as_dict()]}
        return {"success": False, "errors": [SaveError(
            "ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records "
            "were valid and the request was using AllOrNone header").as_dict()]}

    # -- inspection ---------------------------------------------------------------------------

    def on_sandbox_records(self, request: Request, sobject: str, rid: str) -> Response:
        """``GET /_sandbox/records/<type>/<id>``: a record's current state."""
        found = self.record(sobject, rid)
        if found is None:
            deleted = rid in self.org.recycle_bin
            return json_response({"error": "deleted" if deleted else "not found", "id": rid}, 404)
        return json_response(found)


    def on_sandbox_ca(self, request: Request) -> Response:
        """The throwaway CA certificate, for clients started outside this process
        (``curl -k https://127.0.0.1:PORT/_sandbox/ca.pem > ca.pem``, then ``ca_bundle``)."""
        if self.ca_path is None:
            return json_response({"error": "not started"}, 404)
        return Response(self.ca_path.read_bytes(), mimetype="application/x-pem-file")


def _batch_size(header: str) -> int:
    match = re.search(r"batchSize\s*=\s*(\d+)", header)
    if match is None:
        return 2000
    return max(200, min(2000, int(match.group(1))))


def make_sandbox(**options: Any) -> SalesforceSandbox:
    """Factory for ``empathy_bridge_register_sandboxes``: accepts the standard sandbox options
    (``host, port, seed, records, rate_limits, error_rate, latency_ms, drop_rate``) and the
    Salesforce ones of :class:`SalesforceSandbox`."""
    return SalesforceSandbox(**options)
