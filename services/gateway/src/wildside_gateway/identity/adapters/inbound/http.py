"""HTTP adapter for sessions, the user's profile and interests, and the user listing.

POST /api/v1/login               credentials -> profile + `session` cookie (throttled: 429)
POST /api/v1/logout              ends the session (revoked everywhere) and clears the cookie
GET  /api/v1/users/me            the profile
PUT  /api/v1/users/me/interests  replace the interest set (revision-guarded)
GET  /api/v1/interest-themes     the theme catalogue
GET  /api/v1/users               admin: keyset-paged user listing
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.pagination import Paginated
from wildside_common.pagination_metrics import observe_page
from wildside_common.transport.http import JSONResponse
from wildside_gateway.identity.app import IdentityService
from wildside_gateway.identity.config import IdentitySettings
from wildside_gateway.shared.adapters.inbound.client_address import client_address
from wildside_gateway.shared.adapters.inbound.paging import listing_base, page_params
from wildside_gateway.shared.adapters.inbound.requests import handle_errors, read_json
from wildside_gateway.shared.domain.principal import Principal
from wildside_gateway.shared.ports import Authenticator, SessionGate

LOGIN_BODY_LIMIT = 4096


class IdentityEndpoints:
    def __init__(
        self,
        service: IdentityService,
        auth: Authenticator,
        gate: SessionGate,
        settings: IdentitySettings,
        max_body: int,
    ) -> None:
        self.service = service
        self.auth = auth
        self.gate = gate
        self.settings = settings
        self.max_body = max_body

    async def principal(self, request: Request) -> Principal:
        return await self.auth.authenticate(request.headers, request.cookies)

    async def login(self, request: Request) -> Response:
        body = await read_json(request, min(self.max_body, LOGIN_BODY_LIMIT))
        peer = request.client.host if request.client else None
        forwarded = request.headers.getlist("x-forwarded-for")
        address = client_address(peer, forwarded, self.settings.trusted_proxies)
        session = await self.service.login(body, address)
        response = JSONResponse(session.profile.view())
        response.set_cookie(
            self.settings.cookie_name,
            session.token,
            max_age=int(self.service.sessions.lifetime.total_seconds()),
            path="/",
            secure=self.settings.cookie_secure,
            httponly=True,
            samesite=self.settings.samesite.lower(),  # type: ignore[arg-type]
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def logout(self, request: Request) -> Response:
        _, claims = await self.gate.session(request.headers, request.cookies)
        await self.service.logout(claims)
        response = Response(status_code=204)
        response.delete_cookie(
            self.settings.cookie_name,
            path="/",
            secure=self.settings.cookie_secure,
            httponly=True,
            samesite=self.settings.samesite.lower(),  # type: ignore[arg-type]
        )
        return response

    async def me(self, request: Request) -> Response:
        profile = await self.service.me(await self.principal(request))
        return JSONResponse(profile.view())

    async def set_interests(self, request: Request) -> Response:
        principal = await self.principal(request)
        body = await read_json(request, self.max_body)
        profile = await self.service.set_interests(principal, body)
        return JSONResponse(profile.view())

    async def themes(self, request: Request) -> Response:
        await self.principal(request)
        themes = await self.service.themes()
        return JSONResponse({"data": [theme.view() for theme in themes]})

    async def users(self, request: Request) -> Response:
        principal = await self.principal(request)
        principal.require_admin()
        params = page_params(request, "users", 20, 100)
        window = await self.service.list_users(principal, params)
        observe_page("users", params, len(window.items))
        page = Paginated.build(
            window, params, listing_base(request), request.query_params.multi_items()
        )
        return JSONResponse(page.to_wire(lambda user: user.view()))

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/login", handle_errors(self.login), methods=["POST"]),
            Route("/api/v1/logout", handle_errors(self.logout), methods=["POST"]),
            Route("/api/v1/users/me", handle_errors(self.me), methods=["GET"]),
            Route("/api/v1/users/me/interests", handle_errors(self.set_interests), methods=["PUT"]),
            Route("/api/v1/interest-themes", handle_errors(self.themes), methods=["GET"]),
            Route("/api/v1/users", handle_errors(self.users), methods=["GET"]),
        ]
