"""`browser.with_cors`: the response headers BrowserPolicy sends, as Starlette's
MutableHeaders gave them before (`add_vary_header("Origin")`, then the CORS headers set)."""

from __future__ import annotations

import pytest

from wildside_gateway.shared.adapters.inbound.browser import CORS_HEADERS, with_cors

pytestmark = pytest.mark.unit

ALLOWED = ((b"access-control-allow-origin", b"https://app.example"), *CORS_HEADERS[True])


def test_an_answer_without_vary_gets_vary_origin_and_no_cors_for_another_origin() -> None:
    headers = [(b"content-type", b"application/json")]
    assert with_cors(headers, CORS_HEADERS[False]) == [*headers, (b"vary", b"Origin")]


def test_the_endpoints_own_vary_is_extended_once() -> None:
    headers = [(b"Vary", b"Accept-Encoding"), (b"x", b"1"), (b"vary", b"Cookie")]
    assert with_cors(headers, CORS_HEADERS[False]) == [
        (b"vary", b"Accept-Encoding, Origin"),
        (b"x", b"1"),
    ]


def test_an_allowed_origin_gets_the_cors_headers_replacing_any_the_endpoint_set() -> None:
    headers = [(b"access-control-allow-origin", b"*"), (b"location", b"/x")]
    assert with_cors(headers, ALLOWED) == [
        (b"location", b"/x"),
        (b"vary", b"Origin"),
        (b"access-control-allow-origin", b"https://app.example"),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"Location, Retry-After, trace-id, Idempotent-Replayed"),
    ]
