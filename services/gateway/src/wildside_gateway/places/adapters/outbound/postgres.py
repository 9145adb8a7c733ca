"""PostgreSQL adapter of the places: the POIs in a box, most popular first (keyset
paged on `(popularity in hundredths DESC, element_type, id)`), and one POI with its
provenance. The box filter uses the planar index on `location::geometry` (0002, 0004).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from wildside_common.pagination import Direction, PageParams, Window, assemble
from wildside_common.pg import guarded
from wildside_gateway.places.domain.places import (
    PoiDetail,
    PoiId,
    PoiQuery,
    PoiSummary,
    Provenance,
    position,
)

COLUMNS = """
p.element_type, p.id, p.name, ST_Y(p.location::geometry) AS lat,
ST_X(p.location::geometry) AS lng, p.themes, p.popularity
"""
RANK = "round(p.popularity * 100)::int"
# $1..$4 the box, $5 the themes (NULL: any), $6..$8 the cursor key, $9 the limit.
FILTERS = """
p.location::geometry && ST_MakeEnvelope($1, $2, $3, $4, 4326)
AND ($5::text[] IS NULL OR p.themes && $5::text[])
"""
# Most popular first: "next" walks to less popular rows, "prev" back to more popular ones.
FORWARD = f"""
SELECT {COLUMNS} FROM pois p
 WHERE {FILTERS}
   AND ($6::int IS NULL OR (-{RANK}, p.element_type, p.id) > (-$6::int, $7::text, $8::bigint))
 ORDER BY {RANK} DESC, p.element_type, p.id LIMIT $9
"""
BACKWARD = f"""
SELECT {COLUMNS} FROM pois p
 WHERE {FILTERS}
   AND (-{RANK}, p.element_type, p.id) < (-$6::int, $7::text, $8::bigint)
 ORDER BY {RANK}, p.element_type DESC, p.id DESC LIMIT $9
"""
# Where the row came from: the latest succeeded extract whose geofence holds it (an
# ingest row), or the latest Overpass fetch whose box held it before it was written.
DETAIL = f"""
SELECT {COLUMNS}, p.tags, p.source, p.created_at, p.updated_at,
       CASE p.source
           WHEN 'osm_ingest' THEN (
               SELECT r.source_url FROM ingestion_runs r
                WHERE r.status = 'succeeded' AND ST_Covers(r.geofence, p.location::geometry)
                ORDER BY r.started_at DESC LIMIT 1)
           ELSE (
               SELECT e.source_url FROM enrichment_provenance e
                WHERE ST_Covers(e.bbox, p.location::geometry) AND e.fetched_at <= p.updated_at
                ORDER BY e.fetched_at DESC LIMIT 1)
       END AS source_url
  FROM pois p
 WHERE p.element_type = $1 AND p.id = $2
"""


def summary(row: asyncpg.Record) -> PoiSummary:
    return PoiSummary(
        PoiId(row["element_type"], int(row["id"])),
        row["name"],
        float(row["lat"]),
        float(row["lng"]),
        tuple(row["themes"]),
        round(float(row["popularity"]), 2),
    )


class PostgresPlaces:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def page(self, query: PoiQuery, params: PageParams) -> Window[PoiSummary]:
        at = position(params)
        key: tuple[Any, ...] = at or (None, None, None)
        backwards = params.direction is Direction.PREV and at is not None
        sql = BACKWARD if backwards else FORWARD
        themes = list(query.themes) or None
        arguments = (*query.box.corners(), themes, *key, params.limit + 1)
        rows = await guarded(lambda: self.pool.fetch(sql, *arguments))
        return assemble([summary(row) for row in rows], params, PoiSummary.key)

    async def detail(self, poi_id: PoiId) -> PoiDetail | None:
        row = await guarded(lambda: self.pool.fetchrow(DETAIL, poi_id.element_type, poi_id.osm_id))
        if row is None:
            return None
        tags = row["tags"]
        provenance = Provenance(
            row["source"], row["created_at"], row["updated_at"], row["source_url"]
        )
        return PoiDetail(summary(row), tags if isinstance(tags, dict) else {}, provenance)
