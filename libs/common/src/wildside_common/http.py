"""ASGI middleware shared by the HTTP services.

For every request: a server span (parented by an incoming `traceparent`), the
`trace-id` response header equal to that span's trace id, the security headers,
Prometheus counters and latency by route template, an access log line, and one last
net that turns any unhandled exception into the 500 envelope (redacted) instead of a
bare crash.

Security headers (OWASP's HTTP headers and REST cheat sheets), on every HTTP response
and WebSocket denial of every service, unless the endpoint set the header itself:
`X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and
`Content-Security-Policy: frame-ancestors 'none'` (nothing of ours is meant to be framed),
`Referrer-Policy: strict-origin-when-cross-origin` (not `no-referrer`: under it a
browser sends `Origin: null` on a same-origin form POST, which the gateway's CSRF check
refuses), and `Cache-Control: no-store` under the service's `no_store_prefixes` (the
gateway's `/api/`: responses carrying user data) only, so a document with caching of its
own (`/openapi.json`, a web app's assets) keeps it.

A client that hangs up before it has sent its whole body (Starlette's `ClientDisconnect`)
is no server error: nothing is answered, the access line and the counters record status
499 (`CLIENT_CLOSED_REQUEST`, nginx's code for it) and an info line says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context, attach, detach
from opentelemetry.trace import set_span_in_context
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wildside_common.logs import (
    RecordTemplate,
    bind_token,
    current_trace_id,
    log_context,
    unbind,
)
from wildside_common.metrics import HTTP_LATENCY, HTTP_REQUESTS
from wildside_common.telemetry import extract_context, tracer
from wildside_common.transport.http import (
    CLIENT_CLOSED_REQUEST,
    error_response,
    plain_status_response,
)

log = logging.getLogger(__name__)


PROPAGATED = frozenset({b"traceparent", b"tracestate", b"baggage"})
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)
NO_STORE = (b"cache-control", b"no-store")
RESPONSE_STARTS = frozenset({"http.response.start", "websocket.http.response.start"})


ADDED_NAMES = frozenset(name for name, _ in (*SECURITY_HEADERS, NO_STORE))


def secured(
    headers: Iterable[tuple[bytes, bytes]],
    trace_header: tuple[bytes, bytes],
    added: tuple[tuple[bytes, bytes], ...],
) -> list[tuple[bytes, bytes]]:
    """`headers`, the trace id's, and every header of `added` (the security headers,
    Cache-Control where it applies) the response did not set itself."""
    result = [*headers, trace_header]
    present = {name.lower() for name, _ in result}
    if present.isdisjoint(ADDED_NAMES):  # the usual case: none set by the endpoint
        result.extend(added)
    else:
        result.extend(header for header in added if header[0] not in present)
    return result


TEMPLATES_KEPT = 4096  # route templates remembered per (type, method, path); then start over


def route_template(router: Router, scope: Scope) -> str:
    for route in router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", scope["path"]))
    return "unmatched"


class TelemetryMiddleware:
    def __init__(
        self, app: ASGIApp, service: str, router: Router, no_store_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.service = service
        self.router = router
        self.no_store_prefixes = no_store_prefixes
        self.no_store_headers = (*SECURITY_HEADERS, NO_STORE)
        self.tracer = tracer(f"wildside.{service}.http")
        # Per-request constants, worked out once: the route template of a path (the
        # router's routes do not change once serving) and the metric children by label.
        self._templates: dict[tuple[str, str, str], str] = {}
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}

    def template(self, scope: Scope, method: str) -> str:
        key = (scope["type"], method, scope["path"])
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= TEMPLATES_KEPT:
                self._templates.clear()
            template = self._templates[key] = route_template(self.router, scope)
        return template

    def observe(self, method: str, template: str, code: int, elapsed: float) -> None:
        counter = self._counters.get((method, template, code))
        if counter is None:
            counter = HTTP_REQUESTS.labels(self.service, method, template, str(code))
            self._counters[(method, template, code)] = counter
        counter.inc()
        latency = self._latencies.get((method, template))
        if latency is None:
            latency = HTTP_LATENCY.labels(self.service, method, template)
            self._latencies[(method, template)] = latency
        latency.observe(elapsed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        propagated = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope["headers"]
            if k in PROPAGATED  # only these can carry a parent context
        }
        method = scope.get("method", "WS")
        template = self.template(scope, method)
        started = time.perf_counter()
        status = [500, False]  # code, response started
        no_store = scope["path"].startswith(self.no_store_prefixes)
        added = self.no_store_headers if no_store else SECURITY_HEADERS
        # The span made current by hand (what start_as_current_span does, without its
        # two context-manager layers per request).
        span = self.tracer.start_span(
            f"{method} {template}",
            # No propagated header: the root context extract would give, without the call.
            context=extract_context(propagated) if propagated else Context(),
            kind=trace.SpanKind.SERVER,
            attributes={"http.method": method, "http.route": template},
        )
        span_context = span.get_span_context()
        trace_id = format(span_context.trace_id, "032x") if span_context.is_valid else ""
        trace_header = (b"trace-id", trace_id.encode())

        async def send_with_trace(message: Message) -> None:
            if message["type"] in RESPONSE_STARTS:
                status[0] = message["status"]
                status[1] = True
                message["headers"] = secured(message.get("headers", ()), trace_header, added)
            await send(message)

        span_token = attach(set_span_in_context(span))
        log_token = bind_token(trace_id=trace_id)
        try:
            try:
                await self.app(scope, receive, send_with_trace)
            except ClientDisconnect:
                if not status[1]:
                    status[0] = CLIENT_CLOSED_REQUEST
                log.info("client disconnected", extra={"path": scope["path"]})
            finally:
                if kind == "http":
                    access_log(scope, template, status[0], started)
        except Exception:
            log.exception("unhandled error", extra={"path": scope["path"]})
            if kind == "http" and not status[1]:
                await error_response(RuntimeError(), trace_id)(scope, receive, send_with_trace)
        finally:
            unbind(log_token)
            detach(span_token)
            if span.is_recording():
                span.set_attribute("http.status_code", status[0])
            span.end()
        if kind == "http":
            self.observe(method, template, status[0], time.perf_counter() - started)


def client_ip(scope: Scope) -> str:
    client: Any = scope.get("client")
    return str(client[0]) if client else "-"


ACCESS = logging.getLogger("wildside.access")
_ACCESS_RECORDS = RecordTemplate(ACCESS, logging.INFO, __file__, "request")


def access_log(scope: Scope, route: str, status: int, started: float) -> None:
    """One line per HTTP request, with the ids the request bound (trace, user, request).

    The record is made from a template and handed to the logger directly: `Logger.info`
    would also walk the stack for the caller's file and line, which no line of ours
    prints, and `makeRecord` works the same file name out on every call."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = log_context()  # a copy: the record keeps it
    fields["method"] = scope.get("method")
    fields["path"] = scope["path"]
    fields["route"] = route
    fields["status"] = status
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    ACCESS.handle(_ACCESS_RECORDS.make(fields))


async def http_exception(request: Request, exc: Exception) -> Response:
    """Framework errors (unknown path, wrong method) as envelopes too, keeping the
    framework's headers (a 405's Allow). Every HTTP service's app installs it:
    `Starlette(..., exception_handlers={HTTPException: http_exception})`."""
    assert isinstance(exc, HTTPException)
    response = plain_status_response(exc.status_code, str(exc.detail), current_trace_id())
    if exc.headers:
        response.headers.update(exc.headers)
    return response
