"""The gateway's boundary with browsers: CSRF origin check, CORS, and its public origin.

Outermost first (`bootstrap.gateway_app`): telemetry -> `PublicOrigin` -> `Cors` ->
`CsrfGuard` -> the routes, so refusals carry the trace id, the security headers and, for
an allowed origin, the CORS headers a page needs to read them.

- `PublicOrigin`: every absolute URL the app derives (pagination links, `Location`,
  Starlette's trailing-slash redirect) takes PUBLIC_BASE_URL's scheme and authority, never
  the client's `Host` header.
- `Cors`: for an allowed origin only, with credentials. A preflight (OPTIONS with
  `Access-Control-Request-Method`) is 204 naming the methods and headers the API takes;
  other responses carry `Access-Control-Allow-Origin` and expose `Location`,
  `Retry-After`, `trace-id` and `Idempotent-Replayed`. Any other origin gets no CORS
  header at all (its preflight reaches the routes: 405). Starlette's CORSMiddleware is
  not used: it answers a disallowed origin's preflight with its allow-methods and
  credentials headers, and every response to any origin with the credentials and
  expose headers.
- `CsrfGuard`: an unsafe request (POST, PUT, PATCH, DELETE) not authenticated by
  `Authorization: Bearer` (so cookie-borne, or a login) is 403 `csrf_rejected` when
  `AllowedOrigins.refuses` its `Origin`/`Referer`. A Bearer token is exempt: a page can
  only attach one through a CORS preflight, which foreign origins fail. The content type
  check (415 on a body that is not application/json, `http.read_json`) comes on top; on
  its own it is no CSRF protection.

The WebSocket handshake gets the same origin rule in `ws.py` (`cross_site_handshake`).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from prometheus_client import Counter
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wildside_common.errors import CsrfRejected
from wildside_common.logs import current_trace_id
from wildside_common.sessions import bearer_token
from wildside_common.transport.http import error_response
from wildside_gateway.shared.domain.origins import DEFAULT_PORTS, AllowedOrigins

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
EXPOSE_HEADERS = "Location, Retry-After, trace-id, Idempotent-Replayed"
PREFLIGHT_MAX_AGE = "600"  # seconds; browsers cap it (Chromium at 7200)
CSRF_REJECTED = Counter(
    "wildside_csrf_rejected_total",
    "Browser requests refused for their origin",
    ["transport", "header"],
)


def cross_site_header(origins: AllowedOrigins, headers: Mapping[str, str]) -> str | None:
    """The header ("origin" or "referer") that makes this a refused cross-site request."""
    origin, referer = headers.get("origin"), headers.get("referer")
    if not origins.refuses(origin, referer):
        return None
    return "origin" if origin is not None else "referer"


def cross_site_refusal(
    origins: AllowedOrigins, headers: Mapping[str, str], transport: str
) -> CsrfRejected | None:
    """The `csrf_rejected` error for a request the origin rule refuses, counted."""
    header = cross_site_header(origins, headers)
    if header is None:
        return None
    CSRF_REJECTED.labels(transport, header).inc()
    return CsrfRejected(
        f"cross-site request refused: its {header.title()} is not an allowed origin",
        {"header": header},
    )


class CsrfGuard:
    def __init__(self, app: ASGIApp, origins: AllowedOrigins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            headers = Headers(scope=scope)
            refusal = None
            if bearer_token(headers) is None:
                refusal = cross_site_refusal(self.origins, headers, "http")
            if refusal is not None:
                await error_response(refusal, current_trace_id())(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Cors:
    def __init__(self, app: ASGIApp, origins: AllowedOrigins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin if origin is not None and self.origins.allows(origin) else None
        if allowed and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self.preflight(allowed)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                # Every answer depends on Origin (CORS headers or none): caches must key on it.
                response_headers.add_vary_header("Origin")
                if allowed:
                    response_headers["Access-Control-Allow-Origin"] = allowed
                    response_headers["Access-Control-Allow-Credentials"] = "true"
                    response_headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def preflight(origin: str) -> Response:
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Allow-Methods": ALLOW_METHODS,
                "Access-Control-Allow-Headers": ALLOW_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                "Vary": "Origin",
            },
        )


class PublicOrigin:
    def __init__(self, app: ASGIApp, public_base_url: str) -> None:
        parts = urlsplit(public_base_url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {public_base_url!r}")
        self.app = app
        self.scheme = parts.scheme
        self.host = parts.netloc.encode("ascii")
        self.server = (parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(name, value) for name, value in scope["headers"] if name != b"host"]
            headers.append((b"host", self.host))
            scope = {**scope, "scheme": self.scheme, "server": self.server, "headers": headers}
        await self.app(scope, receive, send)
