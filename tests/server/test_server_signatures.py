"""Signature primitives against vectors computed independently with `openssl dgst -hmac`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from empathy_bridge import signatures as sig

# printf '%s' "$timestamp$body" | openssl dgst -sha256 -hmac "$secret" -binary | base64
ZENDESK = ("zendesk-signing-secret", "2026-11-27T10:00:00Z", b'{"ticket":{"id":1}}',
           "H+l3+uxm1k3o/zrihdgGm6hKbATDBdj13q/zkvkanDo=")
X_CRC = ("x-consumer-secret", "challenge-token-123",
         "sha256=CmBvj7AGUxwzCxYJc7XUiLou4CfyXRizZIqjBwI+0Po=")
X_BODY = ("x-consumer-secret", b'{"for_user_id":"1"}',
          "sha256=hfVR+B7xHXLf2eIjgiQpYAk6I3c21h4ceJtmD/P/7tI=")
SALESFORCE = ("salesforce-shared-secret", "1795000000", b'{"case":{"Id":"500A"}}',
              "sha256=7gpigoik77PVDA/HxwEUe01ZtULQ+m8LRymISgd+Otg=")


def test_zendesk_known_vector() -> None:
    secret, ts, body, expected = ZENDESK
    assert sig.zendesk_signature(secret, ts, body) == expected
    assert sig.verify_zendesk(secret, ts, body, expected)


@pytest.mark.parametrize("mutate", [
    lambda s, t, b, g: (s, t, b + b" ", g),                       # tampered body
    lambda s, t, b, g: (s, "2026-11-27T10:00:01Z", b, g),         # other timestamp
    lambda s, t, b, g: ("wrong-secret", t, b, g),                 # wrong secret
    lambda s, t, b, g: (s, t, b, g[:-2] + "A="),                  # altered signature
    lambda s, t, b, g: (s, t, b, None),                           # missing signature
    lambda s, t, b, g: (s, None, b, g),                           # missing timestamp
    lambda s, t, b, g: ("", t, b, g),                             # no secret configured
])
def test_zendesk_rejects_tampering(mutate: object) -> None:
    assert callable(mutate)
    secret, ts, body, good = mutate(*ZENDESK)
    assert not sig.verify_zendesk(secret, ts, body, good)


def test_x_crc_and_delivery_vectors() -> None:
    secret, token, expected = X_CRC
    assert sig.x_crc_response(secret, token) == {"response_token": expected}
    secret, body, expected = X_BODY
    assert sig.verify_x(secret, body, expected)
    assert not sig.verify_x(secret, body.replace(b"1", b"2"), expected)
    assert not sig.verify_x(secret, body, expected.removeprefix("sha256="))
    assert not sig.verify_x(secret, body, None)


def test_salesforce_vector_and_tampering() -> None:
    secret, ts, body, expected = SALESFORCE
    assert sig.salesforce_signature(secret, ts, body) == expected
    assert sig.verify_salesforce(secret, ts, body, expected)
    assert not sig.verify_salesforce(secret, "1795000001", body, expected)
    assert not sig.verify_salesforce(secret, ts, body + b"\n", expected)
    # Concatenating without the separator is a different message (no ambiguity between parts).
    assert not sig.verify_salesforce(secret, ts, body,
                                     "sha256=" + sig.hmac_sha256_b64(secret, ts.encode() + body))


def test_adapter_helpers_agree_when_installed() -> None:
    zendesk = pytest.importorskip("empathy_bridge_zendesk.webhook")
    secret, ts, body, expected = ZENDESK
    assert zendesk.sign(secret, body, ts) == expected
    assert zendesk.verify_signature(secret, body, ts, sig.zendesk_signature(secret, ts, body))


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, tzinfo=UTC)),
    ("2026-11-27T11:00:00+01:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
    ("1795000000", datetime.fromtimestamp(1795000000, UTC)),
    ("", None),
    ("yesterday", None),
    (None, None),
    ("99999999999999999999", None),
])
def test_parse_timestamp(raw: str | None, expected: datetime | None) -> None:
    assert sig.parse_timestamp(raw) == expected
