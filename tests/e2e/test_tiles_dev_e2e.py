"""Tiles without Martin, as `make up` runs them: the development tile server (tiles-auth's
decision, then the PostGIS functions as martin_ro) behind the gateway's /tiles, over the
Helsinki demo extract ((c) OpenStreetMap contributors, ODbL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import base
from wildside_common.testing.demo_data import as_role, load_demo_extract

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
POI = "/tiles/get_poi_tile/14/9327/4742"  # the Esplanadi and the market square
STREETS = "/tiles/get_base_tile/14/9327/4742"


@pytest.fixture(scope="module")
def helsinki(database_url: str) -> str:
    return load_demo_extract(database_url)


def started(service_of, env: dict[str, str]) -> stack.Service:
    for attempt in range(3):  # a free port can be taken before the service binds it
        service = service_of(env)
        service.start()
        try:
            service.wait_ready()
            return service
        except (RuntimeError, TimeoutError):
            service.stop()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def tiled(stack_env: dict[str, str], helsinki: str) -> Iterator[dict[str, stack.Service]]:
    """The development tile server (as make up runs it: route owners as tiles_auth_ro,
    tiles as martin_ro) and a gateway relaying /tiles to it."""
    dev_env = {
        **stack_env,
        "DATABASE_URL": as_role(stack_env["DATABASE_URL"], "tiles_auth_ro"),
        "TILES_DATABASE_URL": as_role(stack_env["DATABASE_URL"], "martin_ro"),
    }
    tiles = started(stack.tiles_dev, dev_env)
    upstream = base(tiles)
    gateway = started(stack.gateway, {**stack_env, "TILES_DEV_UPSTREAM": upstream})
    yield {"tiles": tiles, "gateway": gateway}
    gateway.stop()
    tiles.stop()


def fetch(tiled, uri: str, user: str | None = "demo", **headers: str) -> httpx.Response:
    gateway = tiled["gateway"]
    if user:
        headers = {**stack.auth(gateway, user), **headers}
    return httpx.get(f"{base(gateway)}{uri}", headers=headers, timeout=10)


def test_the_gateway_serves_place_and_street_tiles_with_etags(tiled) -> None:
    for uri in (POI, STREETS):
        tile = fetch(tiled, uri)
        assert tile.status_code == 200, tile.text
        assert tile.headers["content-type"] == "application/x-protobuf"
        assert len(tile.content) > 100
        tag = tile.headers["etag"]
        again = fetch(tiled, uri, **{"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""
        assert fetch(tiled, uri).headers["etag"] == tag  # stable across requests


def test_a_tile_away_from_the_data_is_204(tiled) -> None:
    assert fetch(tiled, "/tiles/get_poi_tile/14/0/0").status_code == 204


def test_tilejson_names_the_gateways_tile_urls(tiled) -> None:
    document = fetch(tiled, "/tiles/get_poi_tile").json()
    assert document["tilejson"] == "3.0.0"
    assert [layer["id"] for layer in document["vector_layers"]] == ["pois"]
    assert document["tiles"][0].endswith("/tiles/get_poi_tile/{z}/{x}/{y}")
    streets = fetch(tiled, "/tiles/get_base_tile").json()
    assert [layer["id"] for layer in streets["vector_layers"]] == ["streets"]


def test_tiles_need_a_session_through_the_gateway_and_directly(tiled) -> None:
    assert fetch(tiled, POI, user=None).status_code == 401
    direct = httpx.get(f"{base(tiled['tiles'])}{POI}", timeout=10)
    assert direct.status_code == 401 and direct.json()["code"] == "unauthorized"
    cookie = {"Cookie": f"session={stack.token(tiled['gateway'])}"}
    assert fetch(tiled, POI, user=None, **cookie).status_code == 200


def test_another_users_route_tile_is_404_ones_own_200(tiled, stack_env) -> None:
    from tests.e2e.test_attack_tiles import new_user, route_of

    gateway = tiled["gateway"]
    owner, other = new_user(stack_env, gateway), new_user(stack_env, gateway)
    route = route_of(gateway, owner)
    uri = f"{base(gateway)}/tiles/get_route_tile/14/9327/4742?request_id={route}"
    mine = httpx.get(uri, headers={"Authorization": f"Bearer {owner}"}, timeout=10)
    theirs = httpx.get(uri, headers={"Authorization": f"Bearer {other}"}, timeout=10)
    assert mine.status_code in (200, 204) and theirs.status_code == 404
