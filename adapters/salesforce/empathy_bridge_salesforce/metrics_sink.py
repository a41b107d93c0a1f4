"""Pushing computed empathy metrics into a Salesforce custom object, upserted by external id.

Configured as a platform sink of the ``[metrics]`` section::

    [[metrics.sinks]]
    kind = "platform"
    source = "salesforce"
    options = { object = "Empathy_Metric__c", external_id_field = "External_Id__c" }

Each metric becomes one record keyed by :func:`empathy_bridge.metrics.push.external_id` (name,
breakdown and period), sent through ``PATCH composite/sobjects/<object>/<externalIdField>`` in
collections of 200: a rerun updates the same records instead of duplicating them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from empathy_bridge.errors import ConfigError, SkippableError
from empathy_bridge.metrics.push import metric_record
from empathy_bridge.schemas import EmpathyMetric

__all__ = ["DEFAULT_METRIC_FIELDS", "MetricSinkOptions", "metric_records"]

#: Metric record key -> default API field name on the custom object.
DEFAULT_METRIC_FIELDS: dict[str, str] = {
    "name": "Metric__c", "value": "Value__c", "n": "N__c", "ci_low": "CI_Low__c",
    "ci_high": "CI_High__c", "dimension": "Dimension__c", "dimension_value": "Dimension_Value__c",
    "period_start": "Period_Start__c", "period_end": "Period_End__c",
    "definition": "Definition__c",
}
_KNOWN_OPTIONS = {"object", "external_id_field", "fields"}


class MetricSinkOptions:
    """Validated ``options`` of a Salesforce platform sink."""

    def __init__(self, options: Mapping[str, Any] | None) -> None:
        options = dict(options or {})
        unknown = sorted(set(options) - _KNOWN_OPTIONS)
        if unknown:
            raise ConfigError(f"metrics.sinks options: unknown key {unknown[0]!r} for Salesforce "
                              f"(known: {', '.join(sorted(_KNOWN_OPTIONS))})")
        self.object = str(options.get("object") or "Empathy_Metric__c")
        self.external_id_field = str(options.get("external_id_field") or "External_Id__c")
        fields = options.get("fields") or {}
        if not isinstance(fields, Mapping) or set(fields) - set(DEFAULT_METRIC_FIELDS):
            raise ConfigError("metrics.sinks options.fields maps metric keys "
                              f"({', '.join(DEFAULT_METRIC_FIELDS)}) to API field names")
        self.fields = {**DEFAULT_METRIC_FIELDS, **{str(k): str(v) for k, v in fields.items()}}
        for name in (self.object, self.external_id_field, *self.fields.values()):
            if not name.replace("_", "").isalnum():
                raise ConfigError(f"metrics.sinks options: {name!r} is not a Salesforce API name")


def metric_records(metrics: Sequence[EmpathyMetric], options: MetricSinkOptions
                   ) -> list[dict[str, Any]]:
    """sObject records for ``metrics`` (``Name`` is a readable label, cut to 80 characters)."""
    records = []
    for metric in metrics:
        flat = metric_record(metric)
        label = metric.name if not metric.dimension else (
            f"{metric.name} by {metric.dimension}={metric.dimension_value}")
        record: dict[str, Any] = {"attributes": {"type": options.object}, "Name": label[:80],
                                  options.external_id_field: flat["external_id"]}
        for key, api_name in options.fields.items():
            value = flat.get(key)
            if isinstance(value, str) and api_name != options.fields["definition"]:
                value = value[:255]
            record[api_name] = value
        records.append(record)
    return records


def rejected(results: Sequence[tuple[bool, str | None, str]], total: int) -> SkippableError:
    """The error raised when some metric records were refused (after the rest were written)."""
    failed = [(code, message) for ok, code, message in results if not ok]
    code, message = failed[0]
    return SkippableError(f"Salesforce refused {len(failed)} of {total} metric records "
                          f"({code}: {message}); run `empathy-bridge fields check` or fix the "
                          "custom object", code=code)
