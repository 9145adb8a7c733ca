"""tiles-auth's one use case: may the holder of this session read these tiles?

The session first: a token (cookie or bearer) the keyring verifies, not expired, not
revoked (logout, `wildside-manage revoke-sessions`; unreadable revocations fail closed
with Unavailable). Then the forwarded URI, read exactly as Martin reads it
(domain/route_tiles.py): only the allowlisted sources pass; the catalog only for an
admin; a source that draws one route needs that route to be the user's own (an admin's:
any), else NotFound, as on `GET /api/v1/routes/{id}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wildside_common.errors import NotFound, Unauthorized, Unavailable
from wildside_common.revocations import SessionRevocations, confirm_session
from wildside_common.sessions import SessionClaims
from wildside_tiles_auth.domain.route_tiles import (
    DEFAULT_POLICY,
    TilePolicy,
    may_read_catalog,
    may_see,
    read_tile_uri,
)
from wildside_tiles_auth.domain.serving import catalog, tile_address, tilejson
from wildside_tiles_auth.ports import RouteOwners, SessionVerifier, TileStore


class AuthorizeTiles:
    """Decides one forward-auth request: the session's claims, or a DomainError."""

    def __init__(
        self,
        verifier: SessionVerifier,
        owners: RouteOwners | None = None,
        policy: TilePolicy = DEFAULT_POLICY,
        revocations: SessionRevocations | None = None,
    ) -> None:
        self.verifier = verifier
        self.owners = owners
        self.policy = policy
        self.revocations = revocations

    async def session(self, token: str | None) -> SessionClaims:
        """The live session's claims; Unauthorized (or Unavailable) otherwise."""
        if token is None:
            raise Unauthorized("tiles need a session: log in first")
        claims = self.verifier.verify(token)
        if self.revocations is not None:
            await confirm_session(self.revocations, claims)
        return claims

    async def tiles(self, claims: SessionClaims, forwarded_uris: Sequence[str]) -> None:
        """Returns when `claims` may read the tiles of the one forwarded URI (Traefik
        sets exactly one; none or several is a request for nothing)."""
        asked = read_tile_uri(forwarded_uris[0] if len(forwarded_uris) == 1 else None, self.policy)
        if asked.kind == "catalog" and not may_read_catalog(claims.role):
            raise NotFound("no such tiles")
        request_id = asked.request_id
        if request_id is None:
            return
        if self.owners is None:
            raise Unavailable("route tiles are not available (tiles-auth has no database)")
        if not may_see(await self.owners.owner_of(request_id), claims.subject, claims.role):
            raise NotFound("no such route")


@dataclass(frozen=True, slots=True)
class Served:
    """What the development tile server answers: a tile's bytes (b"": empty) or a JSON
    document (TileJSON, or the catalog for an admin)."""

    kind: str
    tile: bytes = b""
    document: dict[str, Any] | None = None


class ServeTiles:
    """The development tile server's use case: the forward-auth decision first, exactly
    AuthorizeTiles' (the request's own URI stands for Traefik's X-Forwarded-Uri), then
    the same PostGIS functions Martin would call."""

    def __init__(self, authorize: AuthorizeTiles, store: TileStore) -> None:
        self.authorize = authorize
        self.store = store

    async def serve(self, token: str | None, uri: str, base_url: str) -> Served:
        """What `uri` names, when the session may read it (else a DomainError)."""
        claims = await self.authorize.session(token)
        await self.authorize.tiles(claims, [uri])
        asked = read_tile_uri(uri, self.authorize.policy)
        if asked.kind == "catalog":
            sources = sorted(self.authorize.policy.sources)
            comments = [await self.store.comment(source) for source in sources]
            return Served("catalog", document=catalog(sources, comments))
        if asked.kind == "tilejson":
            comments = [await self.store.comment(source) for source in asked.sources]
            return Served("tilejson", document=tilejson(asked.sources, comments, base_url))
        address = tile_address(uri)
        parts = [
            await self.store.tile(source, address.z, address.x, address.y, address.params)
            for source in address.sources
        ]
        return Served("tile", tile=b"".join(parts))
