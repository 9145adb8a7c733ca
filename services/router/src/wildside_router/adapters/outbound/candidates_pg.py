"""Candidate places from PostGIS (asyncpg).

One indexed query: `ST_DWithin` on the geography column (GiST `pois_location_gist`) for
the reach area's disc, and for a one-way walk the ellipse test on top. Rows come best
first by a cheap prior (matches a wanted theme, popularity, has a name), so the cap keeps
the places the domain's scoring would rank high; the scoring re-ranks them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from wildside_common.pg import guarded
from wildside_router.domain.candidates import CATEGORY_KEYS, Candidate, ReachArea

CANDIDATES = """
SELECT element_type, id, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lng,
       name, themes, popularity,
       (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
          FROM jsonb_each_text(tags) WHERE key = ANY($10::text[])) AS kinds
  FROM pois
 WHERE ST_DWithin(location, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography, $3)
   AND ($4 OR ST_Distance(location, ST_SetSRID(ST_MakePoint($6, $5), 4326)::geography)
            + ST_Distance(location, ST_SetSRID(ST_MakePoint($8, $7), 4326)::geography) <= $9)
 ORDER BY ((cardinality($11::text[]) = 0 AND cardinality(themes) > 0)
           OR themes && $11::text[])::int
          + popularity + (name IS NOT NULL)::int * 0.5 DESC,
          element_type, id
 LIMIT $12
"""


class PostgresCandidateSource:
    """`CandidateSource` over the `pois` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def within(self, area: ReachArea, themes: Sequence[str], limit: int) -> list[Candidate]:
        """At most `limit` places inside `area`, best first by the prior."""
        args = (
            area.center.lat, area.center.lng, area.radius_m, area.round_trip,
            area.start.lat, area.start.lng, area.end.lat, area.end.lng, area.walk_m,
            list(CATEGORY_KEYS), list(themes), limit,
        )  # fmt: skip
        rows = await guarded(lambda: self.pool.fetch(CANDIDATES, *args))
        return [
            Candidate(
                row["element_type"],
                int(row["id"]),
                float(row["lat"]),
                float(row["lng"]),
                row["name"],
                tuple(row["themes"]),
                min(max(float(row["popularity"]), 0.0), 1.0),
                dict(row["kinds"]),
            )
            for row in rows
        ]
