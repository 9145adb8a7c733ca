"""The gateway's boundary with browsers: CSRF origin check, CORS, and its public origin.

One pure ASGI middleware, `BrowserPolicy`, inside the telemetry one
(`bootstrap.gateway_app`), applies three rules in this order, so refusals carry the trace
id, the security headers and, for an allowed origin, the CORS headers a page needs to
read them. It reads the request's headers once, as raw ASGI pairs (no `Headers` object
per rule, no wrapper per rule).

- Public origin: every absolute URL the app derives (pagination links, `Location`,
  Starlette's trailing-slash redirect) takes PUBLIC_BASE_URL's scheme and authority, never
  the client's `Host` header.
- CORS: for an allowed origin only, with credentials. A preflight (OPTIONS with
  `Access-Control-Request-Method`) is 204 naming the methods and headers the API takes;
  other responses carry `Access-Control-Allow-Origin` and expose `Location`,
  `Retry-After`, `trace-id` and `Idempotent-Replayed`. Any other origin gets no CORS
  header at all (its preflight reaches the routes: 405). Starlette's CORSMiddleware is
  not used: it answers a disallowed origin's preflight with its allow-methods and
  credentials headers, and every response to any origin with the credentials and
  expose headers.
- CSRF guard: an unsafe request (POST, PUT, PATCH, DELETE) not authenticated by
  `Authorization: Bearer` (so cookie-borne, or a login) is 403 `csrf_rejected` when
  `AllowedOrigins.refuses` its `Origin`/`Referer`. A Bearer token is exempt: a page can
  only attach one through a CORS preflight, which foreign origins fail. The content type
  check (415 on a body that is not application/json, `http.read_json`) comes on top; on
  its own it is no CSRF protection.

The WebSocket handshake gets the same origin rule in `ws.py` (`cross_site_handshake`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from prometheus_client import Counter
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


class BrowserPolicy:
    def __init__(self, app: ASGIApp, origins: AllowedOrigins, public_base_url: str) -> None:
        parts = urlsplit(public_base_url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {public_base_url!r}")
        self.app = app
        self.origins = origins
        self.scheme = parts.scheme
        self.host = parts.netloc.encode("ascii")
        self.server = (parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One pass: the headers without Host (PUBLIC_BASE_URL's instead), and the first
        # value of each header a rule reads (as `Headers.get` would give it).
        read: dict[bytes, str] = {}
        headers: list[tuple[bytes, bytes]] = []
        for name, value in scope["headers"]:
            if name == b"host":
                continue
            headers.append((name, value))
            if name in READ and name not in read:
                read[name] = value.decode("latin-1")
        headers.append((b"host", self.host))
        scope = {**scope, "scheme": self.scheme, "server": self.server, "headers": headers}
        origin = read.get(b"origin")
        allowed = origin if origin is not None and self.origins.allows(origin) else None
        method = scope["method"]
        if allowed and method == "OPTIONS" and b"access-control-request-method" in read:
            await self.preflight(allowed)(scope, receive, send)
            return
        cors = CORS_HEADERS[allowed is not None]
        if allowed is not None:
            cors = ((b"access-control-allow-origin", allowed.encode("latin-1")), *cors)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_cors(message.get("headers", ()), cors)
            await send(message)

        if method in UNSAFE_METHODS:
            refusal = None
            if bearer_token({"authorization": read.get(b"authorization", "")}) is None:
                sent = {"origin": read.get(b"origin"), "referer": read.get(b"referer")}
                refusal = cross_site_refusal(
                    self.origins, {k: v for k, v in sent.items() if v is not None}, "http"
                )
            if refusal is not None:
                await error_response(refusal, current_trace_id())(scope, receive, send_with_cors)
                return
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


READ = frozenset({b"origin", b"referer", b"authorization", b"access-control-request-method"})
# The CORS headers of an answer, by whether its origin is allowed (the allowed origin
# itself goes in front); every answer varies by Origin.
CORS_HEADERS: dict[bool, tuple[tuple[bytes, bytes], ...]] = {
    False: (),
    True: (
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", EXPOSE_HEADERS.encode("latin-1")),
    ),
}
CORS_NAMES = frozenset(
    {
        b"access-control-allow-origin",
        b"access-control-allow-credentials",
        b"access-control-expose-headers",
    }
)


def with_cors(
    headers: Iterable[tuple[bytes, bytes]], cors: tuple[tuple[bytes, bytes], ...]
) -> list[tuple[bytes, bytes]]:
    """The response headers with `Vary: Origin` added (to a `Vary` of the endpoint's own
    as `, Origin`) and `cors` set, replacing any the endpoint set itself."""
    result: list[tuple[bytes, bytes]] = []
    vary = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"vary":
            if vary is None:  # the first one, extended; later ones dropped (one Vary)
                vary = len(result)
                result.append((b"vary", value + b", Origin"))
            continue
        if lowered in CORS_NAMES:
            continue
        result.append((name, value))
    if vary is None:
        result.append((b"vary", b"Origin"))
    result.extend(cors)
    return result
