"""The shared POI upsert (`wildside_common.places.postgres`) against a real, migrated
PostGIS database, through a service pool (`pg.create_pool`, jsonb decoded by orjson).

Both sources write the same element in both orders: an unchanged row keeps its source
unless the ingest loads it (an extract takes over what it loads); a changed row becomes
the writer's."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import pytest

from wildside_common.pg import create_pool
from wildside_common.places.poi import INGEST, OVERPASS, PoiRecord, PoiSource, make_poi
from wildside_common.places.postgres import (
    CREATE_STAGING,
    stage,
    upsert_pois,
    upsert_staged,
)

pytestmark = pytest.mark.contract

CAFE = {"amenity": "cafe", "name": "Kahvila"}
RENAMED = {"amenity": "cafe", "name": "Uusi kahvila"}


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, 2)
    yield created
    await created.close()


def element() -> int:
    return random.randint(10**12, 10**13)  # the database is shared by the session


def cafe(osm_id: int, tags: dict[str, str] = CAFE) -> PoiRecord:
    return make_poi("node", osm_id, 24.9402, 60.1701, tags, ("food",))


async def write(pool: asyncpg.Pool, pois: Sequence[PoiRecord], source: PoiSource) -> Any:
    async with pool.acquire() as conn, conn.transaction():
        return await upsert_pois(conn, pois, source)


async def row(pool: asyncpg.Pool, osm_id: int) -> asyncpg.Record:
    found = await pool.fetchrow(
        "SELECT source, name, tags, themes, popularity, content_hash, updated_at,"
        " ST_X(location::geometry) AS lon, ST_Y(location::geometry) AS lat"
        " FROM pois WHERE element_type = 'node' AND id = $1",
        osm_id,
    )
    assert found is not None
    return found


async def test_a_new_element_is_inserted_with_its_source_and_every_column(
    pool: asyncpg.Pool,
) -> None:
    osm_id = element()
    poi = cafe(osm_id)
    assert await write(pool, [poi], OVERPASS) == (1, 0)
    stored = await row(pool, osm_id)
    assert stored["source"] == "overpass" and stored["name"] == "Kahvila"
    assert stored["tags"] == CAFE  # a JSON object, not a JSON string holding one
    assert (stored["themes"], stored["popularity"]) == (["food"], pytest.approx(0.1))
    assert stored["content_hash"] == poi.content_hash
    assert (stored["lon"], stored["lat"]) == (pytest.approx(24.9402), pytest.approx(60.1701))


async def test_overpass_leaves_an_unchanged_ingest_row_alone(pool: asyncpg.Pool) -> None:
    osm_id = element()
    assert await write(pool, [cafe(osm_id)], INGEST) == (1, 0)
    before = await row(pool, osm_id)
    assert await write(pool, [cafe(osm_id)], OVERPASS) == (0, 0)
    assert await row(pool, osm_id) == before  # same source, same updated_at


async def test_overpass_takes_over_an_ingest_row_it_changes(pool: asyncpg.Pool) -> None:
    osm_id = element()
    await write(pool, [cafe(osm_id)], INGEST)
    before = await row(pool, osm_id)
    assert await write(pool, [cafe(osm_id, RENAMED)], OVERPASS) == (0, 1)
    after = await row(pool, osm_id)
    assert (after["source"], after["name"]) == ("overpass", "Uusi kahvila")
    assert after["updated_at"] > before["updated_at"]


async def test_the_ingest_takes_over_an_unchanged_overpass_row(pool: asyncpg.Pool) -> None:
    osm_id = element()
    assert await write(pool, [cafe(osm_id)], OVERPASS) == (1, 0)
    before = await row(pool, osm_id)
    assert await write(pool, [cafe(osm_id)], INGEST) == (0, 1)
    after = await row(pool, osm_id)
    assert after["source"] == "osm_ingest"
    assert after["content_hash"] == before["content_hash"]


async def test_the_ingest_takes_over_an_overpass_row_it_changes(pool: asyncpg.Pool) -> None:
    osm_id = element()
    await write(pool, [cafe(osm_id)], OVERPASS)
    assert await write(pool, [cafe(osm_id, RENAMED)], INGEST) == (0, 1)
    after = await row(pool, osm_id)
    assert (after["source"], after["name"]) == ("osm_ingest", "Uusi kahvila")


@pytest.mark.parametrize("source", [INGEST, OVERPASS])
async def test_the_same_source_again_changes_nothing(pool: asyncpg.Pool, source: PoiSource) -> None:
    osm_id = element()
    await write(pool, [cafe(osm_id)], source)
    before = await row(pool, osm_id)
    assert await write(pool, [cafe(osm_id)], source) == (0, 0)
    assert await row(pool, osm_id) == before


async def test_batches_staged_in_one_transaction_are_upserted_one_by_one(
    pool: asyncpg.Pool,
) -> None:
    first, second = element(), element()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(CREATE_STAGING)
        await stage(conn, 0, [cafe(first)])
        await stage(conn, 1, [cafe(second)])
        assert await upsert_staged(conn, 1, INGEST) == (1, 0)
        assert await conn.fetchval("SELECT count(*) FROM pois WHERE id = $1", first) == 0
        assert await upsert_staged(conn, 0, INGEST) == (1, 0)
    assert (await row(pool, first))["source"] == (await row(pool, second))["source"]


async def test_nothing_to_write_writes_nothing(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        assert await upsert_pois(conn, [], OVERPASS) == (0, 0)
        # no staging table was made: the caller's transaction is left as it was
        assert await conn.fetchval("SELECT to_regclass('pg_temp.stage_pois')") is None
