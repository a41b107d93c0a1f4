"""Push-back and exports of computed metrics: webhook, files, and platforms through adapters.

- **webhook** (httpx): ``POST {"metrics": [...]}`` in batches with an ``Idempotency-Key`` header
  (the same batch always carries the same key, so a receiver can drop a retried delivery);
  connection errors, 429 and 5xx are retried through :class:`~empathy_bridge.retry.RetryPolicy`
  (honouring ``Retry-After``), other 4xx stop with one line.
- **file**: CSV or JSON lines always; Parquet when ``pyarrow`` is installed
  (``pip install 'empathy-bridge[parquet]'``).
- **platform**: ``Adapter.push_metrics(metrics, options)`` of a configured source (Salesforce
  custom object upserted by external id, Zendesk organisation/user fields, ...).

Every metric has a stable :func:`external_id` (name, dimension, value and period), which the
platform sinks upsert on so that a rerun updates instead of duplicating.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from empathy_bridge.errors import ConfigError, FatalError, RetriableError
from empathy_bridge.metrics.settings import FileSink, WebhookSink
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import EmpathyMetric
from empathy_bridge.secrets import Secrets

__all__ = [
    "FIELDS",
    "PushReport",
    "external_id",
    "metric_record",
    "post_webhook",
    "write_file",
]

#: Columns of file exports and keys of webhook records, in order.
FIELDS = ("external_id", "name", "value", "n", "ci_low", "ci_high", "dimension",
          "dimension_value", "period_start", "period_end", "definition")


@dataclass
class PushReport:
    """What one push did, per sink (``"webhook:URL"``, ``"file:PATH"``, ``"platform:SOURCE"``)."""

    written: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def external_id(metric: EmpathyMetric) -> str:
    """Stable id of a metric's slot: same name, breakdown and period give the same id."""
    key = "|".join((metric.name, metric.dimension or "", metric.dimension_value or "",
                    metric.period_start.isoformat(), metric.period_end.isoformat()))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def metric_record(metric: EmpathyMetric) -> dict[str, Any]:
    """A flat record of a metric (JSON types only; timestamps as ISO-8601 UTC)."""
    data = metric.model_dump(mode="json")
    data["external_id"] = external_id(metric)
    return {key: data.get(key) for key in FIELDS}


def _format(sink: FileSink, path: Path) -> str:
    if sink.format:
        return sink.format
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "jsonl", "parquet"):
        return suffix
    if suffix == "ndjson":
        return "jsonl"
    raise ConfigError(f"metrics.sinks: cannot tell the format of {path.name!r}; set format = "
                      "'csv', 'jsonl' or 'parquet'")


def write_file(metrics: Sequence[EmpathyMetric], sink: FileSink, base_dir: Path,
               now: datetime | None = None) -> Path:
    """Write ``metrics`` to the sink's path (``{date}`` expanded); returns the path written."""
    now = now or datetime.now(UTC)
    path = Path(sink.path.replace("{date}", now.strftime("%Y-%m-%d")))
    if not path.is_absolute():
        path = base_dir / path
    fmt = _format(sink, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [metric_record(m) for m in metrics]
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "csv":
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(records)
    elif fmt == "jsonl":
        with tmp.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigError("Parquet export needs pyarrow: pip install 'empathy-bridge[parquet]' "
                              "(or export as csv/jsonl)") from None
        table = pa.Table.from_pylist(records, schema=pa.schema([
            ("external_id", pa.string()), ("name", pa.string()), ("value", pa.float64()),
            ("n", pa.int64()), ("ci_low", pa.float64()), ("ci_high", pa.float64()),
            ("dimension", pa.string()), ("dimension_value", pa.string()),
            ("period_start", pa.string()), ("period_end", pa.string()),
            ("definition", pa.string())]))
        pq.write_table(table, tmp)
    # Written beside and renamed, so a reader never sees half a file.
    tmp.replace(path)
    return path


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def post_webhook(
    metrics: Sequence[EmpathyMetric],
    sink: WebhookSink,
    secrets: Secrets,
    *,
    retry_policy: RetryPolicy | None = None,
    client: httpx.Client | None = None,
) -> int:
    """POST the metrics to the webhook in batches; returns how many were delivered."""
    policy = retry_policy or RetryPolicy(attempts=5, max_seconds=120.0)
    headers = {"Content-Type": "application/json", "User-Agent": "empathy-bridge-metrics"}
    if sink.token_env:
        token = secrets.require(sink.token_env, "metrics webhook bearer token")
        headers["Authorization"] = f"Bearer {token.get_secret_value()}"
    own = client is None
    http = client or httpx.Client(timeout=sink.timeout_seconds)
    delivered = 0
    try:
        for start in range(0, len(metrics), sink.batch_size):
            batch = [metric_record(m) for m in metrics[start:start + sink.batch_size]]
            body = json.dumps({"metrics": batch}, ensure_ascii=False, sort_keys=True).encode()
            key = hashlib.sha256(body).hexdigest()[:32]

            def send(body: bytes = body, key: str = key) -> None:
                try:
                    response = http.post(sink.url, content=body,
                                         headers={**headers, "Idempotency-Key": key})
                except httpx.TransportError as exc:
                    raise RetriableError(f"metrics webhook unreachable: "
                                         f"{type(exc).__name__}") from exc
                if response.status_code == 429 or response.status_code >= 500:
                    raise RetriableError(f"metrics webhook answered HTTP {response.status_code}",
                                         retry_after=_retry_after(response))
                if response.status_code >= 400:
                    raise FatalError(f"metrics webhook refused the batch with HTTP "
                                     f"{response.status_code}: check metrics.sinks url and "
                                     "token_env")

            policy.call(send)
            delivered += len(batch)
    finally:
        if own:
            http.close()
    return delivered


def sink_label(sink: Any) -> str:
    """A short label for reports: ``webhook:URL`` (no query string), ``file:PATH``, ..."""
    kind = getattr(sink, "kind", "?")
    if kind == "webhook":
        return f"webhook:{str(sink.url).split('?', 1)[0]}"
    if kind == "file":
        return f"file:{sink.path}"
    return f"{kind}:{getattr(sink, 'source', '')}"


def options_dict(options: Mapping[str, Any]) -> dict[str, Any]:
    """A plain copy of a sink's options (adapters receive a dict they may not mutate ours)."""
    copy: dict[str, Any] = json.loads(json.dumps(dict(options)))
    return copy
