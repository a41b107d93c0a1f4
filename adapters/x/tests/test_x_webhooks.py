"""Webhook CRC answer and delivery signatures against known vectors (computed with openssl)."""

from __future__ import annotations

import httpx

from empathy_bridge_x.sandbox import SANDBOX_CREDENTIALS, XSandbox
from empathy_bridge_x.webhooks import SIGNATURE_HEADER, crc_response, sign, verify_signature

SECRET = "s3cr3t-consumer"
# printf '%s' TOKEN | openssl dgst -sha256 -hmac SECRET -binary | base64
CRC_TOKEN = "9c2d1a0f-crc-challenge"
CRC_EXPECTED = "sha256=T4kOiHAIrE0ISlwMtx/3ZvHDsIJZt0pF+tCNRpQEZXU="
BODY = b'{"for_user_id":"1000000000000000001","tweet_create_events":[]}'
BODY_SIGNATURE = "sha256=RgGGEPa4V1W172QI6XI7TM2bLe0Uxn6a/xJ1Sgh5eRA="


def test_crc_response_matches_known_vector() -> None:
    assert crc_response(SECRET, CRC_TOKEN) == {"response_token": CRC_EXPECTED}


def test_delivery_signature_matches_known_vector() -> None:
    assert sign(SECRET, BODY) == BODY_SIGNATURE
    assert verify_signature(SECRET, BODY, BODY_SIGNATURE)


def test_tampered_body_wrong_secret_or_missing_header_fail() -> None:
    assert not verify_signature(SECRET, BODY + b" ", BODY_SIGNATURE)
    assert not verify_signature("other", BODY, BODY_SIGNATURE)
    assert not verify_signature(SECRET, BODY, None)
    assert not verify_signature(SECRET, BODY, "")
    assert not verify_signature(SECRET, BODY, "sha256=ünïcode")
    assert SIGNATURE_HEADER == "x-twitter-webhooks-signature"


def test_sandbox_crc_helper_answers_like_the_brand_webhook(x_sandbox: XSandbox) -> None:
    answer = httpx.get(f"{x_sandbox.url}/_sandbox/crc", params={"crc_token": CRC_TOKEN}).json()
    assert answer == crc_response(SANDBOX_CREDENTIALS["X_CONSUMER_SECRET"], CRC_TOKEN)
    assert httpx.get(f"{x_sandbox.url}/_sandbox/crc").status_code == 400
