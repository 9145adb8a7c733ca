"""PostgreSQL adapter for the enrichment provenance report (newest first, keyset paged)."""

from __future__ import annotations

from typing import Any

import asyncpg

from wildside_common.pagination import (
    Direction,
    Key,
    PageParams,
    Window,
    assemble,
    time_id_key,
    time_id_position,
)
from wildside_common.pg import guarded
from wildside_gateway.identity.domain.provenance import Box, ProvenanceFilter, ProvenanceRecord

COLUMNS = """
id, job_id, source_url, fetched_at, themes, pois_added, pois_updated, bytes,
ST_XMin(bbox) AS min_lng, ST_YMin(bbox) AS min_lat,
ST_XMax(bbox) AS max_lng, ST_YMax(bbox) AS max_lat
"""
# $1/$2: time range, $3..$6: box (NULL = no filter), $7/$8: cursor key, $9: limit.
FILTERS = """
($1::timestamptz IS NULL OR fetched_at >= $1)
AND ($2::timestamptz IS NULL OR fetched_at < $2)
AND ($3::float8 IS NULL OR ST_Intersects(bbox, ST_MakeEnvelope($3, $4, $5, $6, 4326)))
"""
# Newest first: "next" walks to older rows, "prev" back to newer ones.
OLDER = f"""
SELECT {COLUMNS} FROM enrichment_provenance
 WHERE {FILTERS}
   AND ($7::timestamptz IS NULL OR (fetched_at, id) < ($7::timestamptz, $8::uuid))
 ORDER BY fetched_at DESC, id DESC LIMIT $9
"""
NEWER = f"""
SELECT {COLUMNS} FROM enrichment_provenance
 WHERE {FILTERS} AND (fetched_at, id) > ($7::timestamptz, $8::uuid)
 ORDER BY fetched_at, id LIMIT $9
"""


def record(row: asyncpg.Record) -> ProvenanceRecord:
    return ProvenanceRecord(
        str(row["id"]),
        str(row["job_id"]),
        row["source_url"],
        row["fetched_at"],
        Box(row["min_lng"], row["min_lat"], row["max_lng"], row["max_lat"]),
        tuple(row["themes"]),
        int(row["pois_added"]),
        int(row["pois_updated"]),
        int(row["bytes"]),
    )


def record_key(item: ProvenanceRecord) -> Key:
    return time_id_key(item.fetched_at, item.id)


class PostgresProvenanceReport:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def page(self, filters: ProvenanceFilter, params: PageParams) -> Window[ProvenanceRecord]:
        stamp, last_id = time_id_position(params) or (None, None)
        box = filters.box
        corners: tuple[Any, ...] = (
            (box.min_lng, box.min_lat, box.max_lng, box.max_lat) if box else (None,) * 4
        )
        query = NEWER if params.direction is Direction.PREV and stamp is not None else OLDER
        arguments = (filters.since, filters.until, *corners, stamp, last_id, params.limit + 1)
        rows = await guarded(lambda: self.pool.fetch(query, *arguments))
        return assemble([record(row) for row in rows], params, record_key)
