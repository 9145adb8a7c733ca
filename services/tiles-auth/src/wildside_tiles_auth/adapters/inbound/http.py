"""`GET /auth`: Traefik forward-auth for `/tiles/*`.

Traefik forwards the tile request's headers (Cookie, Authorization, X-Forwarded-Uri)
here. A valid session (cookie `session` or `Authorization: Bearer`) answers 200 with the
user id and role as `X-Wildside-User` / `X-Wildside-Role` (Traefik can copy them
upstream); no or a bad session answers 401 with the error envelope, which Traefik
returns to the client. Then the URI decides (domain/route_tiles.py): only the configured
sources, in one canonical spelling, pass; anything else, `/tiles/catalog` for a user and
a request without `X-Forwarded-Uri` included, is 404. A source that draws one route
(`get_route_tile?request_id=...`, alone or in a composite) also needs the route to be the
user's own (an admin's: any): another user's or an unknown route is 404, as on
`GET /api/v1/routes/{id}`; a missing, repeated or malformed request_id is 400.

A revoked session (logout, `wildside-manage revoke-sessions`) is a bad session: 401
within a second of the revocation; 503 when revocations cannot be read (fail closed).
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.errors import DomainError, Unauthorized
from wildside_common.logs import current_trace_id
from wildside_common.sessions import request_token
from wildside_common.transport.http import error_response
from wildside_tiles_auth.app import AuthorizeTiles

DECISIONS = Counter("wildside_tiles_auth_decisions_total", "Forward-auth answers", ["outcome"])


def auth_route(use_case: AuthorizeTiles, cookie_name: str = "session") -> Route:
    """`GET /auth` over the use case: 200 with the user's headers, else the envelope."""

    async def check(request: Request) -> Response:
        try:
            token = request_token(request.headers, request.cookies, cookie_name)
            claims = await use_case.session(token)
        except Unauthorized as exc:
            DECISIONS.labels("denied").inc()
            response = error_response(exc, current_trace_id())
            response.headers["WWW-Authenticate"] = 'Bearer realm="wildside"'
            return response
        except DomainError as exc:
            DECISIONS.labels(exc.code).inc()
            return error_response(exc, current_trace_id())
        try:
            await use_case.tiles(claims, request.headers.getlist("x-forwarded-uri"))
        except DomainError as exc:
            DECISIONS.labels(exc.code).inc()
            return error_response(exc, current_trace_id())
        DECISIONS.labels("allowed").inc()
        headers = {
            "X-Wildside-User": claims.subject,
            "X-Wildside-Role": claims.role,
            "Cache-Control": "no-store",
        }
        return Response(status_code=200, headers=headers)

    return Route("/auth", check, methods=["GET"])
