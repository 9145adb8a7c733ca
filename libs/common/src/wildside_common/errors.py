"""The one error tree every service raises, with a stable `code` per kind.

    DomainError                 code
     +-- InvalidInput           invalid_request   (bad input; never retried)
     |    +-- PayloadTooLarge   invalid_request   (HTTP 413)
     |    +-- UnsupportedMediaType invalid_request (HTTP 415)
     |    +-- InvalidMessage    invalid_message   (a WebSocket frame outside the protocol)
     +-- Unauthorized           unauthorized
     +-- Forbidden              forbidden
     |    +-- CsrfRejected      csrf_rejected     (a browser request from a foreign origin)
     +-- NotFound               not_found
     +-- Conflict               conflict
     |    +-- AlreadyFinal      already_final     (a request that has ended cannot be cancelled)
     |    +-- LimitReached      limit_reached     (a per-user cap is reached, HTTP 409)
     +-- RateLimited            rate_limited      (retry_after seconds)
     +-- Unavailable            service_unavailable (a dependency is down; try later)
     +-- Timeout                timeout

Each inbound transport maps this tree in exactly one place:
`wildside_common.transport.http`, `.ws` and `.jetstream`. Outbound adapters translate
library errors into this tree (`raise Unavailable(...) from exc`), so use cases never
catch a library's exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """Root of the tree; `code` is stable and part of the public contract."""

    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InvalidInput(DomainError):
    code = "invalid_request"

    @classmethod
    def field(cls, field: str, problem: str, **extra: Any) -> InvalidInput:
        return cls(f"{field}: {problem}", {"field": field, **extra})


class PayloadTooLarge(InvalidInput):
    """A body over the configured size cap (HTTP 413, code invalid_request)."""


class UnsupportedMediaType(InvalidInput):
    """A body in a media type the endpoint does not read (HTTP 415, code invalid_request)."""


class InvalidMessage(InvalidInput):
    """A WebSocket frame the protocol does not know: binary, not JSON, not an object, an
    unknown type or a malformed field. Counts as a strike like any invalid input."""

    code = "invalid_message"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class CsrfRejected(Forbidden):
    """A cookie-borne (or login) request or WebSocket handshake whose `Origin` (or
    `Referer`) is not an allowed origin: a cross-site request forgery (HTTP 403)."""

    code = "csrf_rejected"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class AlreadyFinal(Conflict):
    """A route request that has already ended (succeeded, failed, cancelled): HTTP 409."""

    code = "already_final"


class LimitReached(Conflict):
    """A per-user cap (e.g. SAVED_ROUTES_MAX) would be exceeded (HTTP 409)."""

    code = "limit_reached"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, details: Mapping[str, Any] | None = None):
        super().__init__(message, details)
        self.retry_after = max(1, retry_after)


class Unavailable(DomainError):
    code = "service_unavailable"

    def __init__(
        self, message: str, retry_after: float = 5.0, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after


class Timeout(DomainError):
    code = "timeout"
