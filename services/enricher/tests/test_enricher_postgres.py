"""The PostgreSQL enrichment store against a real, migrated PostGIS database."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from wildside_common.errors import InvalidInput
from wildside_common.messages import BoundingBox
from wildside_common.pg import create_pool
from wildside_common.places.poi import INGEST, make_poi
from wildside_common.places.postgres import upsert_pois
from wildside_enricher.adapters.outbound.postgres import PostgresEnrichmentStore
from wildside_enricher.domain.provenance import Provenance

pytestmark = pytest.mark.contract
BOX = BoundingBox(60.16, 24.94, 60.17, 24.96)
URL = "https://overpass.example/api/interpreter"


@pytest.fixture
async def store(database_url):
    pool = await create_pool(database_url, 2, command_timeout=30)  # as bootstrap makes it
    yield PostgresEnrichmentStore(pool)
    await pool.close()


def ids(count: int) -> list[int]:
    base = random.randint(10**12, 10**13)  # the database is shared by the session
    return [base + n for n in range(count)]


def provenance(**changes) -> Provenance:
    values = dict(job_id=str(uuid.uuid4()), source_url=URL,
                  fetched_at=datetime(2026, 11, 22, 3, 0, tzinfo=UTC), bbox=BOX,
                  themes=("food",), bytes=1234)  # fmt: skip
    values.update(changes)
    return Provenance(**values)


async def poi_rows(store, osm_ids):
    return await store.pool.fetch(
        "SELECT id, source, themes, name, updated_at, ST_X(location::geometry) AS lon "
        "FROM pois WHERE element_type = 'node' AND id = ANY($1) ORDER BY id",
        osm_ids,
    )


async def test_record_writes_pois_and_provenance_with_counts(store):
    a, b = ids(2)
    pois = [make_poi("node", a, 24.95, 60.165, {"amenity": "cafe", "name": "A"}, ("food",)),
            make_poi("node", b, 24.951, 60.166, {"amenity": "pub"}, ("food",))]  # fmt: skip
    given = provenance()
    recorded = await store.record(given, pois)
    assert (recorded.pois_added, recorded.pois_updated) == (2, 0)
    rows = await poi_rows(store, [a, b])
    assert [(r["source"], r["themes"]) for r in rows] == [("overpass", ["food"])] * 2
    assert rows[0]["name"] == "A" and rows[0]["lon"] == pytest.approx(24.95)
    assert await store.provenance_of(given.job_id) == recorded
    row = await store.pool.fetchrow(
        "SELECT ST_AsText(bbox) AS box, bytes FROM enrichment_provenance WHERE job_id = $1",
        uuid.UUID(given.job_id),
    )
    assert row["box"] == "POLYGON((24.94 60.16,24.94 60.17,24.96 60.17,24.96 60.16,24.94 60.16))"
    assert row["bytes"] == 1234


async def test_a_second_record_of_the_same_job_writes_nothing(store):
    (a,) = ids(1)
    given = provenance()
    first = await store.record(given, [make_poi("node", a, 24.95, 60.165, {"amenity": "cafe"},
                                                ("food",))])  # fmt: skip
    before = await poi_rows(store, [a])
    changed = make_poi("node", a, 24.95, 60.165, {"amenity": "cafe", "name": "New"}, ("food",))
    second = await store.record(given, [changed])
    assert second == first
    assert await poi_rows(store, [a]) == before
    count = await store.pool.fetchval(
        "SELECT count(*) FROM enrichment_provenance WHERE job_id = $1", uuid.UUID(given.job_id)
    )
    assert count == 1


async def test_unchanged_pois_are_untouched_and_changed_ones_updated(store):
    a, b = ids(2)
    cafe = make_poi("node", a, 24.95, 60.165, {"amenity": "cafe"}, ("food",))
    art = make_poi("node", b, 24.95, 60.166, {"tourism": "artwork"}, ("art",))
    # The ingest wrote both first (the same upsert, ingest source).
    async with store.pool.acquire() as conn, conn.transaction():
        assert await upsert_pois(conn, [cafe, art], INGEST) == (2, 0)
    before = await poi_rows(store, [a, b])
    renamed = make_poi("node", b, 24.95, 60.166, {"tourism": "artwork", "name": "Statue"},
                       ("art",))  # fmt: skip
    recorded = await store.record(provenance(), [cafe, renamed])
    assert (recorded.pois_added, recorded.pois_updated) == (0, 1)
    after = await poi_rows(store, [a, b])
    assert after[0] == before[0]  # same row, same source, same updated_at
    assert after[0]["source"] == "osm_ingest"
    assert (after[1]["source"], after[1]["name"]) == ("overpass", "Statue")


async def test_a_failing_write_leaves_nothing_behind(store):
    (a,) = ids(1)
    broken = make_poi("node", a, 24.95, 60.165, {"amenity": "cafe"}, ("food",))
    broken = type(broken)(**{**{s: getattr(broken, s) for s in broken.__slots__},
                            "element_type": "area"})  # fmt: skip
    given = provenance()
    with pytest.raises(InvalidInput) as caught:  # the same every time: dead-lettered at once
        await store.record(given, [broken])
    assert isinstance(caught.value.__cause__, asyncpg.CheckViolationError)
    assert await store.provenance_of(given.job_id) is None
