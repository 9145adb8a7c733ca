"""`GET /tiles/...` on the gateway, in development only (TILES_DEV_UPSTREAM): the map
reaches tiles on the gateway's own origin, as behind Traefik in production. Each request
goes to the development tile server with its URI as sent and only the session and
`If-None-Match` headers; its answer (tile, TileJSON, 304, or tiles-auth's refusal) comes
back as is. The gateway decides nothing about tiles.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_gateway.places.app import TileRelay
from wildside_gateway.shared.adapters.inbound.requests import handle_errors


def raw_uri(request: Request) -> str:
    path = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    uri = path.decode("latin-1")
    return f"{uri}?{query.decode('latin-1')}" if query else uri


def tile_proxy_routes(relay: TileRelay) -> list[Route]:
    async def forward(request: Request) -> Response:
        answer = await relay.relay(raw_uri(request), request.headers)
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    return [
        Route("/tiles", handle_errors(forward), methods=["GET"]),
        Route("/tiles/{rest:path}", handle_errors(forward), methods=["GET"]),
    ]
