"""Where alerts go: the log, a webhook, or a case in a CRM through its adapter.

Each sink delivers one :class:`Alert` and returns a reference (the case id for a case sink) or
raises. Delivery bookkeeping (once per alert and sink, failures retried on the next cycle)
lives in :mod:`empathy_bridge.social.ops`; the sinks only talk to the outside world.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from empathy_bridge.adapter import Adapter
from empathy_bridge.errors import RetriableError, SkippableError
from empathy_bridge.retry import RetryPolicy
from empathy_bridge.schemas import EmotionalContext, Interaction
from empathy_bridge.secrets import Secrets
from empathy_bridge.social.settings import CaseSink, LogSink, WebhookSink

__all__ = ["Alert", "case_description", "deliver_case", "deliver_log", "deliver_webhook",
           "open_case"]

log = logging.getLogger("empathy_bridge.social")

#: Header carrying the HMAC-SHA256 (hex) of a webhook body when the sink has a secret.
SIGNATURE_HEADER = "X-Empathy-Signature"


@dataclass(frozen=True)
class Alert:
    """A fired listening rule (or escalation) as the sinks see it."""

    id: int
    rule: str
    severity: str
    summary: str
    fired_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    #: The most intense post behind the alert, with its reading (for case sinks).
    post: Interaction | None = None
    context: EmotionalContext | None = None

    def payload(self) -> dict[str, Any]:
        """JSON body of a webhook delivery."""
        return {"id": self.id, "rule": self.rule, "severity": self.severity,
                "summary": self.summary, "fired_at": self.fired_at.isoformat(),
                "detail": self.detail}


def deliver_log(sink: LogSink, alert: Alert) -> str:
    """Write the alert to the ``empathy_bridge.social`` logger."""
    level = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}[sink.level]
    log.log(level, "social alert [%s] %s: %s", alert.severity, alert.rule, alert.summary)
    return "logged"


def deliver_webhook(sink: WebhookSink, alert: Alert, *, client: httpx.Client,
                    policy: RetryPolicy, secrets: Secrets) -> str:
    """POST the alert as JSON; 5xx and connection errors are retried by ``policy``.

    :raises SkippableError: the endpoint refused it (4xx); :raises RetriableError: it kept failing.
    """
    body = json.dumps(alert.payload(), separators=(",", ":"), sort_keys=True).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "empathy-bridge-social"}
    if sink.secret_env:
        key = secrets.require(sink.secret_env, f"signing key of webhook sink {sink.name!r}")
        digest = hmac.new(key.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        headers[SIGNATURE_HEADER] = "sha256=" + digest

    def attempt() -> str:
        try:
            response = client.post(sink.url, content=body, headers=headers,
                                   timeout=sink.timeout_seconds)
        except httpx.TransportError as exc:
            raise RetriableError(f"webhook sink {sink.name!r} unreachable: "
                                 f"{exc.__class__.__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            after = response.headers.get("Retry-After", "")
            raise RetriableError(f"webhook sink {sink.name!r} answered {response.status_code}",
                                 retry_after=float(after) if after.isdigit() else None)
        if response.status_code >= 400:
            raise SkippableError(f"webhook sink {sink.name!r} refused the alert "
                                 f"({response.status_code})", code=str(response.status_code))
        return f"HTTP {response.status_code}"

    return policy.call(attempt)


def case_description(post: Interaction, context: EmotionalContext | None, headline: str,
                     thread_url: str | None, extra: list[str] | None = None) -> str:
    """The case body: what happened, the emotional reading and the public thread link."""
    author = post.author
    who = author.handle or author.id if author else "unknown author"
    reach = f" ({author.followers:,} followers)" if author and author.followers is not None else ""
    lines = [headline, "", f"Public post by {who}{reach} on {post.source}:", post.text, ""]
    if thread_url:
        lines.append(f"Public thread: {thread_url}")
    if context is not None:
        lines.append(f"Emotional context: {context.state.value}, intensity "
                     f"{context.intensity:.2f}, tier {context.tier.value}, sentiment "
                     f"{context.sentiment:+.2f}" + (
                         f", cues: {', '.join(sorted(context.cue_kinds()))}" if context.cues
                         else ""))
    lines.extend(extra or [])
    return "\n".join(lines).strip()


def open_case(adapter: Adapter, post: Interaction, context: EmotionalContext | None,
              subject: str, external_id: str, description: str) -> str:
    """Open a case through ``adapter.create_case`` with ``description`` as the message text.

    The post is passed with its text replaced by the description (emotional context and thread
    link included), so any CRM adapter's case creation carries the same picture.
    """
    if context is None:
        raise SkippableError(f"post {post.native_id} has no emotional context yet; not escalated")
    case_post = post.model_copy(update={"text": description})
    try:
        return adapter.create_case(case_post, context, subject, external_id)
    except NotImplementedError as exc:
        raise SkippableError(f"source {adapter.source_name!r} cannot open cases: {exc}") from exc


def deliver_case(sink: CaseSink, alert: Alert, *, adapter_for: Callable[[str], Adapter]) -> str:
    """Open (once, by external id) a case for the alert in the sink's CRM source."""
    if alert.post is None:
        raise SkippableError(f"alert {alert.id} has no post to open a case for")
    thread = alert.detail.get("thread_url")
    samples = [f"- {s.get('author') or '?'}: {s.get('text', '')} ({s.get('url', '')})"
               for s in alert.detail.get("samples", [])]
    description = case_description(
        alert.post, alert.context, f"Listening rule {alert.rule!r} fired: {alert.summary}",
        thread if isinstance(thread, str) else None,
        ["", "Recent matching posts:", *samples] if samples else None)
    return open_case(adapter_for(sink.source), alert.post, alert.context,
                     f"{sink.subject_prefix} {alert.summary}"[:250],
                     f"empathy-bridge-social-alert-{alert.id}", description)
