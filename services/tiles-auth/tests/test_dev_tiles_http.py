"""The development tile server: tiles-auth's decision on the request's own URI, then
the tile (ETag, 304, 204 when empty), the TileJSON and the catalog, over a fake store."""

from __future__ import annotations

import json

import httpx
import pytest
from test_tiles_auth_http import NEW, OTHER_USER, ROUTE, USER
from tiles_auth_fakes import FakeRouteOwners, FakeTileStore

from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_common.sessions import Keyring, KeyStatus, SessionCodec, SessionKey
from wildside_common.telemetry import configure_tracing
from wildside_tiles_auth.app import AuthorizeTiles
from wildside_tiles_auth.bootstrap import build_dev_tiles_app
from wildside_tiles_auth.config import DevTilesSettings
from wildside_tiles_auth.domain.route_tiles import DEFAULT_POLICY
from wildside_tiles_auth.domain.serving import etag, matches, tile_address

pytestmark = pytest.mark.unit
POI_TILE = "/tiles/get_poi_tile/14/9326/4740"
COMMENT = json.dumps(
    {"description": "places", "minzoom": 10, "vector_layers": [{"id": "pois", "fields": {}}]}
)


def store() -> FakeTileStore:
    return FakeTileStore(
        {"get_poi_tile": b"\x1a\x05pois!", "get_route_tile": b"\x1a\x06route!"},
        {"get_poi_tile": COMMENT, "get_base_tile": json.dumps({"vector_layers": [{"id": "s"}]})},
    )


def client(tiles: FakeTileStore, owners: FakeRouteOwners | None = None) -> httpx.AsyncClient:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "tiles-dev", 0))
    authorize = AuthorizeTiles(SessionCodec(Keyring((NEW,))), owners, DEFAULT_POLICY)
    app = build_dev_tiles_app(authorize, tiles, "http://127.0.0.1:8080")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tiles")


def session(role: str = "user", user: str = USER) -> dict[str, str]:
    signer = SessionKey(NEW.kid, NEW.secret, KeyStatus.SIGNING)
    return {"Authorization": f"Bearer {SessionCodec(Keyring((signer,))).issue(user, role)[0]}"}


async def test_a_tile_has_an_etag_and_answers_304_to_it() -> None:
    tiles = store()
    async with client(tiles) as http:
        first = await http.get(POI_TILE, headers=session())
        assert first.status_code == 200 and first.content == b"\x1a\x05pois!"
        assert first.headers["content-type"] == "application/x-protobuf"
        assert first.headers["etag"] == etag(first.content)
        assert first.headers["cache-control"] == "private, no-cache"
        again = await http.get(
            POI_TILE, headers={**session(), "If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""
        stale = await http.get(POI_TILE, headers={**session(), "If-None-Match": '"other"'})
        assert stale.status_code == 200
    assert tiles.calls[0] == ("get_poi_tile", 14, 9326, 4740, {})


async def test_an_empty_tile_is_204() -> None:
    async with client(store()) as http:
        response = await http.get("/tiles/get_base_tile/14/9326/4740", headers=session())
    assert response.status_code == 204 and "etag" not in response.headers


async def test_no_session_is_401_and_an_unlisted_or_odd_spelling_404() -> None:
    tiles = store()
    async with client(tiles) as http:
        assert (await http.get(POI_TILE)).status_code == 401
        assert (await http.get(POI_TILE, headers={"Cookie": "session=x"})).status_code == 401
        for uri in (
            "/tiles/get_secret_tile/14/1/2",
            "/tiles/get%5Fpoi_tile/14/9326/4740",
            "/tiles/get_poi_tile/14/9326/4740/",
            "/tiles/get_poi_tile/014/9326/4740",
            "/tiles/get_poi_tile/3/9/1",
            "/tiles/get_poi_tile,get_poi_tile/14/9326/4740",
            f"{POI_TILE}?request_id={ROUTE}",
            "/tiles/catalog",
        ):
            response = await http.get(uri, headers=session())
            assert response.status_code == 404, uri
            assert response.json()["code"] == "not_found"
    assert tiles.calls == []


async def test_route_tiles_are_their_owners_only() -> None:
    tiles, owners = store(), FakeRouteOwners({ROUTE: USER})
    uri = f"/tiles/get_route_tile/14/9326/4740?request_id={ROUTE}"
    async with client(tiles, owners) as http:
        own = await http.get(uri, headers=session())
        other = await http.get(uri, headers=session(user=OTHER_USER))
        admin = await http.get(uri, headers=session("admin", OTHER_USER))
        missing = await http.get("/tiles/get_route_tile/14/9326/4740", headers=session())
    assert own.status_code == 200 and own.content == b"\x1a\x06route!"
    assert other.status_code == 404 and admin.status_code == 200
    assert missing.status_code == 400
    assert [call[4] for call in tiles.calls] == [{"request_id": ROUTE}] * 2


async def test_without_route_owners_route_tiles_are_503_others_served() -> None:
    async with client(store()) as http:
        route = await http.get(
            f"/tiles/get_route_tile/14/9326/4740?request_id={ROUTE}", headers=session()
        )
        poi = await http.get(POI_TILE, headers=session())
    assert route.status_code == 503 and poi.status_code == 200


async def test_a_composite_tile_is_its_sources_layers_in_order() -> None:
    async with client(store()) as http:
        response = await http.get("/tiles/get_base_tile,get_poi_tile/14/1/2", headers=session())
    assert response.content == b"\x1a\x05pois!"


async def test_tilejson_is_the_comment_with_the_tiles_url() -> None:
    async with client(store()) as http:
        one = (await http.get("/tiles/get_poi_tile", headers=session())).json()
        both = (await http.get("/tiles/get_poi_tile,get_base_tile", headers=session())).json()
        catalog = await http.get("/tiles/catalog", headers=session("admin"))
    assert one["tilejson"] == "3.0.0" and one["minzoom"] == 10
    assert one["tiles"] == ["http://127.0.0.1:8080/tiles/get_poi_tile/{z}/{x}/{y}"]
    assert [layer["id"] for layer in both["vector_layers"]] == ["pois", "s"]
    assert catalog.status_code == 200
    assert set(catalog.json()["tiles"]) == {"get_poi_tile", "get_base_tile", "get_route_tile"}


def test_tile_addresses_and_validators() -> None:
    address = tile_address(f"/tiles/a,b/3/4/5?request_id={ROUTE}&x=1")
    assert (address.sources, address.z, address.x, address.y) == (("a", "b"), 3, 4, 5)
    assert address.params == {"request_id": ROUTE, "x": 1}
    tag = etag(b"tile")
    assert tag.startswith('"') and tag != etag(b"tile2")
    assert matches(tag, tag) and matches(f'"x", W/{tag}', tag) and matches("*", tag)
    assert not matches(None, tag) and not matches('"x"', tag)


def test_the_development_tile_server_refuses_production() -> None:
    with pytest.raises(ConfigError) as refused:
        DevTilesSettings.from_env(
            EnvReader({"WILDSIDE_ENV": "production", "TILES_DATABASE_URL": "postgresql://x"})
        )
    assert refused.value.variable == "WILDSIDE_ENV"
    settings = DevTilesSettings.from_env(
        EnvReader({"TILES_DATABASE_URL": "postgresql://martin_ro@db/w"})
    )
    assert settings.port == 3000 and settings.public_base_url == "http://127.0.0.1:8080"
