"""Unit tests of the ingest's domain: geofences, filters, walkability, splitting, POIs
(the POI rows themselves: libs/common/tests/test_places.py)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box

from wildside_common.errors import InvalidInput
from wildside_common.themes import load_theme_rules
from wildside_ingest.domain.features import (
    FeatureBuilder,
    assemble_multipolygon,
    point_on_surface,
    way_geometry,
)
from wildside_ingest.domain.filters import FilterSet
from wildside_ingest.domain.geofence import BoundingBox, Geofence, rectangle_wkt
from wildside_ingest.domain.network import haversine_m, is_walkable, split_way
from wildside_ingest.domain.run import IngestRequest

pytestmark = pytest.mark.unit

RULES = load_theme_rules()
ALL = FilterSet.parse(RULES, ["all"])
FENCE = Geofence.from_bbox("t", BoundingBox(0, 0, 1, 1))


@pytest.mark.parametrize(
    "bbox", ["-181,0,1,1", "0,-91,1,1", "1,0,0,1", "0,1,1,0", "0,0,0,1", "x,0,1,1", "0,0,1"]
)
def test_bbox_refuses_bad_values(bbox: str) -> None:
    with pytest.raises(InvalidInput):
        BoundingBox.parse(bbox)


def test_bbox_geofence_is_inclusive() -> None:
    assert FENCE.covers_point(0, 0.5) and FENCE.covers_point(1, 1)
    assert not FENCE.covers_point(1.0000001, 0.5)


def test_polygon_geofence() -> None:
    triangle = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [0, 2], [0, 0]]]}
    fence = Geofence.from_geojson(
        "tri",
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": triangle, "properties": {}}],
        },
    )
    assert fence.covers_point(1, 1)  # on the hypotenuse
    assert not fence.covers_point(1.5, 1.5)
    assert fence.touches_line([(3, -1), (-1, 3)])  # crosses with no vertex inside
    assert not fence.touches_line([(3, 3), (4, 4)])
    assert fence.bounds == BoundingBox(0, 0, 2, 2)


def test_geofence_name_is_checked() -> None:
    with pytest.raises(InvalidInput, match="geofence name"):
        Geofence.from_bbox("no spaces", BoundingBox(0, 0, 1, 1))


def test_filters_parse_and_canonical_form() -> None:
    assert FilterSet.parse(RULES, ["network", "food"]).canonical == "food,network"
    pois = FilterSet.parse(RULES, ["pois"])
    assert not pois.network and pois.wiki and pois.themes == frozenset(RULES.theme_ids)
    with pytest.raises(InvalidInput, match="unknown filter 'golf'"):
        FilterSet.parse(RULES, ["golf"])


def test_filter_keeps_all_themes_of_a_selected_poi() -> None:
    food = FilterSet.parse(RULES, ["food"])
    assert food.poi_themes({"amenity": "marketplace"}) == ("food", "shopping")
    assert food.poi_themes({"tourism": "artwork"}) is None
    assert food.poi_themes({"name": "X", "wikidata": "Q1"}) is None
    assert ALL.poi_themes({"name": "X", "wikidata": "Q1"}) == ()
    assert "amenity" in food.poi_keys() and "wikidata" not in food.poi_keys()


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "footway"}, True),
        ({"highway": "residential"}, True),
        ({"highway": "steps"}, True),
        ({"highway": "pedestrian", "area": "yes"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "trunk"}, False),
        ({"highway": "trunk", "foot": "yes"}, True),
        ({"highway": "footway", "foot": "no"}, False),
        ({"highway": "service", "access": "private"}, False),
        ({"highway": "service", "access": "no", "foot": "yes"}, True),
        ({"highway": "construction"}, False),
        ({"building": "yes"}, False),
    ],
)
def test_walkability(tags: dict[str, str], walkable: bool) -> None:
    assert is_walkable(tags) is walkable


def test_split_way_at_vertices_keeps_seq_stable() -> None:
    refs = [1, 2, 3, 4, 5]
    coords = [(0.0, 0.0), None, (0.002, 0.0), (0.003, 0.0), (0.004, 0.0)]
    vertex = [True, False, True, False, True]
    edges = split_way(9, {"highway": "path"}, refs, coords, vertex)
    # The piece 3..5 is fine; 1..3 has a missing location and is dropped, keeping seq 1.
    assert [(e.seq, e.source, e.target, len(e.coords)) for e in edges] == [(1, 3, 5, 3)]
    assert edges[0].length_m == pytest.approx(haversine_m((0.002, 0), (0.004, 0)), abs=0.01)


def test_split_way_drops_zero_length_self_loops() -> None:
    edges = split_way(9, {"highway": "path"}, [1, 1], [(0.0, 0.0), (0.0, 0.0)], [True, True])
    assert edges == []


def test_haversine_one_degree_of_latitude() -> None:
    assert haversine_m((0, 0), (0, 1)) == pytest.approx(111_195, rel=1e-4)


def test_point_on_surface_of_concave_shape_is_inside() -> None:
    u = [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3), (0, 0)]
    shape = way_geometry(u)
    assert isinstance(shape, Polygon)
    assert not shape.contains(shape.centroid)
    x, y = point_on_surface(shape) or (9, 9)
    assert shape.covers(Polygon(u).representative_point()) and shape.covers(
        type(shape.centroid)(x, y)
    )


def test_point_on_surface_of_self_intersecting_ring() -> None:
    bowtie = [(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)]
    assert point_on_surface(way_geometry(bowtie)) is not None


def test_builder_applies_the_geofence_to_pois_and_edges() -> None:
    builder = FeatureBuilder(ALL, FENCE)
    assert builder.node_poi(1, {"amenity": "cafe"}, 0.5, 0.5) is not None
    assert builder.node_poi(1, {"amenity": "cafe"}, 1.5, 0.5) is None
    assert builder.node_poi(1, {"amenity": "bench"}, 0.5, 0.5) is None
    tags = {"highway": "footway"}
    crossing = builder.walk_edges(7, tags, [1, 2], [(0.5, 0.5), (1.5, 0.5)], [True, True])
    outside = builder.walk_edges(8, tags, [3, 4], [(1.5, 0.5), (2.5, 0.5)], [True, True])
    assert len(crossing) == 1 and outside == []


def test_request_validation() -> None:
    with pytest.raises(InvalidInput, match="batch size"):
        IngestRequest("x.pbf", "t", None, "https://x", ALL, batch_size=0)
    with pytest.raises(InvalidInput, match="source url"):
        IngestRequest("x.pbf", "t", None, "nope", ALL)
    request = IngestRequest("x.pbf", "t", None, "file:///x.pbf", ALL)
    assert request.resolve_geofence(BoundingBox(0, 0, 1, 1)).rectangle == BoundingBox(0, 0, 1, 1)
    with pytest.raises(InvalidInput, match="no header bounding box"):
        request.resolve_geofence(None)


def test_multipolygon_from_split_ways_with_a_hole() -> None:
    # The outer square comes in two ways (out of order); the hole is one closed way.
    outer_a = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0)]
    outer_b = [(0.0, 0.0), (0.0, 4.0), (4.0, 4.0)]
    hole = [(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0), (1.0, 1.0)]
    area = assemble_multipolygon([outer_b, outer_a], [hole])
    assert area is not None and area.area == pytest.approx(16 - 4)
    poi = FeatureBuilder(ALL, Geofence.from_bbox("t", BoundingBox(-1, -1, 5, 5))).relation_poi(
        5, {"leisure": "park"}, [outer_a, outer_b], [hole]
    )
    assert poi is not None and poi.themes == ("nature",)
    assert area.covers(Point(poi.lon, poi.lat))
    assert not Polygon(hole).contains(Point(poi.lon, poi.lat))


def test_multipolygon_with_open_rings_has_no_area() -> None:
    assert assemble_multipolygon([[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]], []) is None


_LON = st.floats(-180, 180, allow_nan=False) | st.decimals(-180, 180, places=7).map(float)
_LAT = st.floats(-90, 90, allow_nan=False) | st.decimals(-90, 90, places=7).map(float)


@given(_LON, _LON, _LAT, _LAT)
@settings(max_examples=2000, deadline=None)
def test_a_rectangle_s_wkt_is_shapely_s_without_shapely(
    lon_a: float, lon_b: float, lat_a: float, lat_b: float
) -> None:
    """The run's input key is made of this text: it must not change with how it is made."""
    assume(lon_a != lon_b and lat_a != lat_b)
    rect = BoundingBox(min(lon_a, lon_b), min(lat_a, lat_b), max(lon_a, lon_b), max(lat_a, lat_b))
    fence = Geofence.from_bbox("r", rect)
    shapely_text = MultiPolygon([box(rect.min_lon, rect.min_lat, rect.max_lon, rect.max_lat)]).wkt
    assert fence.wkt() == shapely_text
    assert rectangle_wkt(rect) in (None, shapely_text)
    assert fence.area.equals(MultiPolygon([box(*fence.area.bounds)]))
    assert fence.bounds == rect


def test_ordinary_rectangles_write_their_wkt_themselves() -> None:
    rect = BoundingBox(24.9171, 60.1598, 24.9706, 60.1802)
    assert rectangle_wkt(rect) == (
        "MULTIPOLYGON (((24.9706 60.1598, 24.9706 60.1802, 24.9171 60.1802, "
        "24.9171 60.1598, 24.9706 60.1598)))"
    )
    assert rectangle_wkt(BoundingBox(-0.0, 0, 1, 1)) == (
        "MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))"
    )
    assert rectangle_wkt(BoundingBox(1e-7, 0, 1, 1)) is None  # GEOS writes 1e-7
