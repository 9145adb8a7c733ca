"""Which forwarded URIs tiles-auth passes to Martin, whose route they show, and that the
rule reads every URI it accepts as Martin 1.3.1 does (martin.py's model of it)."""

from __future__ import annotations

import pytest

from wildside_common.errors import InvalidInput, NotFound
from wildside_tiles_auth.domain.route_tiles import (
    DEFAULT_POLICY,
    TilePolicy,
    TileRequest,
    may_read_catalog,
    may_see,
    read_tile_uri,
)

pytestmark = pytest.mark.unit
RID = "2b0f4c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
OTHER = "9d8e7f6a-1111-4222-8333-444455556666"
TILE = "/tiles/get_route_tile/14/9326/4734"
BOTH = TilePolicy(frozenset({"get_route_tile", "get_poi_tile"}), frozenset({"get_route_tile"}))

# Each of these was answered 200 for another user's route before the allowlist (the old
# rule looked for a first segment of exactly `get_route_tile`, and passed anything else).
BYPASSES = [
    f"/tiles/get_route_tile,get_route_tile/14/9326/4734?request_id={OTHER}",
    f"/tiles/get%5Froute%5Ftile/14/9326/4734?request_id={OTHER}",
    f"/tiles/get%5froute_tile/14/9326/4734?request_id={OTHER}",
    f"/tiles/get%%35Froute_tile/14/9326/4734?request_id={OTHER}",
    f"/tiles/%67et_route_tile?request_id={OTHER}",
    f"/tiles/./get_route_tile/14/9326/4734?request_id={OTHER}",
    f"/tiles/x/../get_route_tile/14/9326/4734?request_id={OTHER}",
    f"/tiles/%2E/get_route_tile/14/9326/4734?request_id={OTHER}",
    f"/tiles//get_route_tile/14/9326/4734?request_id={OTHER}",
    f"/tiles/GET_ROUTE_TILE/14/9326/4734?request_id={OTHER}",
    f"/tiles/Get_Route_Tile?request_id={OTHER}",
    f"/tiles/get_route_tile;x=1/14/9326/4734?request_id={OTHER}",
    f"/tiles/get_route_tile/14/9326/4734;x=1?request_id={OTHER}",
    f"/tiles/get_route_tile%20/14/9326/4734?request_id={OTHER}",
    f"/tiles/get_route_tile/14/9326/4734%20?request_id={OTHER}",
    f"/tiles/get_route_tile%20?request_id={OTHER}",
    f"/tiles\\get_route_tile\\14\\9326\\4734?request_id={OTHER}",
    f"/tiles/get_route_tile\\14\\9326\\4734?request_id={OTHER}",
    f"/tiles/get_route_tile%5C14/9326/4734?request_id={OTHER}",
    f"/tiles/get_route_tile/14/9326/4734/?request_id={OTHER}",
    f"/tiles/get_route_tile/14/9326/4734.pbf?request_id={OTHER}",
    f"/tiles/tiles/get_route_tile/14/9326/4734?request_id={OTHER}",
    f"/tiles/get_route_tile/+14/09326/4734?request_id={OTHER}",
    f"/tiles/get_route_tile,/14/9326/4734?request_id={OTHER}",
    f"{TILE}?request%5Fid={OTHER}",
    f"{TILE}?request_id=%22{OTHER}%22",
    f"{TILE}?REQUEST_ID={OTHER}",
    f"{TILE}?request_id={OTHER}#x",
    f"{TILE}?request_id={OTHER};x=1",
    f"https://wildside.example.org{TILE}?request_id={OTHER}",
    "/tiles/%63atalog",
    "/tiles/catalog/",
    "/tiles/catalog?x=1",
    "/tiles/health",
    "/tiles/_/metrics",
    "/tiles/",
    "/tiles",
    "/",
    "",
    None,
]


