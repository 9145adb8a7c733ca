"""`GET /tiles/...`: the development tile server, where no Martin runs (`make up` on a
machine without a container engine). Same paths as Martin behind Traefik:

    /tiles/{ids}/{z}/{x}/{y}[?query]   a tile (application/x-protobuf; 204 when empty)
    /tiles/{ids}[?query]               TileJSON (the function's comment, `tiles` added)
    /tiles/catalog                     the served sources (admins only, as with Martin)

Each request is decided by tiles-auth's own use case on its raw URI (what Traefik would
forward as X-Forwarded-Uri): the same 401/404/400/503 as `/auth` for whatever it
refuses. A tile carries a strong `ETag` (of its bytes) and `Cache-Control: private,
no-cache`: a map revalidates each tile and gets 304 when it is unchanged.
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.errors import DomainError, Unauthorized
from wildside_common.logs import current_trace_id
from wildside_common.sessions import request_token
from wildside_common.transport.http import JSONResponse, error_response
from wildside_tiles_auth.app import ServeTiles
from wildside_tiles_auth.domain.serving import etag, matches

SERVED = Counter("wildside_dev_tiles_total", "Development tile server answers", ["outcome"])
MVT = "application/x-protobuf"
CACHE = "private, no-cache"


def raw_uri(request: Request) -> str:
    """The request URI as sent (path and query, not decoded): Traefik's RequestURI."""
    path = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    uri = path.decode("latin-1")
    return f"{uri}?{query.decode('latin-1')}" if query else uri


def tiles_route(use_case: ServeTiles, base_url: str, cookie_name: str = "session") -> Route:
    async def serve(request: Request) -> Response:
        try:
            token = request_token(request.headers, request.cookies, cookie_name)
            served = await use_case.serve(token, raw_uri(request), base_url)
        except DomainError as exc:
            SERVED.labels(exc.code).inc()
            response = error_response(exc, current_trace_id())
            if isinstance(exc, Unauthorized):
                response.headers["WWW-Authenticate"] = 'Bearer realm="wildside"'
            return response
        if served.document is not None:
            SERVED.labels(served.kind).inc()
            return JSONResponse(served.document, headers={"Cache-Control": CACHE})
        if not served.tile:
            SERVED.labels("empty").inc()
            return Response(status_code=204, headers={"Cache-Control": CACHE})
        tag = etag(served.tile)
        headers = {"ETag": tag, "Cache-Control": CACHE}
        if matches(request.headers.get("if-none-match"), tag):
            SERVED.labels("not_modified").inc()
            return Response(status_code=304, headers=headers)
        SERVED.labels("tile").inc()
        return Response(served.tile, media_type=MVT, headers=headers)

    return Route("/tiles/{rest:path}", serve, methods=["GET"])
