"""The use case alone, over fakes: the session first, then the URI, then the owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tiles_auth_fakes import FakeRouteOwners

from wildside_common.errors import NotFound, Unauthorized, Unavailable
from wildside_common.sessions import SessionClaims
from wildside_tiles_auth.app import AuthorizeTiles

pytestmark = pytest.mark.unit
USER = "6f1c6c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
OTHER = "9d8e7f6a-1111-4222-8333-444455556666"
ROUTE = "2b0f4c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
TILE = f"/tiles/get_route_tile/14/9327/4742?request_id={ROUTE}"


def claims(subject: str = USER, role: str = "user") -> SessionClaims:
    now = datetime.now(UTC)
    return SessionClaims(subject, role, now, now + timedelta(hours=1), "k", "jti")


class Verifier:
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def verify(self, token: str) -> SessionClaims:
        self.tokens.append(token)
        if token != "good":
            raise Unauthorized("the session is not valid")
        return claims()


async def test_no_token_is_refused_before_the_verifier_runs() -> None:
    verifier = Verifier()
    with pytest.raises(Unauthorized):
        await AuthorizeTiles(verifier).session(None)
    assert verifier.tokens == []
    assert (await AuthorizeTiles(verifier).session("good")).subject == USER


async def test_a_route_tile_needs_the_owner_or_an_admin() -> None:
    owners = FakeRouteOwners({ROUTE: USER})
    use_case = AuthorizeTiles(Verifier(), owners)
    await use_case.tiles(claims(USER), [TILE])
    await use_case.tiles(claims(OTHER, "admin"), [TILE])
    with pytest.raises(NotFound):
        await use_case.tiles(claims(OTHER), [TILE])
    assert owners.lookups == 3


async def test_no_lookup_for_a_tile_without_a_route_and_none_for_the_catalog() -> None:
    owners = FakeRouteOwners({ROUTE: USER})
    use_case = AuthorizeTiles(Verifier(), owners)
    with pytest.raises(NotFound):
        await use_case.tiles(claims(), ["/tiles/catalog"])
    await use_case.tiles(claims(role="admin"), ["/tiles/catalog"])
    with pytest.raises(NotFound):  # Traefik sends one URI: two are a request for nothing
        await use_case.tiles(claims(), [TILE, TILE])
    assert owners.lookups == 0


async def test_route_tiles_without_a_database_are_unavailable() -> None:
    with pytest.raises(Unavailable):
        await AuthorizeTiles(Verifier()).tiles(claims(), [TILE])
