"""The error tree mapped once per transport: HTTP envelope, WebSocket close code, JetStream ack."""

from __future__ import annotations

import orjson
import pytest

from wildside_common.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    LimitReached,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Timeout,
    Unauthorized,
    Unavailable,
)
from wildside_common.transport import ws
from wildside_common.transport.http import error_response, plain_status_response, status_for
from wildside_common.transport.jetstream import (
    BACKOFF_SECONDS,
    Action,
    backoff,
    disposition_for,
)

pytestmark = pytest.mark.unit

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"

HTTP_CASES = [
    (InvalidInput.field("start.lat", "must be between -90 and 90"), 400, "invalid_request"),
    (PayloadTooLarge("body over 64 KiB"), 413, "invalid_request"),
    (Unauthorized("no session"), 401, "unauthorized"),
    (Forbidden("not yours"), 403, "forbidden"),
    (NotFound("no such route request"), 404, "not_found"),
    (Conflict("idempotency key reused with another body"), 409, "conflict"),
    (LimitReached("500 saved routes at most"), 409, "limit_reached"),
    (RateLimited("slow down", retry_after=7), 429, "rate_limited"),
    (Unavailable("bus down", retry_after=2.4), 503, "service_unavailable"),
    (Timeout("solver timed out"), 504, "timeout"),
]


def body(response: object) -> dict[str, object]:
    decoded: dict[str, object] = orjson.loads(response.body)  # type: ignore[attr-defined]
    return decoded


@pytest.mark.parametrize(("error", "status", "code"), HTTP_CASES, ids=lambda v: str(v)[:20])
def test_domain_errors_map_to_status_and_envelope(
    error: DomainError, status: int, code: str
) -> None:
    response = error_response(error, TRACE)
    assert response.status_code == status == status_for(error)
    assert response.media_type == "application/json"
    assert body(response) == {
        "code": code,
        "message": error.message,
        "trace_id": TRACE,
        "details": error.details,
    }


def test_invalid_input_details_name_the_field() -> None:
    response = error_response(InvalidInput.field("duration_minutes", "must be positive"), TRACE)
    assert body(response)["details"] == {"field": "duration_minutes"}


def test_retry_after_on_rate_limited_and_unavailable_only() -> None:
    assert error_response(RateLimited("x", retry_after=7), TRACE).headers["Retry-After"] == "7"
    assert error_response(RateLimited("x", retry_after=0), TRACE).headers["Retry-After"] == "1"
    assert error_response(Unavailable("x", 2.4), TRACE).headers["Retry-After"] == "2"
    assert error_response(Unavailable("x", 0.1), TRACE).headers["Retry-After"] == "1"
    for error in (InvalidInput("x"), NotFound("x"), Timeout("x")):
        assert "Retry-After" not in error_response(error, TRACE).headers


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("password=hunter2 at /srv/app.py line 12"),
        KeyError("SELECT * FROM users WHERE id = 1"),
        DomainError("asyncpg: relation users does not exist", {"sql": "SELECT 1"}),
    ],
)
def test_unexpected_errors_are_a_redacted_500(error: BaseException) -> None:
    response = error_response(error, TRACE)
    assert response.status_code == 500
    assert body(response) == {
        "code": "internal_error",
        "message": "internal error",
        "trace_id": TRACE,
        "details": {},
    }
    raw = bytes(response.body).decode()
    assert "SELECT" not in raw and "hunter2" not in raw and "asyncpg" not in raw


def test_missing_trace_id_is_an_empty_string() -> None:
    assert body(error_response(NotFound("x"), None))["trace_id"] == ""


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (404, "not_found"),
        (405, "invalid_request"),
        (413, "invalid_request"),
        (502, "internal_error"),
        (418, "invalid_request"),
    ],
)
def test_framework_statuses_get_the_envelope(status: int, code: str) -> None:
    response = plain_status_response(status, "nope", TRACE)
    assert response.status_code == status
    assert body(response) == {"code": code, "message": "nope", "trace_id": TRACE, "details": {}}


# -- WebSocket ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (Unauthorized("x"), 4401),
        (Forbidden("x"), 4403),
        (NotFound("x"), 4404),
        (RateLimited("x", 3), 4429),
        (InvalidInput("x"), 1008),
        (Unavailable("x"), 1013),
        (Timeout("x"), 1011),
        (RuntimeError("boom"), 1011),
    ],
)
def test_websocket_close_codes(error: BaseException, code: int) -> None:
    assert ws.close_code_for(error) == code


def test_websocket_error_frame_redacts_unexpected_errors() -> None:
    assert ws.error_message(InvalidInput("bad request_id"), "r1") == {
        "type": "error",
        "code": "invalid_request",
        "message": "bad request_id",
        "request_id": "r1",
    }
    assert ws.error_message(RuntimeError("SELECT secret")) == {
        "type": "error",
        "code": "internal_error",
        "message": "internal error",
    }


# -- JetStream ------------------------------------------------------------------------------


def test_success_is_ack() -> None:
    assert disposition_for(None, 1).action is Action.ACK


@pytest.mark.parametrize(
    "error",
    [
        InvalidInput.field("start", "must be an object"),
        NotFound("x"),
        Forbidden("x"),
        Conflict("x"),
        Unauthorized("x"),
    ],
)
def test_bad_messages_are_terminated_with_the_reason(error: DomainError) -> None:
    outcome = disposition_for(error, 1)
    assert outcome.action is Action.TERM
    assert outcome.reason == f"{error.code}: {error.message}"


def test_rate_limited_naks_after_retry_after() -> None:
    outcome = disposition_for(RateLimited("x", retry_after=42), 1)
    assert (outcome.action, outcome.delay) == (Action.NAK, 42.0)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 9])
def test_unavailable_naks_with_backoff_or_its_retry_after(attempt: int) -> None:
    outcome = disposition_for(Unavailable("db down", retry_after=3.0), attempt)
    assert outcome.action is Action.NAK
    assert outcome.delay == max(3.0, backoff(attempt))
    assert outcome.reason == "unavailable"


@pytest.mark.parametrize("error", [Timeout("x"), RuntimeError("bug"), ZeroDivisionError()])
def test_timeouts_and_crashes_nak_with_growing_backoff(error: BaseException) -> None:
    delays = [disposition_for(error, attempt).delay for attempt in range(1, 8)]
    assert all(disposition_for(error, 1).action is Action.NAK for _ in delays)
    assert delays == sorted(delays)
    assert delays[0] == BACKOFF_SECONDS[0] and delays[-1] == BACKOFF_SECONDS[-1]


def test_backoff_is_bounded_at_both_ends() -> None:
    assert backoff(0) == backoff(1) == BACKOFF_SECONDS[0]
    assert backoff(100) == BACKOFF_SECONDS[-1]
