"""X Account Activity webhook helpers: the CRC challenge answer and delivery signature checks.

X sends ``GET <webhook>?crc_token=T`` and expects, within 3 seconds,
``{"response_token": "sha256=" + base64(HMAC-SHA256(consumer_secret, T))}``. Every delivery
carries ``x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256(consumer_secret, body)>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "crc_response", "sign", "verify_signature"]

#: Header carrying a delivery's signature.
SIGNATURE_HEADER = "x-twitter-webhooks-signature"


def sign(consumer_secret: str, payload: bytes | str) -> str:
    """``sha256=`` + base64 of HMAC-SHA256 of ``payload`` keyed with the consumer secret."""
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    digest = hmac.new(consumer_secret.encode("utf-8"), data, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def crc_response(consumer_secret: str, crc_token: str) -> dict[str, str]:
    """The JSON body answering X's challenge-response check for ``crc_token``."""
    return {"response_token": sign(consumer_secret, crc_token)}


def verify_signature(consumer_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the valid signature of ``body``; constant-time comparison.

    A missing or malformed header is simply not valid (returns ``False``).
    """
    if not header:
        return False
    expected = sign(consumer_secret, body)
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("ascii", "replace"))
