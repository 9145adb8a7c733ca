"""HTTP adapter of saved routes: thin handlers (parse -> use case -> response); errors
are mapped once, in `shared.adapters.inbound.requests`. Only the owner sees a saved
route: another user's id is 404, like a missing one; an id that is not a UUID is 400.

POST   /api/v1/saved-routes        {"request_id", "name"} -> 201 + Location
                                   (`Idempotency-Key` honoured; 409 not succeeded or
                                   `limit_reached`; 404 not the caller's request)
GET    /api/v1/saved-routes        newest first, keyset paged (limit 1-100, default 20)
GET    /api/v1/saved-routes/{id}   the saved route with its route (schemas/Route.schema.json)
PATCH  /api/v1/saved-routes/{id}   {"name"}: rename
DELETE /api/v1/saved-routes/{id}   204
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.logs import annotate
from wildside_common.transport.http import JSONResponse
from wildside_gateway.routes.domain.idempotency import HEADER as IDEMPOTENCY_HEADER
from wildside_gateway.routes.domain.idempotency import parse_key
from wildside_gateway.saved.app import SavedRouteService
from wildside_gateway.shared.adapters.inbound.paging import page_params, page_response
from wildside_gateway.shared.adapters.inbound.requests import base_url, one_path, read_json
from wildside_gateway.shared.domain.principal import Principal
from wildside_gateway.shared.ports import Authenticator

LISTING = "saved_routes"
PATH = "/api/v1/saved-routes"


class SavedRouteEndpoints:
    def __init__(self, service: SavedRouteService, auth: Authenticator, max_body: int) -> None:
        self.service = service
        self.auth = auth
        self.max_body = max_body

    async def principal(self, request: Request) -> Principal:
        return await self.auth.authenticate(request.headers, request.cookies)

    async def save(self, request: Request) -> Response:
        principal = await self.principal(request)
        key = parse_key(request.headers.get(IDEMPOTENCY_HEADER))
        body = await read_json(request, self.max_body)
        saved = await self.service.save(principal, body, key)
        annotate(saved_route_id=saved.saved_id)
        # request.base_url is PUBLIC_BASE_URL's (browser.BrowserPolicy), never the Host header.
        headers = {"Location": f"{base_url(request)}api/v1/saved-routes/{saved.saved_id}"}
        if saved.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(saved.body, status_code=201, headers=headers)

    async def listing(self, request: Request) -> Response:
        principal = await self.principal(request)
        params = page_params(request, LISTING, 20, 100)
        window = await self.service.page(principal, params)
        return page_response(request, LISTING, params, window, lambda saved: saved.view())

    async def read(self, request: Request) -> Response:
        principal = await self.principal(request)
        saved = await self.service.get(principal, request.path_params["saved_id"])
        return JSONResponse(saved.view())

    async def rename(self, request: Request) -> Response:
        principal = await self.principal(request)
        body = await read_json(request, self.max_body)
        renamed = await self.service.rename(principal, request.path_params["saved_id"], body)
        return JSONResponse(renamed.view())

    async def delete(self, request: Request) -> Response:
        principal = await self.principal(request)
        await self.service.delete(principal, request.path_params["saved_id"])
        return Response(status_code=204)

    def routes(self) -> list[Route]:
        return [
            one_path(PATH, {"POST": self.save, "GET": self.listing}),
            one_path(
                f"{PATH}/{{saved_id}}",
                {"GET": self.read, "PATCH": self.rename, "DELETE": self.delete},
            ),
        ]
