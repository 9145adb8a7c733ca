"""Turn plain OSM elements (ids, tags, coordinates) into the rows a run loads.

The reader adapter hands elements over as plain Python values; every decision (the
filters, point-on-surface, walkability, junction splitting, the geofence) is made here.
shapely is imported by the functions that build geometries, on first use: the batches'
types and a run that reads nothing (a rerun with nothing changed) do not need it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wildside_common.places.poi import PoiRecord, make_poi
from wildside_ingest.domain.filters import FilterSet
from wildside_ingest.domain.geofence import Geofence
from wildside_ingest.domain.network import Coord, EdgeRecord, split_way

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

NodeRow = tuple[int, float, float]


@dataclass(slots=True)
class ReadCounts:
    """Elements the reader handed over, by kind (after its cheap tag pre-filter)."""

    nodes: int = 0
    ways: int = 0
    relations: int = 0

    def as_dict(self) -> dict[str, int]:
        """A JSON-ready copy."""
        return {"nodes": self.nodes, "ways": self.ways, "relations": self.relations}


@dataclass(slots=True)
class FeatureBatch:
    """Rows for the store: POIs, edges, and the end nodes of those edges.

    `network_done`: no edge or node follows this batch (the store may finish the
    network's tables early).
    """

    pois: list[PoiRecord] = field(default_factory=list)
    edges: list[EdgeRecord] = field(default_factory=list)
    nodes: dict[int, NodeRow] = field(default_factory=dict)
    network_done: bool = False

    @property
    def edge_count(self) -> int:
        """The edges the batch carries."""
        return len(self.edges)

    @property
    def poi_count(self) -> int:
        """The POIs the batch carries."""
        return len(self.pois)

    def __len__(self) -> int:
        return len(self.pois) + len(self.edges)


def point_on_surface(geometry: BaseGeometry) -> tuple[float, float] | None:
    """A point guaranteed to lie on the geometry (never a centroid outside it)."""
    import shapely

    if geometry.is_empty:
        return None
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
        if geometry.is_empty:
            return None
    point = geometry.representative_point()
    return (point.x, point.y)


def way_geometry(coords: Sequence[Coord]) -> BaseGeometry:
    """A closed ring of 4+ points is a polygon, anything else a line (or a point)."""
    from shapely.geometry import LineString, Point, Polygon

    if len(coords) >= 4 and coords[0] == coords[-1]:
        return Polygon(coords)
    if len(set(coords)) >= 2:
        return LineString(coords)
    return Point(coords[0])


def assemble_multipolygon(
    outers: Sequence[Sequence[Coord]], inners: Sequence[Sequence[Coord]]
) -> BaseGeometry | None:
    """Rings from member ways (any order, any split): outer area minus inner area."""
    outer = _rings(outers)
    if outer is None:
        return None
    inner = _rings(inners)
    return outer if inner is None else outer.difference(inner)


def _rings(lines: Sequence[Sequence[Coord]]) -> BaseGeometry | None:
    import shapely
    from shapely.geometry import LineString
    from shapely.ops import polygonize

    usable = [LineString(line) for line in lines if len(line) >= 2]
    polygons = list(polygonize(usable)) if usable else []
    if not polygons:
        return None
    merged = shapely.union_all([shapely.make_valid(p) for p in polygons])
    return None if merged.is_empty else merged


class FeatureBuilder:
    """Applies the filter set and the geofence to elements, one at a time."""

    def __init__(self, filters: FilterSet, geofence: Geofence) -> None:
        self.filters = filters
        self.geofence = geofence

    def node_poi(
        self,
        osm_id: int,
        tags: Mapping[str, str],
        lon: float,
        lat: float,
        themes: tuple[str, ...] | None = None,
    ) -> PoiRecord | None:
        """A tagged node as a POI, when it passes the filters and lies in the geofence.

        `themes`: `filters.poi_themes(tags)` when the caller has it already.
        """
        if themes is None:
            themes = self.filters.poi_themes(tags)
        if themes is None:
            return None
        return self._inside("node", osm_id, (lon, lat), tags, themes)

    def way_poi(
        self,
        osm_id: int,
        tags: Mapping[str, str],
        coords: Sequence[Coord | None],
        themes: tuple[str, ...] | None,
    ) -> PoiRecord | None:
        """A way as a POI at its point-on-surface; ways missing node locations are skipped.

        `themes` is `filters.poi_themes(tags)`, computed once by the caller.
        """
        if themes is None or not coords or any(c is None for c in coords):
            return None
        point = point_on_surface(way_geometry(coords))  # type: ignore[arg-type]
        return self._inside("way", osm_id, point, tags, themes)

    def relation_poi(
        self,
        osm_id: int,
        tags: Mapping[str, str],
        outers: Sequence[Sequence[Coord]],
        inners: Sequence[Sequence[Coord]],
    ) -> PoiRecord | None:
        """A multipolygon relation as a POI at the point-on-surface of its assembled area.

        Member ways are joined into rings (`polygonize`); the area is the outer rings
        minus the inner ones. A relation whose rings do not close (members cut by the
        extract) has no area and is skipped.
        """
        themes = self.filters.poi_themes(tags)
        if themes is None:
            return None
        area = assemble_multipolygon(outers, inners)
        point = None if area is None else point_on_surface(area)
        return self._inside("relation", osm_id, point, tags, themes)

    def walk_edges(
        self,
        way_id: int,
        tags: Mapping[str, str],
        refs: Sequence[int],
        coords: Sequence[Coord | None],
        is_vertex: Sequence[bool],
    ) -> list[EdgeRecord]:
        """The edges of a walkable way touching the geofence (the caller checked walkability)."""
        return split_way(way_id, tags, refs, coords, is_vertex, self.geofence.touches_line)

    def _inside(
        self,
        kind: str,
        osm_id: int,
        point: tuple[float, float] | None,
        tags: Mapping[str, str],
        themes: tuple[str, ...],
    ) -> PoiRecord | None:
        if point is None:
            return None
        # Round to OSM's precision before the test, so the stored point is the one tested.
        lon, lat = round(point[0], 7), round(point[1], 7)
        if not self.geofence.covers_point(lon, lat):
            return None
        return make_poi(kind, osm_id, lon, lat, tags, themes)
