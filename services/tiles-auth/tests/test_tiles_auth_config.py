"""tiles-auth's allowlist settings: read once, checked at start."""

from __future__ import annotations

import pytest

from wildside_common.config import ConfigError, EnvReader
from wildside_tiles_auth.config import TilesAuthSettings

pytestmark = pytest.mark.unit


def settings(**env: str) -> TilesAuthSettings:
    return TilesAuthSettings.from_env(EnvReader(env))


def test_by_default_the_map_sources_pass_and_route_tiles_each_for_its_owner() -> None:
    tiles = settings().tiles
    assert tiles.sources == {"get_route_tile", "get_poi_tile", "get_base_tile"}
    assert tiles.request_id_sources == {"get_route_tile"}


def test_the_lists_come_from_the_environment() -> None:
    tiles = settings(
        TILES_SOURCES="get_route_tile, get_poi_tile,get_base_tile",
        TILES_REQUEST_ID_SOURCES="get_route_tile,get_poi_tile",
    ).tiles
    assert tiles.sources == {"get_route_tile", "get_poi_tile", "get_base_tile"}
    assert tiles.request_id_sources == {"get_route_tile", "get_poi_tile"}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TILES_SOURCES": "catalog"}, "TILES_SOURCES"),
        ({"TILES_SOURCES": "get_route_tile,"}, "TILES_SOURCES"),
        ({"TILES_SOURCES": "Get_Route_Tile"}, "TILES_SOURCES"),
        ({"TILES_SOURCES": "public.get_route_tile"}, "TILES_SOURCES"),
        ({"TILES_SOURCES": "get_base_tile"}, "TILES_REQUEST_ID_SOURCES"),
        ({"TILES_REQUEST_ID_SOURCES": "get_other_tile"}, "TILES_REQUEST_ID_SOURCES"),
        (
            {"TILES_SOURCES": "get_route_tile", "TILES_REQUEST_ID_SOURCES": "get_poi_tile"},
            "TILES_REQUEST_ID_SOURCES",
        ),
    ],
)
def test_a_wrong_list_stops_the_service_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(**env)
    assert raised.value.variable == variable
