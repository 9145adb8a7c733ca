"""The walking skeleton's planner: a straight walk from start to end (or a stay-put loop).

It proves the request's life around the engine; the real engine (POI scoring, street
network, orienteering solver) replaces it behind the same `RoutePlanner` port.
"""

from __future__ import annotations

from typing import Any

from wildside_common.messages import GenerateRouteJob
from wildside_router.domain.geometry import haversine_m

ATTRIBUTION = "Map data (c) OpenStreetMap contributors, ODbL"
WALKING_SPEED_MPS = 4.8 * 1000 / 3600


def straight_route(job: GenerateRouteJob) -> dict[str, Any]:
    end = job.end or job.start
    distance = haversine_m(job.start.lat, job.start.lng, end.lat, end.lng)
    points = [{"lat": job.start.lat, "lng": job.start.lng, "name": "Start"}]
    points.append({"lat": end.lat, "lng": end.lng, "name": "End" if job.end else "Start"})
    return {
        "points": points,
        "distance_m": round(distance, 1),
        "duration_minutes": round(distance / WALKING_SPEED_MPS / 60, 1),
        "themes_matched": [],
        "geometry": {"type": "LineString", "coordinates": [[p["lng"], p["lat"]] for p in points]},
        "straight_line": True,
        "engine": "skeleton",
        "attribution": ATTRIBUTION,
    }
