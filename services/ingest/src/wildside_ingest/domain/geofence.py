"""Geofences: the named area a run loads, as a bounding box or a GeoJSON polygon.

Inclusion rules (docs/ingest.md, "Geofences"), all boundary-inclusive:

- a POI is inside when its point (the node, or the point-on-surface of a way or
  multipolygon) is covered by the geofence;
- a street edge is inside when any part of it touches the geofence; it is then loaded
  whole, with both end nodes, so the network does not end in dangling half-edges.

The database side (removal of what disappeared) uses the same predicates with PostGIS
`ST_Covers` / `ST_Intersects` on the same planar lon/lat geometry.

shapely (and numpy under it) is imported on first use, not with this module: a
rectangular geofence needs neither for its tests, its bounds or (for ordinary
coordinates) its WKT, and a rerun with nothing changed never reads an element, so its
start-up does not pay for them (bench/ingest, docs/ingest.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wildside_common.errors import InvalidInput

if TYPE_CHECKING:
    from shapely.geometry import MultiPolygon

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
    """A named (multi)polygon; `rectangle` is set when it is a plain bounding box.

    A GeoJSON geofence is given its `polygons`; a rectangle's are built (and prepared)
    the first time `area` is asked for, which a bounding box's own tests never do."""

    name: str
    rectangle: BoundingBox | None = None
    polygons: MultiPolygon | None = None
    _built: list[MultiPolygon] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise InvalidInput("geofence name: 1-80 characters of letters, digits, '_', '-', '.'")
        if (self.rectangle is None) == (self.polygons is None):
            raise ValueError("a geofence is a rectangle or polygons, exactly one of them")
        if self.polygons is not None:
            import shapely

            if self.polygons.is_empty or not self.polygons.is_valid:
                raise InvalidInput("geofence: the polygon is empty or invalid")
            BoundingBox(*self.polygons.bounds)  # validates the range
            # Prepared geometries answer the many point tests of a run in log time.
            shapely.prepare(self.polygons)

    @classmethod
    def from_bbox(cls, name: str, bbox: BoundingBox) -> Geofence:
        """A rectangular geofence (the box validated itself)."""
        return cls(name, rectangle=bbox)

    @classmethod
    def from_geojson(cls, name: str, document: Mapping[str, Any]) -> Geofence:
        """A geofence from a GeoJSON Polygon/MultiPolygon, Feature or FeatureCollection."""
        import shapely
        from shapely.geometry import MultiPolygon, Polygon, shape

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
        return cls(name, polygons=MultiPolygon(polygons))

    @property
    def area(self) -> MultiPolygon:
        """The geofence as a prepared shapely MultiPolygon."""
        if self.polygons is not None:
            return self.polygons
        if not self._built:
            import shapely
            from shapely.geometry import MultiPolygon, box

            rect = self.rectangle
            assert rect is not None
            area = MultiPolygon([box(rect.min_lon, rect.min_lat, rect.max_lon, rect.max_lat)])
            shapely.prepare(area)
            self._built.append(area)
        return self._built[0]

    @property
    def bounds(self) -> BoundingBox:
        """The geofence's bounding box."""
        if self.rectangle is not None:
            return self.rectangle
        return BoundingBox(*self.area.bounds)

    def covers_point(self, lon: float, lat: float) -> bool:
        """True when the point lies inside or on the boundary."""
        rect = self.rectangle
        if rect is not None:
            return rect.min_lon <= lon <= rect.max_lon and rect.min_lat <= lat <= rect.max_lat
        import shapely

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
        # Per edge outside the fence: the bounds as plain floats, not a validated
        # `BoundingBox` made afresh for each.
        if rect is not None:
            min_lon, min_lat, max_lon, max_lat = (
                rect.min_lon,
                rect.min_lat,
                rect.max_lon,
                rect.max_lat,
            )
        else:
            min_lon, min_lat, max_lon, max_lat = self.area.bounds
        if max(xs) < min_lon or min(xs) > max_lon or max(ys) < min_lat or min(ys) > max_lat:
            return False
        # Rare: every vertex outside but a segment may cross the fence.
        from shapely.geometry import LineString

        return bool(self.area.intersects(LineString(coords)))

    def wkt(self) -> str:
        """The geofence as WKT (a MultiPolygon), for provenance: shapely's text, which the
        run's input key is made of. A rectangle with ordinary coordinates writes it
        without shapely (`rectangle_wkt`, the same text: tested)."""
        if self.rectangle is not None:
            text = rectangle_wkt(self.rectangle)
            if text is not None:
                return text
        return str(self.area.wkt)


def rectangle_wkt(rect: BoundingBox) -> str | None:
    """shapely's `MultiPolygon([box(...)]).wkt` for `rect`, or None when a coordinate is
    not written the way Python writes it: GEOS writes the shortest decimal that reads
    back as the same float, as `repr` does, but in scientific notation or rounded where
    `repr` gives an exponent or more than 15 decimals (those go through shapely)."""
    parts = [_plain(v) for v in (rect.max_lon, rect.min_lat, rect.max_lat, rect.min_lon)]
    if None in parts:
        return None
    east, south, north, west = parts
    ring = f"{east} {south}, {east} {north}, {west} {north}, {west} {south}, {east} {south}"
    return f"MULTIPOLYGON ((({ring})))"


def _plain(value: float) -> str | None:
    text = repr(float(value) + 0.0)  # + 0.0: -0.0 is written as 0
    if "e" in text or "n" in text:
        return None
    whole, _, decimals = text.partition(".")
    if len(decimals) > 15:
        return None
    return whole if decimals == "0" else text


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
