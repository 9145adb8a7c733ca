"""Which forwarded URIs are route tiles, and who may see a route."""

from __future__ import annotations

import pytest

from wildside_common.errors import InvalidInput
from wildside_tiles_auth.domain.route_tiles import may_see, route_tile_request_id

pytestmark = pytest.mark.unit
RID = "2b0f4c1e-8a43-4b8e-9d0e-0e4bb7c8a111"


@pytest.mark.parametrize(
    "uri",
    [
        f"/tiles/get_route_tile/14/9327/4742?request_id={RID}",
        f"/get_route_tile/14/9327/4742?request_id={RID}",
        f"/tiles/get_route_tile?request_id={RID.upper()}",
        f"https://wildside.example.org/tiles/get_route_tile/1/0/0?request_id={RID}&x=1",
    ],
)
def test_route_tile_uris_name_their_request(uri: str) -> None:
    assert route_tile_request_id(uri) == RID


@pytest.mark.parametrize(
    "uri", [None, "", "/tiles/pois/14/1/1", "/tiles/catalog", "/tiles/get_route_tiles/1/0/0"]
)
def test_other_tiles_are_not_route_tiles(uri: str | None) -> None:
    assert route_tile_request_id(uri) is None


@pytest.mark.parametrize(
    "query", ["", "?request_id=", "?request_id=nope", f"?request_id={RID}&request_id={RID}"]
)
def test_a_route_tile_without_one_valid_request_id_is_invalid(query: str) -> None:
    with pytest.raises(InvalidInput):
        route_tile_request_id(f"/tiles/get_route_tile/14/1/1{query}")


def test_users_see_their_own_routes_and_admins_any_existing_one() -> None:
    assert may_see("u1", "u1", "user")
    assert not may_see("u1", "u2", "user")
    assert may_see("u1", "u2", "admin")
    assert not may_see(None, "u2", "admin")
