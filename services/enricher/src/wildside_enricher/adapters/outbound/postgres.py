"""PostgreSQL enrichment store: POI upsert (the shared one, `wildside_common.places`) and
provenance.

One transaction per job: the provenance row is inserted first (`job_id` is unique),
so a second writer for the same job finds the row and writes nothing; then the POIs
are upserted and the counts stored. Either all of it is committed or none of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from wildside_common import pg
from wildside_common.messages import BoundingBox
from wildside_common.pg import TRANSIENT_DB_ERRORS
from wildside_common.places.poi import OVERPASS, PoiRecord
from wildside_common.places.postgres import upsert_pois
from wildside_enricher.domain.provenance import Provenance

T = TypeVar("T")

SELECT = """
SELECT job_id::text, source_url, fetched_at, themes, pois_added, pois_updated, bytes,
       ST_YMin(bbox) AS min_lat, ST_XMin(bbox) AS min_lng,
       ST_YMax(bbox) AS max_lat, ST_XMax(bbox) AS max_lng
FROM enrichment_provenance WHERE job_id = $1::uuid
"""

INSERT = """
INSERT INTO enrichment_provenance (job_id, source_url, fetched_at, bbox, themes, bytes)
VALUES ($1::uuid, $2, $3, ST_MakeEnvelope($4, $5, $6, $7, 4326), $8, $9)
ON CONFLICT (job_id) DO NOTHING
RETURNING id
"""

COUNTS = "UPDATE enrichment_provenance SET pois_added = $2, pois_updated = $3 WHERE id = $1"


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """A worker's statement: transient failures too are Unavailable (redelivered soon)."""
    return await pg.guarded(call, TRANSIENT_DB_ERRORS, retry_after=2.0)


def _provenance(row: Any) -> Provenance:
    bbox = BoundingBox(row["min_lat"], row["min_lng"], row["max_lat"], row["max_lng"])
    return Provenance(
        row["job_id"], row["source_url"], row["fetched_at"], bbox, tuple(row["themes"]),
        row["pois_added"], row["pois_updated"], row["bytes"],
    )  # fmt: skip


class PostgresEnrichmentStore:
    """`EnrichmentStore` over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ping(self) -> None:
        await guarded(lambda: self.pool.fetchval("SELECT 1"))

    async def provenance_of(self, job_id: str) -> Provenance | None:
        row = await guarded(lambda: self.pool.fetchrow(SELECT, job_id))
        return None if row is None else _provenance(row)

    async def record(self, provenance: Provenance, pois: Sequence[PoiRecord]) -> Provenance:
        written = await guarded(lambda: self._record(provenance, pois))
        if written is not None:
            return written
        existing = await self.provenance_of(provenance.job_id)
        assert existing is not None, "a conflicting provenance row disappeared"
        return existing

    async def _record(self, provenance: Provenance, pois: Sequence[PoiRecord]) -> Provenance | None:
        box = provenance.bbox
        async with self.pool.acquire() as conn, conn.transaction():
            row_id = await conn.fetchval(
                INSERT, provenance.job_id, provenance.source_url, provenance.fetched_at,
                box.min_lng, box.min_lat, box.max_lng, box.max_lat,
                list(provenance.themes), provenance.bytes,
            )  # fmt: skip
            if row_id is None:
                return None
            added, updated = await upsert_pois(conn, pois, OVERPASS)
            await conn.execute(COUNTS, row_id, added, updated)
        return Provenance(
            provenance.job_id, provenance.source_url, provenance.fetched_at, box,
            provenance.themes, added, updated, provenance.bytes,
        )  # fmt: skip
