"""Webhook signature verification, against vectors computed independently with openssl.

``printf '%s' "$TIMESTAMP$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64``
"""

from __future__ import annotations

import pytest

from empathy_bridge_zendesk.webhook import sign, verify_signature

VECTORS = [
    # (secret, timestamp, body, signature)
    ("dGhpc19zZWNyZXQ=", "1700000000", '{"ticket":{"id":42}}',
     "VfngPnSxGGK7FE3mh61WWX5Gh8L7/zwPaKTAG9Ym9C8="),
    ("secret", "2026-11-27T10:00:00Z", "", "nDou3JiDekw3Qz355rd35DYsPG4G68CX+zz1yKXPX3s="),
]


@pytest.mark.parametrize(("secret", "timestamp", "body", "signature"), VECTORS)
def test_known_vectors(secret: str, timestamp: str, body: str, signature: str) -> None:
    assert sign(secret, body, timestamp) == signature
    assert verify_signature(secret, body, timestamp, signature)
    assert verify_signature(secret.encode(), body.encode(), timestamp.encode(),
                            signature.encode())


@pytest.mark.parametrize(("secret", "timestamp", "body", "signature"), VECTORS)
def test_any_change_fails(secret: str, timestamp: str, body: str, signature: str) -> None:
    assert not verify_signature(secret + "x", body, timestamp, signature)
    assert not verify_signature(secret, body + " ", timestamp, signature)
    assert not verify_signature(secret, body, timestamp + "1", signature)
    assert not verify_signature(secret, body, timestamp, signature[:-2] + "A=")


def test_missing_signature_or_secret_is_invalid() -> None:
    assert not verify_signature("secret", "{}", "1", None)
    assert not verify_signature("secret", "{}", "1", "")
    assert not verify_signature("", "{}", "1", sign("", "{}", "1"))
