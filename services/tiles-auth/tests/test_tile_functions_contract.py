"""The development tile server's store: the tile functions called as Martin calls them,
as Martin's role, over the Helsinki demo extract ((c) OpenStreetMap contributors, ODbL)
in a database of this module's own; and the same checks on the fake store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tiles_auth_fakes import FakeTileStore

from wildside_common.testing.demo_data import as_role, load_demo_extract
from wildside_common.testing.servers import scratch_database
from wildside_tiles_auth.adapters.outbound.tile_functions import PostgresTileFunctions

pytestmark = pytest.mark.contract
ROOT = Path(__file__).resolve().parents[3]
Z14_HELSINKI = (14, 9327, 4742)  # the Esplanadi and the market square


@pytest.fixture(scope="module")
def helsinki() -> Iterator[str]:
    with scratch_database() as url:
        yield load_demo_extract(url)


@pytest.fixture
async def functions(helsinki: str) -> AsyncIterator[PostgresTileFunctions]:
    store = PostgresTileFunctions(as_role(helsinki, "martin_ro"))
    yield store
    await store.close()


@pytest.fixture(params=["fake", "postgres"])
async def any_store(request, functions) -> object:
    if request.param == "fake":
        return FakeTileStore({"get_poi_tile": b"\x1a\x01x"}, {"get_poi_tile": "{}"})
    return functions


async def test_an_unknown_source_draws_nothing_and_has_no_comment(any_store) -> None:
    assert await any_store.tile("get_missing_tile", *Z14_HELSINKI, {}) == b""
    assert await any_store.comment("get_missing_tile") is None


async def test_a_known_source_draws_bytes_and_has_a_comment(any_store) -> None:
    tile = await any_store.tile("get_poi_tile", *Z14_HELSINKI, {})
    assert isinstance(tile, bytes) and tile
    assert isinstance(await any_store.comment("get_poi_tile"), str)


@pytest.mark.parametrize("source", ["get_poi_tile", "get_base_tile"])
async def test_the_map_sources_draw_central_helsinki(functions, source: str) -> None:
    tile = await functions.tile(source, *Z14_HELSINKI, {})
    assert len(tile) > 50
    assert await functions.tile(source, 14, 0, 0, {}) == b""  # far from the data
    assert json.loads(await functions.comment(source) or "{}")["vector_layers"]


async def test_the_route_source_gets_its_query_params(functions) -> None:
    # An unknown route draws nothing; a malformed id too (the function's own rule).
    missing = {"request_id": "2b0f4c1e-8a43-4b8e-9d0e-0e4bb7c8a111"}
    assert await functions.tile("get_route_tile", *Z14_HELSINKI, missing) == b""
    assert await functions.tile("get_route_tile", *Z14_HELSINKI, {"request_id": 1}) == b""
