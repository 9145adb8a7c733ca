"""`get_poi_tile` and `get_base_tile` (migration 0006) against real PostGIS, over the
Helsinki demo extract (data/helsinki-centre.osm.pbf, (c) OpenStreetMap contributors,
ODbL) loaded by `ingest-osm` into a database of this module's own, drawn as Martin's role.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from test_route_tiles_contract import layers, tile_of

from wildside_common.testing.demo_data import as_role, load_demo_extract
from wildside_common.testing.servers import scratch_database

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[3]
CENTRE = (60.1699, 24.9384)  # the Senate Square side of the demo area
# The places a tile holds: inside it or its 64-unit buffer (of 4096), as ST_AsMVTGeom clips.
IN_TILE = """
SELECT count(*) FROM pois
WHERE ST_Intersects(ST_Transform(location::geometry, 3857),
                    ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096))
  AND popularity >= $4"""


@pytest.fixture(scope="module")
def helsinki() -> Iterator[str]:
    with scratch_database() as url:
        yield load_demo_extract(url)


@pytest.fixture
async def martin(helsinki: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(as_role(helsinki, "martin_ro"))
    yield connection
    await connection.close()


@pytest.fixture
async def owner(helsinki: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(helsinki)
    yield connection
    await connection.close()


async def draw(conn: asyncpg.Connection, source: str, z: int, x: int, y: int) -> bytes:
    assert source in ("get_poi_tile", "get_base_tile")
    return bytes(await conn.fetchval(f"SELECT public.{source}($1, $2, $3)", z, x, y))


async def test_a_z14_poi_tile_over_central_helsinki_has_places(martin) -> None:
    decoded = layers(await draw(martin, "get_poi_tile", *tile_of(*CENTRE, 14)))
    assert set(decoded) == {"pois"}
    assert decoded["pois"]["features"] > 0
    assert decoded["pois"]["keys"] == {"id", "name", "themes", "popularity"}


async def test_from_z16_every_place_is_drawn(martin, owner) -> None:
    z, x, y = tile_of(*CENTRE, 16)
    expected = await owner.fetchval(IN_TILE, z, x, y, 0.0)
    assert expected > 0
    assert layers(await draw(martin, "get_poi_tile", z, x, y))["pois"]["features"] == expected


async def test_low_zooms_keep_the_popular_places_only(martin, owner) -> None:
    z, x, y = tile_of(*CENTRE, 12)
    everything = await owner.fetchval(IN_TILE, z, x, y, 0.0)
    popular = await owner.fetchval(IN_TILE, z, x, y, 0.6)
    drawn = layers(await draw(martin, "get_poi_tile", z, x, y))["pois"]["features"]
    assert 0 < drawn == min(popular, 400) < everything


async def test_the_base_tile_draws_the_walking_network_by_class(martin) -> None:
    near = layers(await draw(martin, "get_base_tile", *tile_of(*CENTRE, 14)))
    far = layers(await draw(martin, "get_base_tile", *tile_of(*CENTRE, 12)))
    assert set(near) == {"streets"} and near["streets"]["keys"] >= {"class"}
    assert near["streets"]["features"] > 100
    assert far["streets"]["features"] > 0


async def test_the_z12_base_tile_leaves_out_paths(martin, owner) -> None:
    z, x, y = tile_of(*CENTRE, 12)
    edges = await owner.fetchval(
        "SELECT count(*) FROM street_edges WHERE geom::geometry && "
        "ST_Transform(ST_TileEnvelope($1, $2, $3), 4326)",
        z,
        x,
        y,
    )
    drawn = layers(await draw(martin, "get_base_tile", z, x, y))["streets"]["features"]
    assert 0 < drawn < edges


@pytest.mark.parametrize("source", ["get_poi_tile", "get_base_tile"])
async def test_a_tile_away_from_the_data_is_empty(martin, source: str) -> None:
    assert await draw(martin, source, *tile_of(48.8566, 2.3522, 14)) == b""


@pytest.mark.parametrize(
    ("source", "layer"), [("get_poi_tile", "pois"), ("get_base_tile", "streets")]
)
async def test_the_tilejson_comment_names_the_layer(owner, source: str, layer: str) -> None:
    comment = await owner.fetchval(
        f"SELECT obj_description('public.{source}(integer, integer, integer)'::regprocedure)"
    )
    tilejson = json.loads(comment)
    assert [entry["id"] for entry in tilejson["vector_layers"]] == [layer]
    assert "OpenStreetMap" in tilejson["attribution"]


async def test_the_tile_owner_reads_no_poi_tags(helsinki: str) -> None:
    owner_reads = await asyncpg.connect(helsinki)
    try:
        allowed = await owner_reads.fetchval(
            "SELECT has_column_privilege('wildside_tiles', 'public.pois', 'tags', 'SELECT')"
        )
    finally:
        await owner_reads.close()
    assert allowed is False