@pytest.mark.parametrize("uri", BYPASSES)
def test_every_other_spelling_is_not_served(uri: str | None) -> None:
    with pytest.raises(NotFound):
        read_tile_uri(uri)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"{TILE}?request_id={RID}", TileRequest("tile", ("get_route_tile",), RID)),
        (f"{TILE}?request_id={RID.upper()}&v=2", TileRequest("tile", ("get_route_tile",), RID)),
        (
            f"/tiles/get_route_tile?request_id={RID}",
            TileRequest("tilejson", ("get_route_tile",), RID),
        ),
        (
            "/tiles/get_route_tile/0/0/0?request_id=" + RID,
            TileRequest("tile", ("get_route_tile",), RID),
        ),
        ("/tiles/catalog", TileRequest("catalog")),
    ],
)
def test_the_canonical_spellings_pass_with_their_route(uri: str, expected: TileRequest) -> None:
    assert read_tile_uri(uri, DEFAULT_POLICY) == expected


def test_a_composite_checks_the_route_of_its_request_id_source() -> None:
    composite = read_tile_uri(f"/tiles/get_poi_tile,get_route_tile/14/1/2?request_id={RID}", BOTH)
    assert composite == TileRequest("tile", ("get_poi_tile", "get_route_tile"), RID)
    with pytest.raises(InvalidInput):
        read_tile_uri("/tiles/get_poi_tile,get_route_tile/14/1/2", BOTH)
    assert read_tile_uri("/tiles/get_poi_tile/14/1/2?themes=art,food", BOTH).request_id is None


def test_a_request_id_where_no_source_takes_one_is_refused() -> None:
    with pytest.raises(NotFound):  # a function reading one undeclared would run unchecked
        read_tile_uri(f"/tiles/get_poi_tile/14/1/2?request_id={RID}", BOTH)


def test_sources_off_the_list_are_refused_even_when_martin_has_them() -> None:
    with pytest.raises(NotFound):
        read_tile_uri(f"/tiles/get_poi_tile/14/1/2?request_id={RID}", DEFAULT_POLICY)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?",
        "?request_id=",
        "?request_id=nope",
        f"?request_id={RID}&request_id={RID}",
        f"?request_id={OTHER}&request_id={RID}",
        f"?request_id={RID.replace('-', '')}",
        f"?request_id=%7B{RID}%7D",
        f"?request_id={RID}-",
    ],
)
def test_a_route_tile_without_one_plain_request_id_is_refused(query: str) -> None:
    with pytest.raises((InvalidInput, NotFound)):
        read_tile_uri(f"{TILE}{query}")


@pytest.mark.parametrize("query", ["", "?request_id=nope", f"?request_id={RID}&request_id={RID}"])
def test_a_missing_repeated_or_malformed_request_id_names_the_field(query: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        read_tile_uri(f"{TILE}{query}")
    assert raised.value.details["field"] == "request_id"


@pytest.mark.parametrize("tile", ["31/0/0", "14/16384/0", "14/0/16384", "1/2/0", "256/0/0"])
def test_tiles_outside_the_grid_are_refused(tile: str) -> None:
    with pytest.raises(NotFound):
        read_tile_uri(f"/tiles/get_route_tile/{tile}?request_id={RID}")


@pytest.mark.parametrize(
    ("sources", "request_id_sources"),
    [({"catalog"}, set()), ({"Get_Route_Tile"}, set()), ({"a.b"}, set()), ({"x"}, {"y"})],
)
def test_a_policy_names_plain_non_reserved_sources(sources: set, request_id_sources: set) -> None:
    with pytest.raises(ValueError):
        TilePolicy(frozenset(sources), frozenset(request_id_sources))


def test_users_see_their_own_routes_and_admins_any_existing_one() -> None:
    assert may_see("u1", "u1", "user")
    assert not may_see("u1", "u2", "user")
    assert may_see("u1", "u2", "admin")
    assert not may_see(None, "u2", "admin")


def test_only_admins_read_the_catalog() -> None:
    assert may_read_catalog("admin") and not may_read_catalog("user")
