"""Webhook signature primitives, implemented once in the core.

Every platform that pushes events to empathy-bridge signs them with HMAC-SHA256 and base64:

- Zendesk: ``X-Zendesk-Webhook-Signature`` = base64(HMAC-SHA256(secret, timestamp + body)),
  with the timestamp in ``X-Zendesk-Webhook-Signature-Timestamp``.
- X (Account Activity): the CRC answer is ``"sha256=" + base64(HMAC-SHA256(consumer_secret,
  crc_token))`` and deliveries carry the same primitive over the raw body in
  ``x-twitter-webhooks-signature``.
- Salesforce (Flow / Apex callouts, a scheme empathy-bridge defines because Salesforce has no
  native signing): ``X-EmpathyBridge-Signature`` = ``"sha256=" + base64(HMAC-SHA256(secret,
  timestamp + "." + body))`` with the unix timestamp in ``X-EmpathyBridge-Timestamp``.

Comparisons use :func:`hmac.compare_digest` so that timing does not reveal how much of a forged
signature was right. The adapters may ship their own helpers for their users; the core cannot
import adapters, so the server uses these.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

__all__ = [
    "SALESFORCE_SIGNATURE_HEADER",
    "SALESFORCE_TIMESTAMP_HEADER",
    "X_SIGNATURE_HEADER",
    "ZENDESK_SIGNATURE_HEADER",
    "ZENDESK_TIMESTAMP_HEADER",
    "hmac_sha256_b64",
    "parse_timestamp",
    "salesforce_signature",
    "verify_salesforce",
    "verify_x",
    "verify_zendesk",
    "x_crc_response",
    "x_signature",
    "zendesk_signature",
]

ZENDESK_SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
X_SIGNATURE_HEADER = "x-twitter-webhooks-signature"
SALESFORCE_SIGNATURE_HEADER = "X-EmpathyBridge-Signature"
SALESFORCE_TIMESTAMP_HEADER = "X-EmpathyBridge-Timestamp"


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def hmac_sha256_b64(secret: str | bytes, data: str | bytes) -> str:
    """base64 of HMAC-SHA256 of ``data`` keyed with ``secret`` (the primitive all three share)."""
    digest = hmac.new(_bytes(secret), _bytes(data), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _matches(expected: str, given: str | bytes | None) -> bool:
    if not given:
        return False
    candidate = _bytes(given).strip()
    return hmac.compare_digest(expected.encode("ascii"), candidate)


def zendesk_signature(secret: str | bytes, timestamp: str | bytes, body: str | bytes) -> str:
    """The ``X-Zendesk-Webhook-Signature`` Zendesk sends for ``body`` at ``timestamp``."""
    return hmac_sha256_b64(secret, _bytes(timestamp) + _bytes(body))


def verify_zendesk(secret: str | bytes, timestamp: str | bytes | None, body: bytes,
                   signature: str | bytes | None) -> bool:
    """Whether ``signature`` is Zendesk's signature of ``timestamp + body`` (constant time).

    Pass the raw request body: re-serialised JSON does not verify. Missing parts are invalid.
    """
    if not secret or timestamp is None:
        return False
    return _matches(zendesk_signature(secret, timestamp, body), signature)


def x_signature(consumer_secret: str | bytes, payload: str | bytes) -> str:
    """``"sha256=" + base64(HMAC-SHA256(consumer_secret, payload))`` as X computes it."""
    return "sha256=" + hmac_sha256_b64(consumer_secret, payload)


def x_crc_response(consumer_secret: str | bytes, crc_token: str) -> dict[str, str]:
    """The JSON body answering X's challenge-response check for ``crc_token``."""
    return {"response_token": x_signature(consumer_secret, crc_token)}


def verify_x(consumer_secret: str | bytes, body: bytes, signature: str | bytes | None) -> bool:
    """Whether ``signature`` (``x-twitter-webhooks-signature``) signs ``body`` (constant time)."""
    if not consumer_secret:
        return False
    return _matches(x_signature(consumer_secret, body), signature)


def salesforce_signature(secret: str | bytes, timestamp: str | bytes, body: str | bytes) -> str:
    """``"sha256=" + base64(HMAC-SHA256(secret, timestamp + "." + body))`` (our callout scheme)."""
    return "sha256=" + hmac_sha256_b64(secret, _bytes(timestamp) + b"." + _bytes(body))


def verify_salesforce(secret: str | bytes, timestamp: str | bytes | None, body: bytes,
                      signature: str | bytes | None) -> bool:
    """Whether ``signature`` is the callout signature of ``timestamp + "." + body``."""
    if not secret or timestamp is None:
        return False
    return _matches(salesforce_signature(secret, timestamp, body), signature)


def parse_timestamp(value: str | bytes | None) -> datetime | None:
    """A signature timestamp as an aware UTC datetime: unix seconds or ISO-8601; else ``None``.

    Zendesk sends ISO-8601 (``2026-11-27T10:00:00Z``); our Salesforce scheme sends unix seconds.
    """
    if value is None:
        return None
    text = _bytes(value).decode("ascii", "replace").strip()
    if not text:
        return None
    try:
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.tzinfo is None:
        # A signature timestamp without an offset is read as UTC, as Zendesk documents it.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
