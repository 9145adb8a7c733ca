"""Candidate places from PostGIS (asyncpg).

One indexed query: a lon/lat box around the reach area's disc (`disc_box`) on the planar
GiST index `pois_location_geom_gist` (`location::geometry`), then the exact tests on the
geography column: `ST_DWithin` for the disc and, for a one-way walk, the ellipse. The box
surely holds the disc, so the rows are exactly those of `ST_DWithin` alone; `pois` keeps
no GiST index on the geography column itself (migration 0004). Rows come best first by a
cheap prior (matches a wanted theme, popularity, has a name), so the cap keeps the places
the domain's scoring would rank high; the scoring re-ranks them exactly.
"""

from __future__ import annotations

import math
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
 WHERE location::geometry && ST_MakeEnvelope($13, $14, $15, $16, 4326)
   AND ST_DWithin(location, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography, $3)
   AND ($4 OR ST_Distance(location, ST_SetSRID(ST_MakePoint($6, $5), 4326)::geography)
            + ST_Distance(location, ST_SetSRID(ST_MakePoint($8, $7), 4326)::geography) <= $9)
 ORDER BY ((cardinality($11::text[]) = 0 AND cardinality(themes) > 0)
           OR themes && $11::text[])::int
          + popularity + (name IS NOT NULL)::int * 0.5 DESC,
          element_type, id
 LIMIT $12
"""

# A radius below WGS84's smallest radius of curvature (6,335,439 m, along the meridian at
# the equator): a curve on the spheroid is at least this radius times its angle on the
# unit sphere over the same latitudes and longitudes, so a point within r metres (as
# `ST_DWithin` measures on the spheroid) lies within r / this radius radians there.
_RADIUS_FLOOR_M = 6_300_000.0
_MARGIN_RAD = 1e-9  # rounding


def disc_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lng, min_lat, max_lng, max_lat) in degrees, holding every point within
    `radius_m` of (lat, lng) on the spheroid. On the sphere a point within angle d of
    latitude phi is within d of its latitude and asin(sin d / cos phi) of its longitude;
    a disc that reaches a pole, or crosses the antimeridian, takes every longitude."""
    angle = radius_m / _RADIUS_FLOOR_M + _MARGIN_RAD
    phi = math.radians(lat)
    dlat = math.degrees(angle)
    min_lat, max_lat = max(lat - dlat, -90.0), min(lat + dlat, 90.0)
    if abs(phi) + angle >= math.pi / 2:
        return -180.0, min_lat, 180.0, max_lat
    dlng = math.degrees(math.asin(min(math.sin(angle) / math.cos(phi), 1.0))) + dlat * 1e-6
    if lng - dlng < -180.0 or lng + dlng > 180.0:
        return -180.0, min_lat, 180.0, max_lat
    return lng - dlng, min_lat, lng + dlng, max_lat


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
            *disc_box(area.center.lat, area.center.lng, area.radius_m),
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
