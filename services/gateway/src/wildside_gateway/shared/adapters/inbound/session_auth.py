"""The `Authenticator` and `SessionGate` ports over signed session tokens.

HTTP: `Authorization: Bearer <token>`, else the `session` cookie. WebSocket upgrades may
also carry the token as a `bearer.<token>` subprotocol offer (browsers cannot set
headers on a WebSocket); a token in the query string is never read, because URLs end up
in logs. A token must verify (signature, key, expiry) and must not have been revoked:
a logout, or the end of every session of its user (a role change, a password reset,
`wildside-manage revoke-sessions`), is honoured on the next request. The revocation
check reads a per-process mirror (no Redis round trip); when the mirror is stale it
fails closed with 503 (`wildside_common.revocations_redis`).
"""

from __future__ import annotations

from collections.abc import Mapping

from wildside_common.errors import InvalidInput, Unauthorized
from wildside_common.logs import annotate
from wildside_common.revocations import SessionRevocations, confirm_session
from wildside_common.sessions import (
    SessionClaims,
    SessionCodec,
    request_token,
    subprotocol_token,
)
from wildside_gateway.shared.domain.principal import Principal, Role


class SessionAuthenticator:
    def __init__(
        self,
        codec: SessionCodec,
        revocations: SessionRevocations,
        cookie_name: str = "session",
        websocket: bool = False,
    ) -> None:
        self.codec = codec
        self.revocations = revocations
        self.cookie_name = cookie_name
        self.websocket = websocket

    def token(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
        token = request_token(headers, cookies, self.cookie_name)
        if token is None and self.websocket:
            offers = headers.get("sec-websocket-protocol", "").split(",")
            token = subprotocol_token(offer.strip() for offer in offers)
        return token

    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> Principal:
        principal, _ = await self.session(headers, cookies)
        return principal

    async def session(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[Principal, SessionClaims]:
        token = self.token(headers, cookies)
        if token is None:
            raise Unauthorized("this endpoint needs a session: log in first")
        claims = self.codec.verify(token)
        await confirm_session(self.revocations, claims, self.codec.clock())
        try:
            principal = Principal(claims.subject, Role(claims.role))
        except (InvalidInput, ValueError):
            raise Unauthorized("the session token is invalid") from None
        annotate(user_id=principal.user_id)
        return principal, claims

    async def confirm(self, claims: SessionClaims) -> None:
        await confirm_session(self.revocations, claims, self.codec.clock())

    async def revocation_generation(self) -> int:
        return await self.revocations.generation()
