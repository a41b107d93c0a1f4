"""Pushing computed empathy metrics into Zendesk organisation and user fields.

Configured as a platform sink of the ``[metrics]`` section, with the breakdown the fields need::

    [[metrics.sinks]]
    kind = "platform"
    source = "zendesk"
    options = { organization_fields = { reply_empathy_score = "empathy_score" },
                user_fields = { sentiment_recovery = "sentiment_recovery" } }

    [metrics.schedule]
    cron = "0 6 * * *"
    breakdowns = ["organization", "customer"]   # or: metrics push --by organization

A metric broken down by ``organization`` (``dimension_value`` = organisation id) is written to
the mapped organisation field, one broken down by ``customer`` (the requester's user id) to the
mapped user field; other metrics are not Zendesk's to hold and are skipped. Writes go through
``organizations/update_many.json`` and ``users/update_many.json`` (100 records a call, each job
polled to the end). Setting a field is idempotent: a rerun overwrites the same fields, it never
creates records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from empathy_bridge.errors import ConfigError, SkippableError
from empathy_bridge.schemas import EmpathyMetric

__all__ = ["MAX_RECORDS", "MetricFieldOptions", "field_changes", "push"]

#: Zendesk's limit of records per ``update_many`` call.
MAX_RECORDS = 100

_KIND = {"organization": ("organizations", "organization_fields"),
         "customer": ("users", "user_fields")}
_FIELD_KEY = re.compile(r"^[a-z0-9_]{1,64}$")


class MetricFieldOptions:
    """Validated ``options`` of a Zendesk platform sink: metric name -> field key, per kind."""

    def __init__(self, options: Mapping[str, Any] | None) -> None:
        options = dict(options or {})
        known = {"organization_fields", "user_fields"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"metrics.sinks options: unknown key {unknown[0]!r} for Zendesk "
                              f"(known: {', '.join(sorted(known))})")
        self.fields: dict[str, dict[str, str]] = {}
        for dimension, (_, option) in _KIND.items():
            mapping = options.get(option) or {}
            if not isinstance(mapping, Mapping):
                raise ConfigError(f"metrics.sinks options.{option} maps metric names to "
                                  f"{option.removesuffix('s').replace('_', ' ')} keys")
            for metric, key in mapping.items():
                if not isinstance(key, str) or not _FIELD_KEY.match(key):
                    raise ConfigError(f"metrics.sinks options.{option}.{metric}: {key!r} is not "
                                      "a Zendesk field key (lower case, digits, underscores)")
            self.fields[dimension] = {str(k): str(v) for k, v in mapping.items()}
        if not any(self.fields.values()):
            raise ConfigError("metrics.sinks options: map at least one metric in "
                              "organization_fields or user_fields (see docs/metrics.md)")


def field_changes(metrics: Sequence[EmpathyMetric], options: MetricFieldOptions
                  ) -> dict[str, dict[int, dict[str, Any]]]:
    """``{"organization"|"customer": {record id: {field key: value}}}`` for the mapped metrics.

    Values are rounded to 4 decimals; a metric without a value (too little data) clears the
    field (``None``) rather than leaving a stale figure. Non-numeric ids (another platform's
    records) are skipped.
    """
    changes: dict[str, dict[int, dict[str, Any]]] = {dim: {} for dim in _KIND}
    for metric in metrics:
        dimension = metric.dimension or ""
        key = options.fields.get(dimension, {}).get(metric.name)
        if key is None or not (metric.dimension_value or "").isdigit():
            continue
        record = changes[dimension].setdefault(int(metric.dimension_value or 0), {})
        record[key] = None if metric.value is None else round(metric.value, 4)
    return changes


def push(
    put: Callable[[str, Any, str], Any],
    await_job: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    url: Callable[[str], str],
    metrics: Sequence[EmpathyMetric],
    options: Mapping[str, Any] | None,
) -> int:
    """Write the mapped metrics; returns the records updated. Raises :class:`SkippableError`
    naming the first refused record after writing all the others."""
    opts = MetricFieldOptions(options)
    written = 0
    refused: list[str] = []
    for dimension, records in field_changes(metrics, opts).items():
        resource, attribute = _KIND[dimension]
        ids = sorted(records)
        for start in range(0, len(ids), MAX_RECORDS):
            chunk = ids[start:start + MAX_RECORDS]
            payload = {resource: [{"id": rid, attribute: records[rid]} for rid in chunk]}
            answer = put(url(f"/{resource}/update_many.json"), payload,
                         f"updating {attribute} of {len(chunk)} {resource}")
            job = await_job(answer.get("job_status") or {})
            results = job.get("results") or []
            ok = {int(r["id"]) for r in results
                  if isinstance(r, Mapping) and r.get("success") is not False
                  and not r.get("error") and isinstance(r.get("id"), int)}
            written += len(ok & set(chunk))
            refused += [f"{resource[:-1]} {rid}" for rid in chunk if rid not in ok]
    if refused:
        raise SkippableError(f"Zendesk refused {len(refused)} metric record(s), first "
                             f"{refused[0]} (does it exist, and the field?); the others were "
                             "written", code="RecordNotFound")
    return written
