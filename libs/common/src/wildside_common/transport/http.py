"""The error tree mapped to HTTP: status code + the error envelope.

Envelope: {"code", "message", "trace_id", "details"}. An unexpected error becomes
500 `internal_error` with a redacted message: no stack trace, no SQL, no library text.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from wildside_common.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Timeout,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    Unavailable: 503,
    Timeout: 504,
}
# Not sent (nobody listens): recorded when the client hung up before it was answered.
CLIENT_CLOSED_REQUEST = 499
CODE_BY_STATUS = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    409: "conflict",
    413: "invalid_request",
    415: "invalid_request",
    429: "rate_limited",
    503: "service_unavailable",
    504: "timeout",
}


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def status_for(error: DomainError) -> int:
    for kind, status in STATUS_BY_ERROR.items():
        if isinstance(error, kind):
            return status
    return 500


def envelope(
    code: str, message: str, trace_id: str | None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "trace_id": trace_id or "", "details": details or {}}


def error_response(error: BaseException, trace_id: str | None) -> JSONResponse:
    """The one place an exception becomes an HTTP response."""
    if not isinstance(error, DomainError):
        body = envelope("internal_error", "internal error", trace_id)
        return JSONResponse(body, status_code=500)
    status = status_for(error)
    code = error.code if status != 500 else "internal_error"
    message = error.message if status != 500 else "internal error"
    # An unmapped DomainError is as unexpected as any crash: its details stay redacted too.
    details = error.details if status != 500 else None
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, Unavailable):
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return JSONResponse(envelope(code, message, trace_id, details), status, headers)


def plain_status_response(status: int, message: str, trace_id: str | None) -> JSONResponse:
    """Envelope for framework-level errors (unknown path, wrong method, ...)."""
    code = CODE_BY_STATUS.get(status, "internal_error" if status >= 500 else "invalid_request")
    return JSONResponse(envelope(code, message, trace_id), status)
