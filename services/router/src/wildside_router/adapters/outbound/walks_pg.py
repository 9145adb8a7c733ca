"""What the guide reads from PostgreSQL (asyncpg): a walk's route and request, and the
places near a walker for tips (docs/live-walk.md).

A walk is a succeeded, unexpired route request (`route_results` and its request's payload)
or a saved route (`saved_routes`, kept with the payload of the request that produced it),
by id: the gateway checked at `walk.start` that the walker owns it.

Places for tips: one indexed query, a lon/lat box around the disc on the planar GiST index
(as the candidates' query, `disc_box`), then `ST_DWithin` on the geography, nearest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from wildside_common.pg import guarded
from wildside_common.route import Route, route_from_json
from wildside_router.adapters.outbound.candidates_pg import disc_box
from wildside_router.domain.guide import WalkRequest
from wildside_router.domain.tips import TipCandidate

WALK = """
SELECT r.route, q.payload FROM route_results r JOIN route_requests q ON q.id = r.request_id
 WHERE r.request_id = $1 AND q.status = 'succeeded' AND r.expires_at > now()
UNION ALL
SELECT route, payload FROM saved_routes WHERE id = $1
 LIMIT 1
"""

NEAR = """
SELECT element_type, id, name, themes,
       ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lng
  FROM pois
 WHERE location::geometry && ST_MakeEnvelope($5, $6, $7, $8, 4326)
   AND ST_DWithin(location, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography, $3)
   AND name IS NOT NULL
   AND CASE WHEN cardinality($4::text[]) = 0 THEN cardinality(themes) > 0
            ELSE themes && $4::text[] END
 ORDER BY ST_Distance(location, ST_SetSRID(ST_MakePoint($2, $1), 4326)::geography),
          element_type, id
 LIMIT $9
"""


def walk_request(payload: Mapping[str, Any], route: Route) -> WalkRequest:
    """From a stored request payload (`RouteRequest.to_payload`'s shape); what it lacks
    comes from the route (its duration) or stays empty (any theme, back to the start)."""
    end = payload.get("end")
    return WalkRequest(
        tuple(str(theme) for theme in payload.get("preferences", ())),
        float(payload.get("duration_minutes", route.duration_minutes)),
        (float(end["lat"]), float(end["lng"])) if isinstance(end, Mapping) else None,
    )


class PostgresWalkRoutes:
    """`WalkRoutes` over `route_results`/`route_requests` and `saved_routes`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def walk_of(self, walk_id: str) -> tuple[Route, WalkRequest] | None:
        row = await guarded(lambda: self.pool.fetchrow(WALK, walk_id))
        if row is None:
            return None
        route = route_from_json(row["route"])
        return route, walk_request(row["payload"] or {}, route)


class PostgresTipPlaces:
    """`TipPlaces` over the `pois` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def near(
        self, lat: float, lng: float, radius_m: float, themes: Sequence[str], limit: int
    ) -> list[TipCandidate]:
        args = (lat, lng, radius_m, list(themes), *disc_box(lat, lng, radius_m), limit)
        rows = await guarded(lambda: self.pool.fetch(NEAR, *args))
        return [
            TipCandidate(
                f"{row['element_type']}/{row['id']}",
                row["name"],
                tuple(row["themes"]),
                float(row["lat"]),
                float(row["lng"]),
            )
            for row in rows
        ]
