"""Verification of Zendesk webhook signatures, for the real-time path.

Zendesk signs each delivery with ``X-Zendesk-Webhook-Signature`` =
base64(HMAC-SHA256(signing secret, ``X-Zendesk-Webhook-Signature-Timestamp`` + raw body)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign(secret: str | bytes, body: str | bytes, timestamp: str | bytes) -> str:
    """The signature Zendesk sends for ``body`` delivered at ``timestamp``."""
    digest = hmac.new(_bytes(secret), _bytes(timestamp) + _bytes(body), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(secret: str | bytes, body: str | bytes, timestamp: str | bytes,
                     signature: str | bytes | None) -> bool:
    """True when ``signature`` is Zendesk's signature of ``timestamp + body``.

    Compared in constant time; a missing or malformed signature is simply not valid. Pass the
    raw request body: re-serialised JSON does not verify.
    """
    if not signature or not secret:
        return False
    expected = sign(secret, body, timestamp).encode("ascii")
    return hmac.compare_digest(expected, _bytes(signature).strip())
