"""The `Authenticator` port over signed session tokens.

HTTP: `Authorization: Bearer <token>`, else the `session` cookie. WebSocket upgrades may
also carry the token as a `bearer.<token>` subprotocol offer (browsers cannot set
headers on a WebSocket); a token in the query string is never read, because URLs end up
in logs. The role comes from the token, so a revoked admin keeps the role until the
session expires (two hours at most).
"""

from __future__ import annotations

from collections.abc import Mapping

from wildside_common.errors import InvalidInput, Unauthorized
from wildside_common.logs import annotate
from wildside_common.sessions import SessionCodec, request_token, subprotocol_token
from wildside_gateway.domain.principal import Principal, Role


class SessionAuthenticator:
    def __init__(
        self, codec: SessionCodec, cookie_name: str = "session", websocket: bool = False
    ) -> None:
        self.codec = codec
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
        token = self.token(headers, cookies)
        if token is None:
            raise Unauthorized("this endpoint needs a session: log in first")
        claims = self.codec.verify(token)
        try:
            principal = Principal(claims.subject, Role(claims.role))
        except (InvalidInput, ValueError):
            raise Unauthorized("the session token is invalid") from None
        annotate(user_id=principal.user_id)
        return principal
