"""The HTTP edge: base_url rewriting per client, error translation at the boundary."""

from __future__ import annotations

import json
import math
import random

import pytest
import requests
from zenpy.lib.exception import APIException, RecordNotFoundException, ZenpyException

from empathy_bridge.adapter import ApiCallCounter
from empathy_bridge.errors import (
    AuthenticationError,
    FatalError,
    RetriableError,
    SkippableError,
)
from empathy_bridge_zendesk.transport import (
    RETRY_AFTER_HEADER,
    BaseUrlAdapter,
    _decode,
    translate_api_error,
)


def _response(status: int, body: bytes = b"{}", headers: dict[str, str] | None = None
              ) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


def test_rewrite_targets_base_url_and_keeps_path_and_query() -> None:
    transport = BaseUrlAdapter("https://acme.zendesk.com", "http://127.0.0.1:8080/proxy",
                               ApiCallCounter())
    assert transport.rewrite("https://acme.zendesk.com/api/v2/tickets.json?a=1") == (
        "http://127.0.0.1:8080/proxy/api/v2/tickets.json?a=1")
    assert transport.rewrite("https://other.zendesk.com/x") == "https://other.zendesk.com/x"
    untouched = BaseUrlAdapter("https://acme.zendesk.com", None, ApiCallCounter())
    assert untouched.rewrite("https://acme.zendesk.com/api/v2") == "https://acme.zendesk.com/api/v2"


def test_error_translation_table() -> None:
    def api(status: int, body: bytes = b"{}", **headers: str) -> APIException:
        return APIException("x", response=_response(status, body, headers))

    limited = translate_api_error(api(429, **{RETRY_AFTER_HEADER: "7"}), "reading")
    assert isinstance(limited, RetriableError) and limited.retry_after == 7.0
    assert isinstance(translate_api_error(api(401), "reading"), AuthenticationError)
    assert isinstance(translate_api_error(api(403), "reading"), AuthenticationError)
    assert isinstance(translate_api_error(api(503), "reading"), RetriableError)
    missing = translate_api_error(
        RecordNotFoundException("x", response=_response(
            404, b'{"error":"RecordNotFound","description":"Not found"}')), "reading")
    assert isinstance(missing, SkippableError) and missing.code == "RecordNotFound"
    too_many = translate_api_error(
        api(400, b'{"error":"TooManyValues","description":"max 100"}'), "writing")
    assert isinstance(too_many, FatalError) and "max 100" in str(too_many)
    invalid = translate_api_error(api(422, b'{"error":"RecordInvalid"}'), "writing")
    assert isinstance(invalid, SkippableError) and invalid.code == "RecordInvalid"
    assert isinstance(translate_api_error(requests.ConnectionError("reset"), "x"),
                      RetriableError)
    assert isinstance(translate_api_error(requests.Timeout("slow"), "x"), RetriableError)
    http = requests.HTTPError("boom", response=_response(502, b"<html>"))
    assert isinstance(translate_api_error(http, "x"), RetriableError)
    assert isinstance(translate_api_error(ZenpyException("bad"), "x"), FatalError)
    assert isinstance(translate_api_error(ValueError("not json"), "x"), RetriableError)


#: Answers where a fast decoder could part from the standard library: huge integers, float
#: rounding edges, repeated keys, escapes, and what only the standard library accepts.
_ODD_JSON = [
    b'{"id": 123456789012345678901234567890, "neg": -18446744073709551617, '
    b'"u64": 18446744073709551615}',
    b'[0.1, 5e-324, 2.2250738585072011e-308, 1.7976931348623157e308, -0.0, -0, 1E2, 1e-7]',
    b'{"a": 1, "b": 2, "a": 3}',
    b'{"k": "\\u00e9\\n\\t\\"\\\\\\/", "e": "\xc3\xa9\xe2\x82\xac"}',
    b'"\\ud800"', b"[NaN, Infinity, -Infinity]", b"[1e400]", b"\xef\xbb\xbf{}", b"  {} ",
]


@pytest.mark.parametrize("body", _ODD_JSON)
def test_decode_gives_what_the_standard_library_gives(body: bytes) -> None:
    expected, got = json.loads(body), _decode(body)
    assert repr(got) == repr(expected)  # repr: NaN != NaN, and types must match too


def test_decode_matches_the_standard_library_on_random_numbers() -> None:
    rng = random.Random(5)
    numbers = []
    for _ in range(5_000):
        value = rng.choice([rng.uniform(-1e300, 1e300), rng.random() * 10 ** rng.randint(-320, 300),
                            rng.randint(-2**200, 2**200)])
        if isinstance(value, int) or math.isfinite(value):
            numbers.append(repr(value))
    body = ("[" + ",".join(numbers) + "]").encode()
    assert repr(_decode(body)) == repr(json.loads(body))


@pytest.mark.parametrize("body", [b"{", b"[1,]", b"\xff\xfe", b"{'a': 1}"])
def test_decode_rejects_what_the_standard_library_rejects(body: bytes) -> None:
    with pytest.raises(ValueError) as fast:
        _decode(body)
    with pytest.raises(ValueError) as standard:
        json.loads(body)
    assert str(fast.value) == str(standard.value)
