"""Request helpers both areas' HTTP adapters use: the JSON body within its limit, and
one error mapping (every error leaves through
`wildside_common.transport.http.error_response`, the brief's envelope with the trace id).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from wildside_common.errors import (
    DomainError,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from wildside_common.logs import current_trace_id
from wildside_common.transport.http import error_response

Endpoint = Callable[[Request], Awaitable[Response]]


def require_json(content_type: str | None) -> None:
    """415 unless the body is declared `application/json` (parameters such as charset
    allowed). A missing Content-Type is refused too: no browser form or `text/plain`
    body reaches a JSON endpoint. Endpoints without a body (logout) do not check it."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            "the body must be application/json (Content-Type: application/json)",
            {"expected": "application/json"},
        )


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing bodies over `limit` bytes before reading them whole."""
    require_json(request.headers.get("content-type"))
    declared = request.headers.get("content-length")
    # isascii: str.isdigit() is also true of "²", which int() refuses.
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes", {"limit_bytes": limit})
    try:
        return orjson.loads(await read_body(request, limit))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("the body is not valid JSON", {"reason": str(exc)}) from None


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused once over `limit` bytes: what `Request.stream()` gives, read
    straight from `receive` (the same steps and flags as Starlette's stream, a client gone
    before the end is `ClientDisconnect`) without an async generator per request."""
    chunks: list[bytes] = []
    size = 0

    def add(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes", {"limit_bytes": limit})
        chunks.append(chunk)

    if hasattr(request, "_body") or request._stream_consumed:  # read before: Starlette's way
        async for chunk in request.stream():
            add(chunk)
        return b"".join(chunks)
    receive = request.receive
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            more = message.get("more_body", False)
            if not more:
                request._stream_consumed = True
            chunk = message.get("body", b"")
            if chunk:
                add(chunk)
            if not more:
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif kind == "http.disconnect":
            request._is_disconnected = True
            raise ClientDisconnect()


_BASE_URLS: dict[tuple[Any, ...], str] = {}


def base_url(request: Request) -> str:
    """`str(request.base_url)`, worked out once per (scheme, Host, root path, server): behind
    `browser.BrowserPolicy` that is PUBLIC_BASE_URL's, so once per process."""
    scope = request.scope
    host = next((value for name, value in scope["headers"] if name == b"host"), b"")
    root = scope.get("app_root_path", scope.get("root_path", ""))
    key = (scope["scheme"], host, root, scope.get("server"))
    known = _BASE_URLS.get(key)
    if known is None:
        if len(_BASE_URLS) >= 64:  # Host headers of a server without the policy: bounded
            _BASE_URLS.clear()
        known = _BASE_URLS[key] = str(request.base_url)
    return known


def handle_errors(endpoint: Endpoint) -> Endpoint:
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except DomainError as exc:
            return error_response(exc, current_trace_id())

    return wrapped


def one_path(path: str, handlers: Mapping[str, Endpoint]) -> Route:
    """One route answering every method of `path` (each handler wrapped by
    `handle_errors`; HEAD by GET's). Starlette answers 405 from the first route whose
    path matches, with that route's methods alone in `Allow`: a path served by several
    routes would name too few methods."""
    wrapped = {method.upper(): handle_errors(handler) for method, handler in handlers.items()}

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await wrapped[method](request)

    return Route(path, dispatch, methods=list(wrapped))


class DirectRoutes:
    """ASGI layer answering a few hot (method, path) pairs straight from their endpoint
    (wrapped by `handle_errors`, as `one_path` wraps it), without Starlette's exception
    layer, router and `request_response` around it: on the submission path those frames
    cost more than the endpoint's own work. Placed innermost among the gateway's
    middleware (`bootstrap.gateway_app`), so the telemetry, browser policy and 500
    handling around it are unchanged; every other request, and any request under a root
    path, goes on to the router, which still holds the same routes (their other methods,
    405 and `Allow`, the route templates)."""

    def __init__(self, app: ASGIApp, endpoints: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.endpoints = {
            (method.upper(), path): handle_errors(endpoint)
            for (method, path), endpoint in endpoints.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self.endpoints.get((scope["method"], scope["path"]))
            if endpoint is not None:
                response = await endpoint(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
