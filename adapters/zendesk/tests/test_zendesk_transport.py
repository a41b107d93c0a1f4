"""The HTTP edge: base_url rewriting per client, error translation at the boundary."""

from __future__ import annotations

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
