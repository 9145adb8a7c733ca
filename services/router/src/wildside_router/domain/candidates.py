"""Candidate places for a walk, and the area a walker can reach within the budget.

The reach area is what the candidate query asks PostGIS for: a disc of half the
walkable distance around the start for a round trip; for a one-way walk, the ellipse
whose foci are the start and the end (a place is reachable when the distances to both
sum to at most the walkable distance). Both fit in the disc of radius D/2 around the
midpoint of start and end, which is the indexed prefilter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from wildside_common.errors import InvalidInput
from wildside_common.messages import BoundingBox, GeoPoint
from wildside_router.domain.geometry import EARTH_RADIUS_M, haversine_m

# OSM keys that say what a place is, most telling first: the candidate's category
# ("tourism=artwork", "amenity=bench") is the first of these it carries.
CATEGORY_KEYS = (
    "tourism",
    "historic",
    "amenity",
    "leisure",
    "shop",
    "man_made",
    "natural",
    "building",
    "landuse",
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place that may be visited: an OSM element with its themes and popularity prior."""

    element_type: str
    osm_id: int
    lat: float
    lng: float
    name: str | None
    themes: tuple[str, ...]
    popularity: float
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.element_type not in ("node", "way", "relation"):
            raise InvalidInput.field("element_type", "must be node, way or relation")
        GeoPoint(self.lat, self.lng)
        if not (0.0 <= self.popularity <= 1.0):
            raise InvalidInput.field("popularity", "must be between 0 and 1")

    @property
    def osm(self) -> str:
        """The OSM reference, e.g. "node/123"."""
        return f"{self.element_type}/{self.osm_id}"

    @property
    def category(self) -> str:
        """What kind of place this is ("tourism=artwork"); "other" when no key says."""
        for key in CATEGORY_KEYS:
            value = self.tags.get(key)
            if value:
                return f"{key}={value}"
        return "other"


@dataclass(frozen=True, slots=True)
class ReachArea:
    """Where candidates may lie: the prefilter disc and, for one-way walks, the ellipse."""

    center: GeoPoint
    radius_m: float
    start: GeoPoint
    end: GeoPoint
    walk_m: float

    def __post_init__(self) -> None:
        if not (self.radius_m >= 0 and math.isfinite(self.radius_m)):
            raise InvalidInput.field("radius_m", "must be a finite non-negative number")

    @property
    def round_trip(self) -> bool:
        """True when the walk ends where it starts."""
        return self.start == self.end

    def contains(self, lat: float, lng: float) -> bool:
        """The exact test the query applies (disc or ellipse), on the sphere."""
        if self.round_trip:
            return haversine_m(self.start.lat, self.start.lng, lat, lng) <= self.radius_m
        to_start = haversine_m(self.start.lat, self.start.lng, lat, lng)
        return to_start + haversine_m(lat, lng, self.end.lat, self.end.lng) <= self.walk_m

    def bbox(self) -> BoundingBox:
        """The box around the disc, corrected for latitude (degrees of longitude shrink)."""
        dlat = math.degrees(self.radius_m / EARTH_RADIUS_M)
        cos_lat = max(math.cos(math.radians(self.center.lat)), 0.01)
        dlng = min(math.degrees(self.radius_m / (EARTH_RADIUS_M * cos_lat)), 179.0)
        return BoundingBox(
            max(self.center.lat - dlat, -90.0),
            max(self.center.lng - dlng, -179.999999),
            min(self.center.lat + dlat, 90.0),
            min(self.center.lng + dlng, 180.0),
        )


def reach_area(start: GeoPoint, end: GeoPoint | None, walk_m: float) -> ReachArea:
    """The area reachable on a walk of `walk_m` metres from `start` to `end` (or back)."""
    if end is None or end == start:
        return ReachArea(start, walk_m / 2, start, start, walk_m)
    # The midpoint of a short walk: averaging coordinates is exact enough for a prefilter
    # whose radius is D/2 (the ellipse's semi-major axis), widened by the error bound.
    center = GeoPoint((start.lat + end.lat) / 2, (start.lng + end.lng) / 2)
    gap = haversine_m(start.lat, start.lng, end.lat, end.lng)
    return ReachArea(center, walk_m / 2 + 0.01 * gap, start, end, walk_m)
