"""Writing POI rows into `pois`: one staged upsert for every source (asyncpg).

    create staging (once per transaction) -> COPY a batch into `stage_pois`
      -> upsert the batch with its source -> (inserted, updated)

The upsert is keyed by `(element_type, id)`. A row is rewritten only when its content
hash differs, or when the source claims unchanged rows (`poi.claims_unchanged_rows`: an
extract's load does, an Overpass answer does not); an untouched row keeps its source and
its `updated_at`. The ingest stages many batches in one run (its removals read
`stage_pois` too); the enricher writes one batch per job with `upsert_pois`.

Tags are staged as text and cast to jsonb by the upsert: COPY takes text whatever codec
the connection has for jsonb (the services' pools decode jsonb to Python objects).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from wildside_common.places.poi import PoiRecord, PoiSource, claims_unchanged_rows

STAGE_TABLE = "stage_pois"

# Dropped at commit: call it once per transaction, before the first batch.
CREATE_STAGING = """
CREATE TEMP TABLE stage_pois (
    batch integer, element_type text, id bigint, lon float8, lat float8, name text,
    tags text, themes text[], popularity real, content_hash text
) ON COMMIT DROP;
CREATE INDEX ON stage_pois (batch);
"""

STAGE_COLUMNS = (
    "batch",
    "element_type",
    "id",
    "lon",
    "lat",
    "name",
    "tags",
    "themes",
    "popularity",
    "content_hash",
)

# $1 the batch, $2 the source, $3 whether the source claims unchanged rows.
UPSERT_STAGED = """
WITH up AS (
    INSERT INTO pois AS p
        (element_type, id, location, name, tags, themes, popularity, source, content_hash)
    SELECT element_type, id, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, name,
           tags::jsonb, themes, popularity, $2::text, content_hash
    FROM stage_pois WHERE batch = $1
    ON CONFLICT (element_type, id) DO UPDATE SET
        location = EXCLUDED.location, name = EXCLUDED.name, tags = EXCLUDED.tags,
        themes = EXCLUDED.themes, popularity = EXCLUDED.popularity, source = EXCLUDED.source,
        content_hash = EXCLUDED.content_hash, updated_at = now()
    WHERE p.content_hash IS DISTINCT FROM EXCLUDED.content_hash
       OR ($3::boolean AND p.source <> EXCLUDED.source)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
"""


# The rows carry the record's themes tuple as is: a list per row cost ~1 us more.
def stage_rows(batch: int, pois: Iterable[PoiRecord]) -> list[tuple[Any, ...]]:
    """`pois` as `stage_pois` rows (`STAGE_COLUMNS`) of batch number `batch`."""
    return [
        (
            batch,
            p.element_type,
            p.osm_id,
            p.lon,
            p.lat,
            p.name,
            p.tags_json,
            p.themes,
            p.popularity,
            p.content_hash,
        )
        for p in pois
    ]


async def stage(conn: asyncpg.Connection, batch: int, pois: Iterable[PoiRecord]) -> None:
    """COPY `pois` into the staging table as batch `batch` (`CREATE_STAGING` first)."""
    records = stage_rows(batch, pois)
    await conn.copy_records_to_table(STAGE_TABLE, records=records, columns=STAGE_COLUMNS)


async def upsert_staged(conn: asyncpg.Connection, batch: int, source: PoiSource) -> tuple[int, int]:
    """Upsert staged batch `batch` as `source`'s rows; returns (inserted, updated)."""
    row = await conn.fetchrow(UPSERT_STAGED, batch, source, claims_unchanged_rows(source))
    assert row is not None
    return int(row[0]), int(row[1])


async def upsert_pois(
    conn: asyncpg.Connection, pois: Sequence[PoiRecord], source: PoiSource
) -> tuple[int, int]:
    """Stage and upsert `pois` as `source`'s rows; returns (inserted, updated).

    Needs an open transaction on `conn` (the staging table is dropped at its commit), and
    one call per transaction. Each element at most once in `pois`.
    """
    if not pois:
        return 0, 0
    await conn.execute(CREATE_STAGING)
    await stage(conn, 0, pois)
    return await upsert_staged(conn, 0, source)
