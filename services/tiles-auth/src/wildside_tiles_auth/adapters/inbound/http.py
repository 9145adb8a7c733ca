"""`GET /auth`: Traefik forward-auth for `/tiles/*`.

Traefik forwards the tile request's headers (Cookie, Authorization) here. A valid
session (cookie `session` or `Authorization: Bearer`) answers 200 with the user id and
role as `X-Wildside-User` / `X-Wildside-Role` (Traefik can copy them upstream); anything
else answers 401 with the error envelope, which Traefik returns to the client.
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.errors import Unauthorized
from wildside_common.logs import current_trace_id
from wildside_common.sessions import request_token
from wildside_common.transport.http import error_response
from wildside_tiles_auth.ports import SessionVerifier

DECISIONS = Counter("wildside_tiles_auth_decisions_total", "Forward-auth answers", ["outcome"])


def auth_route(verifier: SessionVerifier, cookie_name: str = "session") -> Route:
    async def check(request: Request) -> Response:
        try:
            token = request_token(request.headers, request.cookies, cookie_name)
            if token is None:
                raise Unauthorized("tiles need a session: log in first")
            claims = verifier.verify(token)
        except Unauthorized as exc:
            DECISIONS.labels("denied").inc()
            response = error_response(exc, current_trace_id())
            response.headers["WWW-Authenticate"] = 'Bearer realm="wildside"'
            return response
        DECISIONS.labels("allowed").inc()
        headers = {
            "X-Wildside-User": claims.subject,
            "X-Wildside-Role": claims.role,
            "Cache-Control": "no-store",
        }
        return Response(status_code=200, headers=headers)

    return Route("/auth", check, methods=["GET"])
