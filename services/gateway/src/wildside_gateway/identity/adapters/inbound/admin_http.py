"""HTTP adapter for admin reports.

GET /api/v1/admin/enrichment/provenance   enrichment fetches, newest first, keyset
    paged (limit 1-200, default 50), filtered by `from`/`to` (ISO 8601) and
    `bbox=min_lng,min_lat,max_lng,max_lat` (intersection).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_gateway.identity.app import AdminService
from wildside_gateway.identity.domain.provenance import DEFAULT_LIMIT, MAX_LIMIT, ProvenanceFilter
from wildside_gateway.shared.adapters.inbound.paging import page_params, page_response
from wildside_gateway.shared.adapters.inbound.requests import handle_errors
from wildside_gateway.shared.ports import Authenticator

LISTING = "enrichment_provenance"


class AdminEndpoints:
    def __init__(self, service: AdminService, auth: Authenticator) -> None:
        self.service = service
        self.auth = auth

    async def provenance(self, request: Request) -> Response:
        principal = await self.auth.authenticate(request.headers, request.cookies)
        principal.require_admin()
        params = page_params(request, LISTING, DEFAULT_LIMIT, MAX_LIMIT)
        filters = ProvenanceFilter.parse(request.query_params)
        window = await self.service.provenance_page(principal, filters, params)
        return page_response(request, LISTING, params, window, lambda record: record.view())

    def routes(self) -> list[Route]:
        return [
            Route(
                "/api/v1/admin/enrichment/provenance",
                handle_errors(self.provenance),
                methods=["GET"],
            )
        ]
