"""HTTP adapter of the places: thin handlers (session -> use case -> response).

GET /api/v1/pois?bbox=min_lng,min_lat,max_lng,max_lat[&themes=a,b][&limit=&cursor=]
    the POIs in the box, most popular first, keyset paged (limit 1-200, default 50)
GET /api/v1/pois/{poi_id}
    one POI (`n123`, `w45`, `r6`) with the tags a walker cares about and its provenance

Both need a session (401 first, whatever the input); errors leave through
`shared.adapters.inbound.requests.handle_errors`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.transport.http import JSONResponse
from wildside_gateway.places.app import PlaceService
from wildside_gateway.places.domain.places import DEFAULT_LIMIT, MAX_LIMIT, PoiSummary
from wildside_gateway.shared.adapters.inbound.paging import page_params, page_response
from wildside_gateway.shared.adapters.inbound.requests import handle_errors
from wildside_gateway.shared.ports import Authenticator

LISTING = "pois"


class PlaceEndpoints:
    def __init__(self, service: PlaceService, auth: Authenticator) -> None:
        self.service = service
        self.auth = auth

    async def listing(self, request: Request) -> Response:
        principal = await self.auth.authenticate(request.headers, request.cookies)
        params = page_params(request, LISTING, DEFAULT_LIMIT, MAX_LIMIT)
        window = await self.service.pois(principal, request.query_params, params)
        return page_response(request, LISTING, params, window, PoiSummary.view)

    async def detail(self, request: Request) -> Response:
        principal = await self.auth.authenticate(request.headers, request.cookies)
        found = await self.service.poi(principal, request.path_params["poi_id"])
        return JSONResponse(found.view())

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/pois", handle_errors(self.listing), methods=["GET"]),
            Route("/api/v1/pois/{poi_id}", handle_errors(self.detail), methods=["GET"]),
        ]
