"""The candidate query's planar prefilter against real PostGIS: the lon/lat box on
`location::geometry` (index `pois_location_geom_gist`) gives exactly the rows of the
geography `ST_DWithin` alone, at the radius's edge, at high latitudes, around a pole and
across the antimeridian; and the planner uses the planar index for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from wildside_common.pg import create_pool
from wildside_common.testing.servers import scratch_database
from wildside_router.adapters.outbound.candidates_pg import CANDIDATES, disc_box
from wildside_router.domain.candidates import CATEGORY_KEYS

# The query before the planar prefilter: ST_DWithin on the geography column only.
GEOGRAPHY_ONLY = """
SELECT element_type, id FROM pois
 WHERE ST_DWithin(location, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography, $3)
   AND ($4 OR ST_Distance(location, ST_SetSRID(ST_MakePoint($6, $5), 4326)::geography)
            + ST_Distance(location, ST_SetSRID(ST_MakePoint($8, $7), 4326)::geography) <= $9)
 ORDER BY element_type, id
"""

# (lat, lng, radius_m): a city, the equator, high north and south, a disc holding the
# north pole, discs across the antimeridian from either side, a continent-sized disc.
CENTERS = [
    (60.1699, 24.9384, 2500.0),
    (0.0, 10.0, 1000.0),
    (78.2232, 15.6267, 3000.0),
    (-84.5, 100.0, 20000.0),
    (89.99, 45.0, 5000.0),
    (-16.5, 179.99, 3000.0),
    (65.0, -179.995, 800.0),
    (45.0, -100.0, 1500000.0),
]
# Fractions of the radius: the centre, well inside, a hair inside, a hair outside, out.
FRACTIONS = [0.0, 0.5, 1 - 1e-4, 1 - 1e-7, 1 + 1e-7, 1 + 1e-4, 1.5]

SEED = """
INSERT INTO pois (element_type, id, location, source)
SELECT 'node', $1::bigint + k * 1000 + a,
       ST_Project(ST_SetSRID(ST_MakePoint($3, $2), 4326)::geography, $4 * f, radians(a)),
       'osm_ingest'
  FROM unnest($5::float8[]) WITH ORDINALITY AS r(f, k), generate_series(0, 359) AS a
"""
# Far from every centre and spread over the globe: what the index must skip.
BACKGROUND = """
INSERT INTO pois (element_type, id, location, source)
SELECT 'way', i, ST_SetSRID(ST_MakePoint(-170 + (i * 7919 % 3400) / 10.0,
                                         -80 + (i * 104729 % 1600) / 10.0), 4326)::geography,
       'overpass'
  FROM generate_series(1, 20000) AS i
"""


@pytest.fixture(scope="module")
def seeded_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture
async def pool(seeded_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(seeded_url, 1)
    if not await pool.fetchval("SELECT count(*) FROM pois"):
        for index, (lat, lng, radius) in enumerate(CENTERS):
            await pool.execute(SEED, index * 10_000, lat, lng, radius, FRACTIONS)
        await pool.execute(BACKGROUND)
        await pool.execute("ANALYZE pois")
    yield pool
    await pool.close()


def _args(lat: float, lng: float, radius: float, limit: int = 1_000_000) -> tuple[Any, ...]:
    """The candidate query's parameters for a round trip's disc."""
    return (
        lat, lng, radius, True, lat, lng, lat, lng, 2 * radius,
        list(CATEGORY_KEYS), [], limit, *disc_box(lat, lng, radius),
    )  # fmt: skip


@pytest.mark.contract
@pytest.mark.parametrize(("lat", "lng", "radius"), CENTERS)
async def test_the_box_keeps_every_row_of_the_geography_disc(
    pool: asyncpg.Pool, lat: float, lng: float, radius: float
) -> None:
    args = _args(lat, lng, radius)
    old = [tuple(r) for r in await pool.fetch(GEOGRAPHY_ONLY, *args[:9])]
    new = sorted((r["element_type"], r["id"]) for r in await pool.fetch(CANDIDATES, *args))
    assert new == old
    # the points (seeded around this centre only) up to 1e-4 inside the radius are all
    # in, from 1e-4 outside none: the data does test the disc's edge
    base = CENTERS.index((lat, lng, radius)) * 10_000
    rings = {(i - base) // 1000 - 1 for t, i in new if t == "node" and base < i < base + 10_000}
    counts = {
        k: sum(1 for t, i in new if t == "node" and (i - base) // 1000 == k + 1) for k in rings
    }
    assert {FRACTIONS[k] for k, n in counts.items() if n == 360} >= {0.0, 0.5, 1 - 1e-4}
    assert max(FRACTIONS[k] for k in rings) < 1 + 1e-4


@pytest.mark.contract
async def test_a_one_way_walk_gives_the_same_rows_as_before(pool: asyncpg.Pool) -> None:
    lat, lng, radius = CENTERS[2]
    start, end = (lat, lng - 0.02), (lat, lng + 0.02)
    args = (lat, lng, radius, False, *start, *end, 2 * radius - 300, list(CATEGORY_KEYS), [])
    box = disc_box(lat, lng, radius)
    old = [tuple(r) for r in await pool.fetch(GEOGRAPHY_ONLY, *args[:9])]
    new = sorted(
        (r["element_type"], r["id"]) for r in await pool.fetch(CANDIDATES, *args, 10**6, *box)
    )
    assert new == old and 0 < len(new) < 7 * 360


@pytest.mark.contract
async def test_the_query_uses_the_planar_index(pool: asyncpg.Pool) -> None:
    indexes = await pool.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'pois'")
    assert "pois_location_gist" not in {r[0] for r in indexes}  # dropped by 0004
    lat, lng, _ = CENTERS[0]
    plan = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {CANDIDATES}", *_args(lat, lng, 500, 40))
    used = set(_index_names(json.loads(plan) if isinstance(plan, str) else plan))
    assert used == {"pois_location_geom_gist"}, plan


def _index_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "Index Name" in node:
            yield node["Index Name"]
        for value in node.values():
            yield from _index_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from _index_names(value)


@pytest.mark.unit
def test_the_box_widens_with_latitude_and_gives_up_at_poles_and_the_antimeridian() -> None:
    low, high = disc_box(0.0, 10.0, 1000.0), disc_box(60.0, 10.0, 1000.0)
    assert low[0] < 10.0 < low[2] and low[1] < 0.0 < low[3]
    assert high[2] - high[0] > 1.9 * (low[2] - low[0])  # 1 / cos 60 = 2, nearly
    assert high[3] - high[1] == pytest.approx(low[3] - low[1])
    assert disc_box(89.99, 45.0, 5000.0)[::2] == (-180.0, 180.0)  # the pole is inside
    assert disc_box(-16.5, 179.99, 3000.0)[::2] == (-180.0, 180.0)
    assert disc_box(-16.5, -179.99, 3000.0)[::2] == (-180.0, 180.0)
    assert disc_box(10.0, 20.0, 0.0)[0] < 20.0 < disc_box(10.0, 20.0, 0.0)[2]
