"""HTTP adapter for sessions, the user's profile and interests, and the user listing.

POST /api/v1/login               credentials -> profile + `session` cookie (throttled: 429)
POST /api/v1/logout              ends the session (revoked everywhere) and clears the cookie
GET  /api/v1/users/me            the profile
PUT  /api/v1/users/me/interests  replace the interest set (revision-guarded)
GET  /api/v1/interest-themes     the theme catalogue
GET  /api/v1/users               admin: keyset-paged user listing
POST /api/v1/users               sign up: a new account, logged in (201, `session` cookie)
DELETE /api/v1/users/me          leave: delete my account and all that is mine (204)
GET  /api/v1/users/me/export     all that is mine, as one JSON document
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.transport.http import JSONResponse
from wildside_gateway.identity.app import AccountService, IdentityService, Session
from wildside_gateway.identity.config import IdentitySettings
from wildside_gateway.shared.adapters.inbound.client_address import client_address
from wildside_gateway.shared.adapters.inbound.paging import listing_base, page_params, page_response
from wildside_gateway.shared.adapters.inbound.requests import handle_errors, one_path, read_json
from wildside_gateway.shared.domain.principal import Principal
from wildside_gateway.shared.ports import Authenticator, SessionGate

LOGIN_BODY_LIMIT = 4096


def client_of(request: Request, settings: IdentitySettings) -> str:
    """The client's address (X-Forwarded-For believed from TRUSTED_PROXIES only)."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    return client_address(peer, forwarded, settings.trusted_proxies)


class IdentityEndpoints:
    def __init__(
        self,
        service: IdentityService,
        auth: Authenticator,
        gate: SessionGate,
        settings: IdentitySettings,
        max_body: int,
        accounts: AccountService,
    ) -> None:
        self.service = service
        self.accounts = accounts
        self.auth = auth
        self.gate = gate
        self.settings = settings
        self.max_body = max_body

    async def principal(self, request: Request) -> Principal:
        return await self.auth.authenticate(request.headers, request.cookies)

    async def login(self, request: Request) -> Response:
        body = await read_json(request, min(self.max_body, LOGIN_BODY_LIMIT))
        session = await self.service.login(body, client_of(request, self.settings))
        return self.with_session(JSONResponse(session.profile.view()), session)

    def with_session(self, response: Response, session: Session) -> Response:
        """The response carrying the new session's cookie (login and sign-up alike)."""
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

    def without_session(self, response: Response) -> Response:
        """The response clearing the session cookie (logout and leaving alike)."""
        response.delete_cookie(
            self.settings.cookie_name,
            path="/",
            secure=self.settings.cookie_secure,
            httponly=True,
            samesite=self.settings.samesite.lower(),  # type: ignore[arg-type]
        )
        return response

    async def logout(self, request: Request) -> Response:
        _, claims = await self.gate.session(request.headers, request.cookies)
        await self.service.logout(claims)
        return self.without_session(Response(status_code=204))

    async def sign_up(self, request: Request) -> Response:
        body = await read_json(request, min(self.max_body, LOGIN_BODY_LIMIT))
        session = await self.accounts.sign_up(body, client_of(request, self.settings))
        response = JSONResponse(session.profile.view(), status_code=201)
        response.headers["Location"] = f"{listing_base(request)}/me"
        return self.with_session(response, session)

    async def leave(self, request: Request) -> Response:
        principal, claims = await self.gate.session(request.headers, request.cookies)
        body = None  # the password is optional: a fresh session sends no body
        headers = request.headers
        declared = headers.get("content-length")
        sent = declared is not None or "transfer-encoding" in headers or "content-type" in headers
        if sent and declared != "0":
            body = await read_json(request, min(self.max_body, LOGIN_BODY_LIMIT))
        await self.accounts.leave(principal, claims, body, client_of(request, self.settings))
        return self.without_session(Response(status_code=204))

    async def export(self, request: Request) -> Response:
        document = await self.accounts.export(await self.principal(request))
        response = JSONResponse(document)
        response.headers["Content-Disposition"] = 'attachment; filename="wildside-export.json"'
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
        return page_response(request, "users", params, window, lambda user: user.view())

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/login", handle_errors(self.login), methods=["POST"]),
            Route("/api/v1/logout", handle_errors(self.logout), methods=["POST"]),
            one_path("/api/v1/users/me", {"GET": self.me, "DELETE": self.leave}),
            Route("/api/v1/users/me/export", handle_errors(self.export), methods=["GET"]),
            Route("/api/v1/users/me/interests", handle_errors(self.set_interests), methods=["PUT"]),
            Route("/api/v1/interest-themes", handle_errors(self.themes), methods=["GET"]),
            one_path("/api/v1/users", {"GET": self.users, "POST": self.sign_up}),
        ]
