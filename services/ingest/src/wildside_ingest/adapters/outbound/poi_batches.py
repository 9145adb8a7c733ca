"""Upserting any batch of POI records through the ingest's own SQL (used by the enricher).

The rows go the same way an ingest run writes them: COPY into the ingest's
`stage_pois` staging table (`sql.STAGING`, row layout from the ingest store), then the
ingest's `sql.UPSERT_POIS` (`ON CONFLICT (element_type, id)`, returning inserted and
updated counts), with only the `source` column given by the caller. Staged rows whose
content hash the table already holds are dropped first, so an unchanged POI keeps its
row, its `updated_at` and its source (an ingest POI seen again by Overpass stays the
ingest's).

Call it inside a transaction on `conn`: the staging tables are dropped at commit.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from wildside_ingest.adapters.outbound import sql
from wildside_ingest.adapters.outbound.postgres import _poi_rows
from wildside_ingest.domain.features import FeatureBatch
from wildside_ingest.domain.poi import PoiRecord

SOURCES = ("osm_ingest", "overpass")
_INGEST_SOURCE = "'osm_ingest'"

DROP_UNCHANGED = """
DELETE FROM stage_pois s USING pois p
WHERE s.batch = $1 AND p.element_type = s.element_type AND p.id = s.id
  AND p.content_hash = s.content_hash
"""


def upsert_sql() -> str:
    """The ingest's POI upsert with the source as parameter `$2`."""
    if sql.UPSERT_POIS.count(_INGEST_SOURCE) != 1:
        raise RuntimeError("the ingest's UPSERT_POIS no longer names its source once")
    return sql.UPSERT_POIS.replace(_INGEST_SOURCE, "$2::text")


async def upsert_poi_batch(
    conn: asyncpg.Connection, pois: Sequence[PoiRecord], source: str
) -> tuple[int, int]:
    """Upsert `pois` with `source`; returns (inserted, updated). Needs an open transaction."""
    if source not in SOURCES:
        raise ValueError(f"unknown POI source: {source}")
    if not pois:
        return 0, 0
    batch = 0
    await conn.execute(sql.STAGING)
    rows = _poi_rows(batch, FeatureBatch(pois=list(pois)))
    await conn.copy_records_to_table("stage_pois", records=rows, columns=sql.POI_COLUMNS)
    await conn.execute(DROP_UNCHANGED, batch)
    counts = await conn.fetchrow(upsert_sql(), batch, source)
    assert counts is not None
    return int(counts[0]), int(counts[1])
