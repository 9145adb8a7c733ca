"""The ports tiles-auth depends on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from wildside_common.sessions import SessionClaims


class SessionVerifier(Protocol):
    def verify(self, token: str) -> SessionClaims:
        """The token's claims; raises Unauthorized for any token that is not valid now."""
        ...


class RouteOwners(Protocol):
    async def owner_of(self, request_id: str) -> str | None:
        """The user id of the route request (unexpired), or None when unknown."""
        ...


class TileStore(Protocol):
    """The tile functions themselves (the development tile server; Martin otherwise)."""

    async def tile(self, source: str, z: int, x: int, y: int, params: Mapping[str, Any]) -> bytes:
        """The function `source`'s tile (b"" when empty); `params` go to a function taking
        `query_params`, as Martin passes them."""
        ...

    async def comment(self, source: str) -> str | None:
        """The function's SQL comment: its TileJSON, by Martin's convention."""
        ...
