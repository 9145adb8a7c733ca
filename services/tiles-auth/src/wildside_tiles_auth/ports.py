"""The ports tiles-auth depends on."""

from __future__ import annotations

from typing import Protocol

from wildside_common.sessions import SessionClaims


class SessionVerifier(Protocol):
    def verify(self, token: str) -> SessionClaims:
        """The token's claims; raises Unauthorized for any token that is not valid now."""
        ...


class RouteOwners(Protocol):
    async def owner_of(self, request_id: str) -> str | None:
        """The user id of the route request (unexpired), or None when unknown."""
        ...
