"""HTTP adapter of route requests: thin handlers (parse -> use case -> response); errors
are mapped once, in `shared.adapters.inbound.requests`.

POST /api/v1/routes        request a route (202, `Location`; `Idempotency-Key` honoured)
GET  /api/v1/routes        the caller's own requests within the retention window, newest
                           first, keyset paged (limit 1-100, default 20)
GET  /api/v1/routes/{id}   a request's state, and its route once done
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.logs import annotate
from wildside_common.transport.http import JSONResponse
from wildside_gateway.routes.app import RouteService
from wildside_gateway.routes.domain.idempotency import HEADER as IDEMPOTENCY_HEADER
from wildside_gateway.routes.domain.idempotency import parse_key
from wildside_gateway.shared.adapters.inbound.paging import page_params, page_response
from wildside_gateway.shared.adapters.inbound.requests import (
    Endpoint,
    base_url,
    one_path,
    read_json,
)
from wildside_gateway.shared.domain.principal import Principal
from wildside_gateway.shared.ports import Authenticator

LISTING = "route_requests"


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
        # request.base_url is PUBLIC_BASE_URL's (browser.BrowserPolicy), never the Host header.
        headers = {"Location": f"{base_url(request)}api/v1/routes/{accepted.request_id}"}
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

    async def listing(self, request: Request) -> Response:
        principal = await self.principal(request)
        params = page_params(request, LISTING, 20, 100)
        window = await self.service.requests(principal, params)
        return page_response(request, LISTING, params, window, lambda summary: summary.view())

    async def cancel(self, request: Request) -> Response:
        principal = await self.principal(request)
        event = await self.service.cancel(principal, request.path_params["request_id"])
        annotate(request_id=event.request_id)
        # 202: stored and announced; the router stops the job at its next check.
        return JSONResponse(
            {"request_id": event.request_id, "status": event.status.value}, status_code=202
        )

    def direct(self) -> dict[tuple[str, str], Endpoint]:
        """The submission, answered without the router (`requests.DirectRoutes`)."""
        return {("POST", "/api/v1/routes"): self.submit}

    def routes(self) -> list[Route]:
        return [
            one_path("/api/v1/routes", {"POST": self.submit, "GET": self.listing}),
            one_path("/api/v1/routes/{request_id}", {"GET": self.read, "DELETE": self.cancel}),
        ]
