"""HTTP adapter: thin handlers (parse -> use case -> response), one error mapping.

Every error leaves through `wildside_common.transport.http.error_response`, so every
failure is the brief's envelope with the request's trace id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.errors import (
    DomainError,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from wildside_common.logs import annotate, current_trace_id
from wildside_common.transport.http import JSONResponse, error_response, plain_status_response
from wildside_gateway.app import RouteService
from wildside_gateway.domain.idempotency import HEADER as IDEMPOTENCY_HEADER
from wildside_gateway.domain.idempotency import parse_key
from wildside_gateway.domain.principal import Principal
from wildside_gateway.ports import Authenticator

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
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes", {"limit_bytes": limit})
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("the body is not valid JSON", {"reason": str(exc)}) from None


def handle_errors(endpoint: Endpoint) -> Endpoint:
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except DomainError as exc:
            return error_response(exc, current_trace_id())

    return wrapped


class RouteEndpoints:
    def __init__(
        self,
        service: RouteService,
        auth: Authenticator,
        max_body: int,
        retry_after: int,
    ) -> None:
        self.service = service
        self.auth = auth
        self.max_body = max_body
        self.retry_after = retry_after

    async def principal(self, request: Request) -> Principal:
        return await self.auth.authenticate(request.headers, request.cookies)

    async def submit(self, request: Request) -> Response:
        principal = await self.principal(request)
        key = parse_key(request.headers.get(IDEMPOTENCY_HEADER))
        body = await read_json(request, self.max_body)
        # The service bounds the submission itself (REQUEST_TIMEOUT_SECONDS): a request
        # it has started is always answered with what became of it.
        accepted = await self.service.submit(principal, body, key)
        annotate(request_id=accepted.request_id)
        # request.base_url is PUBLIC_BASE_URL's (browser.PublicOrigin), never the Host header.
        headers = {"Location": f"{request.base_url}api/v1/routes/{accepted.request_id}"}
        if accepted.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse({"request_id": accepted.request_id}, status_code=202, headers=headers)

    async def read(self, request: Request) -> Response:
        principal = await self.principal(request)
        state = await self.service.state(principal, request.path_params["request_id"])
        if state.status.final:
            return JSONResponse(state.view(), status_code=200)
        return JSONResponse(
            state.view(), status_code=202, headers={"Retry-After": str(self.retry_after)}
        )

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/routes", handle_errors(self.submit), methods=["POST"]),
            Route("/api/v1/routes/{request_id}", handle_errors(self.read), methods=["GET"]),
        ]


async def http_exception(request: Request, exc: Exception) -> Response:
    """Framework errors (unknown path, wrong method) as envelopes too."""
    assert isinstance(exc, HTTPException)
    response = plain_status_response(exc.status_code, str(exc.detail), current_trace_id())
    if exc.headers:
        response.headers.update(exc.headers)
    return response
