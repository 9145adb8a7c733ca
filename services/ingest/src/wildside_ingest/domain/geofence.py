"""Geofences: the named area a run loads, as a bounding box or a GeoJSON polygon.

Inclusion rules (docs/ingest.md, "Geofences"), all boundary-inclusive:

- a POI is inside when its point (the node, or the point-on-surface of a way or
  multipolygon) is covered by the geofence;
- a street edge is inside when any part of it touches the geofence; it is then loaded
  whole, with both end nodes, so the network does not end in dangling half-edges.

The database side (removal of what disappeared) uses the same predicates with PostGIS
`ST_Covers` / `ST_Intersects` on the same planar lon/lat geometry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box, shape

from wildside_common.errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """min_lon, min_lat, max_lon, max_lat in WGS84 degrees; refuses out-of-range or inverted."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def __post_init__(self) -> None:
        values = (self.min_lon, self.min_lat, self.max_lon, self.max_lat)
        if not all(math.isfinite(v) for v in values):
            raise InvalidInput("bbox: every coordinate must be a finite number")
        if not (-180 <= self.min_lon <= 180 and -180 <= self.max_lon <= 180):
            raise InvalidInput("bbox: longitudes must lie in [-180, 180]")
        if not (-90 <= self.min_lat <= 90 and -90 <= self.max_lat <= 90):
            raise InvalidInput("bbox: latitudes must lie in [-90, 90]")
        if self.min_lon >= self.max_lon or self.min_lat >= self.max_lat:
            raise InvalidInput(
                "bbox: inverted or empty (need min_lon < max_lon, min_lat < max_lat)"
            )

    @classmethod
    def parse(cls, text: str) -> BoundingBox:
        """Parse `min_lon,min_lat,max_lon,max_lat`."""
        parts = text.split(",")
        if len(parts) != 4:
            raise InvalidInput("bbox: expected min_lon,min_lat,max_lon,max_lat")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise InvalidInput(f"bbox: not numbers: {text!r}") from None
        return cls(*numbers)


@dataclass(frozen=True, slots=True)
class Geofence:
    """A named (multi)polygon; `rectangle` is set when it is a plain bounding box."""

    name: str
    area: MultiPolygon
    rectangle: BoundingBox | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise InvalidInput("geofence name: 1-80 characters of letters, digits, '_', '-', '.'")
        if self.area.is_empty or not self.area.is_valid:
            raise InvalidInput("geofence: the polygon is empty or invalid")
        min_lon, min_lat, max_lon, max_lat = self.area.bounds
        BoundingBox(min_lon, min_lat, max_lon, max_lat)  # validates the range
        # Prepared geometries answer the many point tests of a run in log time.
        shapely.prepare(self.area)

    @classmethod
    def from_bbox(cls, name: str, bbox: BoundingBox) -> Geofence:
        """A rectangular geofence."""
        rect = box(bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat)
        return cls(name, MultiPolygon([rect]), bbox)

    @classmethod
    def from_geojson(cls, name: str, document: Mapping[str, Any]) -> Geofence:
        """A geofence from a GeoJSON Polygon/MultiPolygon, Feature or FeatureCollection."""
        geometries = _geojson_geometries(document)
        polygons: list[Polygon] = []
        for geometry in geometries:
            try:
                parsed = shape(geometry)
            except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError):
                raise InvalidInput("geofence: not a valid GeoJSON geometry") from None
            if isinstance(parsed, Polygon):
                polygons.append(parsed)
            elif isinstance(parsed, MultiPolygon):
                polygons.extend(parsed.geoms)
            else:
                raise InvalidInput(f"geofence: expected polygons, got {parsed.geom_type}")
        if not polygons:
            raise InvalidInput("geofence: the GeoJSON holds no polygon")
        return cls(name, MultiPolygon(polygons))

    @property
    def bounds(self) -> BoundingBox:
        """The geofence's bounding box."""
        return BoundingBox(*self.area.bounds)

    def covers_point(self, lon: float, lat: float) -> bool:
        """True when the point lies inside or on the boundary."""
        rect = self.rectangle
        if rect is not None:
            return rect.min_lon <= lon <= rect.max_lon and rect.min_lat <= lat <= rect.max_lat
        return bool(shapely.intersects_xy(self.area, lon, lat))

    def touches_line(self, coords: Sequence[tuple[float, float]]) -> bool:
        """True when any part of the polyline lies inside or on the boundary."""
        rect = self.rectangle
        if rect is not None:  # the common case, inlined: this runs once per edge
            min_x, min_y, max_x, max_y = rect.min_lon, rect.min_lat, rect.max_lon, rect.max_lat
            for lon, lat in coords:
                if min_x <= lon <= max_x and min_y <= lat <= max_y:
                    return True
        elif any(self.covers_point(lon, lat) for lon, lat in coords):
            return True
        xs = [c[0] for c in coords]
        ys = [c[1] for c in coords]
        min_lon, min_lat, max_lon, max_lat = self.area.bounds
        if max(xs) < min_lon or min(xs) > max_lon or max(ys) < min_lat or min(ys) > max_lat:
            return False
        # Rare: every vertex outside but a segment may cross the fence.
        return bool(self.area.intersects(LineString(coords)))

    def wkt(self) -> str:
        """The geofence as WKT (a MultiPolygon), for provenance."""
        return str(self.area.wkt)


def _geojson_geometries(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    kind = document.get("type") if isinstance(document, Mapping) else None
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise InvalidInput("geofence: FeatureCollection without features")
        return [g for f in features for g in _geojson_geometries(f)]
    if kind == "Feature":
        geometry = document.get("geometry")
        if not isinstance(geometry, Mapping):
            raise InvalidInput("geofence: Feature without geometry")
        return [geometry]
    if kind in ("Polygon", "MultiPolygon"):
        return [document]
    raise InvalidInput(f"geofence: unsupported GeoJSON type {kind!r}")
