"""The error tree mapped to WebSocket close codes.

Connection-level failures close the socket; a bad client *message* gets an error
message instead (see the gateway's ws adapter) and only repeated abuse closes.
"""

from __future__ import annotations

from typing import Any

from wildside_common.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
UNAUTHORIZED = 4401
FORBIDDEN = 4403
NOT_FOUND = 4404
RATE_LIMITED = 4429


def close_code_for(error: BaseException) -> int:
    if isinstance(error, Unauthorized):
        return UNAUTHORIZED
    if isinstance(error, Forbidden):
        return FORBIDDEN
    if isinstance(error, NotFound):
        return NOT_FOUND
    if isinstance(error, RateLimited):
        return RATE_LIMITED
    if isinstance(error, InvalidInput):
        return POLICY_VIOLATION
    if isinstance(error, Unavailable):
        return TRY_AGAIN_LATER
    return INTERNAL_ERROR


def error_message(error: BaseException, request_id: str | None = None) -> dict[str, Any]:
    """An error frame sent to the client for one bad message."""
    if isinstance(error, DomainError):
        code, message = error.code, error.message
    else:
        code, message = "internal_error", "internal error"
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if request_id is not None:
        frame["request_id"] = request_id
    return frame
