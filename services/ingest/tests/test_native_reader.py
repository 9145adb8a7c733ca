"""The C++ readers (wildside_ingest._native) give exactly the Python reader's rows.

Every case reads one file twice, with the Python reader (`native=False`) and with the
C++ readers (the default), and compares every POI, edge and node row and the read
counts: lengths to the bit, tags, themes, points on surface, seq numbers, geofence
decisions. The rules the C++ side repeats (walkability, rounding) are also compared on
generated input.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingest_pbf import Extract, at, base_extract, changed_extract

from wildside_common.errors import InvalidInput
from wildside_common.places.poi import INGEST, PoiRecord
from wildside_common.themes import load_theme_rules
from wildside_ingest import _native
from wildside_ingest.adapters.outbound.pbf import PbfFeatureSource
from wildside_ingest.adapters.outbound.wire import PoiWireBatch, WireBatch
from wildside_ingest.domain.features import FeatureBuilder, ReadCounts
from wildside_ingest.domain.filters import FilterSet
from wildside_ingest.domain.geofence import BoundingBox, Geofence
from wildside_ingest.domain.network import (
    ACCESS_FORBIDDEN,
    FOOT_ALLOWED,
    FOOT_FORBIDDEN,
    TRUNK_HIGHWAYS,
    WALKABLE_HIGHWAYS,
    EdgeRecord,
    is_walkable,
)

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
HELSINKI = ROOT / "data" / "helsinki-centre.osm.pbf"
RULES = load_theme_rules()


def read_all(
    path: Path,
    filters: str,
    fence: Geofence,
    native: bool,
    batch: int = 10_000,
    location_store: str = "flex_mem",
    poi_rows: bool = False,
) -> Any:
    """Every row a reader gives, sorted, with its read counts.

    `poi_rows`: as on a first load, the store takes `pois` rows in COPY format, and the
    C++ reader decides tagged nodes itself: its rows are decoded back into PoiRecords.
    """
    source = PbfFeatureSource(location_store, native=native, poi_rows=lambda: poi_rows)
    builder = FeatureBuilder(FilterSet.parse(RULES, filters.split(",")), fence)
    read = ReadCounts()
    pois, edges, nodes = [], [], {}
    for part in source.batches(str(path), builder, batch, read):
        if isinstance(part, PoiWireBatch):
            decoded = [poi_record(row) for row in decode_copy_rows(part.rows.rows)]
            assert len(decoded) == part.rows.count == part.poi_count and not part.pois
            pois += decoded
        pois += part.pois
        edges += part.edges
        nodes.update(part.nodes)
    pois.sort(key=lambda p: (p.element_type, p.osm_id))
    edges.sort(key=lambda e: (e.way_id, e.seq))
    return read.as_dict(), pois, edges, nodes


def poi_record(row: list[bytes | None]) -> PoiRecord:
    """A `pois` COPY row written by the C++ reader, as the PoiRecord it stands for."""
    kind, osm_id, location, name, tags, themes, popularity, source, digest = row
    assert location is not None and struct.unpack_from("<BI", location) == (1, 1)
    lon, lat = struct.unpack_from("<dd", location, 5)
    assert tags is not None and tags[:1] == b"\x01"  # jsonb, version 1
    assert themes is not None
    dims, flags, element = struct.unpack_from("!iii", themes)
    assert flags == 0 and element == 25  # text, no NULL
    names: list[str] = []
    if dims:
        (count, lower), at = struct.unpack_from("!ii", themes, 12), 20
        assert dims == 1 and lower == 1
        for _ in range(count):
            (size,) = struct.unpack_from("!i", themes, at)
            names.append(themes[at + 4 : at + 4 + size].decode())
            at += 4 + size
        assert at == len(themes)
    assert popularity is not None and len(popularity) == 4  # `real`
    score = round(struct.unpack("!f", popularity)[0], 2)
    assert struct.pack("!f", score) == popularity  # what asyncpg sends for `score`
    assert source == INGEST.encode() and digest is not None
    return PoiRecord(
        (kind or b"").decode(),
        struct.unpack("!q", osm_id or b"")[0],
        lon,
        lat,
        None if name is None else name.decode(),
        tags[1:].decode(),
        tuple(names),
        score,
        digest.decode(),
    )


def assert_same(
    path: Path, filters: str, fence: Geofence, batch: int = 10_000, poi_rows: bool = False
) -> Any:
    python = read_all(path, filters, fence, native=False, batch=batch)
    native = read_all(path, filters, fence, native=True, batch=batch, poi_rows=poi_rows)
    assert native[0] == python[0], "read counts"
    assert native[1] == python[1], "POI rows"
    assert native[2] == python[2], "edge rows"
    assert native[3] == python[3], "node rows"
    return native


def edge_cases() -> Extract:
    """The base world plus what the rules single out."""
    e = base_extract()
    e.node(40, 1, 3, historic="memorial;monument", name="Listed")  # a;b value
    e.node(41, 1, 4, historic="no", name="Not historic")  # "no" is no value
    e.node(42, 2, 4, tourism="hotel", name="Hotel")  # a key without a matching value
    e.node(43, 2, 3, name="Only Wikipedia", wikipedia="fi:Jotain")  # wiki, no theme
    e.node(44, 3, 4, wikidata="Q1")  # a reference without a name: not a POI
    # text the canonical JSON escapes or keeps: quotes, a backslash, control characters,
    # non-ASCII; every popularity weight; a theme rule whose value is not taken
    e.node(
        45,
        3,
        3,
        tourism="museum",
        name='Ateneum "Taide\\museo"\t\x01 é ✓',
        website="https://ateneum.fi",
        opening_hours="Tu-Su 10:00-18:00",
        wikidata="Q754507",
        wikipedia="fi:Ateneum",
        heritage="2",
        amenity="arts_centre",
        shop="no",
    )
    e.node(46, 5, 3, amenity="cafe")  # on the small fence's edge: inside
    e.node(47, 5.5, 3, amenity="cafe", name="")  # outside it; an empty name is none
    e.node(48, 3, 2, memorial="plaque", name="Wiki", wikipedia="")  # empty reference
    for osm_id, x, y in [(50, 0.5, 0.5), (51, 2, 0.5), (53, 4, 0.5), (54, 6, 0.5)]:
        e.node(osm_id, x, y)
    # node 52 is missing from the file: the pieces around it are dropped, seq goes on
    e.way(210, [50, 51, 21, 52, 53, 54], {"highway": "path", "name": ""})
    e.way(211, [51, 51], {"highway": "footway"})  # a node repeated in place
    e.way(212, [53, 54], {"highway": "trunk", "foot": "yes"})  # trunk open to walkers
    e.way(213, [53, 22], {"highway": "trunk"})  # trunk: not walkable
    e.way(214, [50, 20], {"highway": "pedestrian", "area": "yes"})
    e.way(215, [51, 53], {"highway": "footway", "area": "yes"})  # an area: not a path
    e.way(216, [20, 53], {"highway": "service", "access": "private", "foot": "yes"})
    e.way(217, [21, 22], {"highway": "service", "access": "no"})
    # Crosses the fence corner with both ends outside: the segment test decides.
    e.node(60, -1, 8)
    e.node(61, 1, 11)
    e.way(218, [60, 61], {"highway": "footway"})
    e.node(62, -2, -1)
    e.node(63, -1, -2)
    e.way(219, [62, 63], {"highway": "footway"})  # near the corner, outside
    # A building with a node missing: no POI; a multipolygon whose member misses a node.
    e.way(220, [101, 102, 999, 101], {"building": "church", "amenity": "place_of_worship"})
    e.way(303, [311, 312, 998, 311])
    e.relation(
        310, [("w", 303, "outer")], {"type": "multipolygon", "leisure": "park", "name": "Cut"}
    )
    return e


BOX = Geofence.from_bbox("t", BoundingBox(*at(0, 0), *at(10, 10)))
SMALL = Geofence.from_bbox("s", BoundingBox(*at(1.5, 0.2), *at(5, 5)))
TRIANGLE = Geofence.from_geojson(
    "tri",
    {"type": "Polygon", "coordinates": [[at(0, 0), at(10, 0), at(0, 10), at(0, 0)]]},
)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("native")
    return {
        "base": base_extract().write(directory / "base.osm.pbf"),
        "changed": changed_extract().write(directory / "changed.osm.pbf"),
        "edges": edge_cases().write(directory / "edges.osm.pbf"),
    }


@pytest.mark.parametrize("case", ["base", "changed", "edges"])
@pytest.mark.parametrize("filters", ["all", "pois", "network", "history", "wiki", "nature,wiki"])
@pytest.mark.parametrize("fence", [BOX, SMALL, TRIANGLE], ids=["box", "small", "triangle"])
@pytest.mark.parametrize("poi_rows", [False, True], ids=["records", "poi-rows"])
def test_same_rows_as_the_python_reader(
    cases: dict[str, Path], case: str, filters: str, fence: Geofence, poi_rows: bool
) -> None:
    # poi-rows: the C++ reader decides the tagged nodes (a first load's path)
    assert_same(cases[case], filters, fence, poi_rows=poi_rows)


def test_the_edge_cases_reach_both_readers(cases: dict[str, Path]) -> None:
    # The comparison above means something only if the cases are in the rows.
    read, pois, edges, _ = assert_same(cases["edges"], "all", BOX)
    by_way: dict[int, list[int]] = {}
    for edge in edges:
        by_way.setdefault(edge.way_id, []).append(edge.seq)
    assert by_way[210] == [0, 1, 3]  # the piece through the missing node 52 is gone
    assert 211 not in by_way and 213 not in by_way and 215 not in by_way
    assert by_way[212] == [0] and by_way[214] == [0] and by_way[216] == [0]
    assert 217 not in by_way
    assert 218 in by_way and 219 not in by_way
    assert all(edge.name is None for edge in edges if edge.way_id == 210)
    ids = {(p.element_type, p.osm_id) for p in pois}
    assert ("node", 40) in ids and ("node", 43) in ids
    assert not {("node", 41), ("node", 42), ("node", 44), ("way", 220), ("relation", 310)} & ids
    assert read["relations"] == 2


def test_same_rows_on_the_helsinki_extract_in_small_batches() -> None:
    fence = Geofence.from_bbox("h", BoundingBox(24.93, 60.16, 24.96, 60.175))
    read, pois, edges, nodes = assert_same(HELSINKI, "all", fence, batch=500)
    assert len(pois) > 300 and len(edges) > 1000 and len(nodes) > 800
    assert read["nodes"] > 0 and read["ways"] > 0 and read["relations"] > 0


@pytest.mark.parametrize("filters", ["all", "history", "wiki", "food,art"])
def test_the_poi_decisions_in_cpp_are_pythons_on_the_helsinki_extract(filters: str) -> None:
    # The C++ reader decides the tagged nodes of a first load (themes, filters, the
    # rectangle, the canonical tags, popularity, content hash): Python's domain rules
    # are the spec, compared on every POI of the demo extract, and it does decide most.
    box = pbf_box(HELSINKI)
    for fence in (Geofence.from_bbox("h", box), SMALL_HELSINKI):
        _, pois, _, _ = assert_same(HELSINKI, filters, fence, batch=700, poi_rows=True)
        assert pois
    source = PbfFeatureSource(poi_rows=lambda: True)
    builder = FeatureBuilder(FilterSet.parse(RULES, ["all"]), Geofence.from_bbox("h", box))
    decided = in_python = 0
    for part in source.batches(str(HELSINKI), builder, 1000, ReadCounts()):
        if isinstance(part, PoiWireBatch):
            decided += part.poi_count
        in_python += sum(p.element_type == "node" for p in part.pois)
    assert decided > 1000 and in_python < decided / 20


SMALL_HELSINKI = Geofence.from_bbox("hs", BoundingBox(24.94, 60.165, 24.95, 60.17))


def pbf_box(path: Path) -> BoundingBox:
    corners = _native.header_box(str(path))
    assert corners is not None
    return BoundingBox(*corners)


@given(st.binary(max_size=300))
def test_the_content_hash_is_sha256(data: bytes) -> None:
    assert _native.sha256_hex(data) == hashlib.sha256(data).hexdigest()


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=6))
def test_the_tags_json_is_the_canonical_json(tags: dict[str, str]) -> None:
    from wildside_common.places.poi import canonical_tags

    pairs = sorted(tags.items())
    assert _native.canonical_json(pairs) == canonical_tags(tags)
    assert json.loads(_native.canonical_json(pairs)) == tags


@given(st.binary(max_size=40) | st.text(max_size=20).map(str.encode))
def test_utf8_is_checked_as_python_decodes(data: bytes) -> None:
    try:
        data.decode()
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert _native.valid_utf8(data) is valid


def test_the_native_readers_are_used_by_default() -> None:
    # scripts/venv.sh builds them; a checkout without them would silently be slower
    assert PbfFeatureSource().native is True


def test_a_corrupt_file_is_invalid_input(tmp_path: Path) -> None:
    data = HELSINKI.read_bytes()
    truncated = tmp_path / "cut.osm.pbf"
    truncated.write_bytes(data[: len(data) // 2])
    fence = Geofence.from_bbox("h", BoundingBox(24.0, 60.0, 25.0, 61.0))
    for filters in ("network", "pois", "all"):
        for native in (True, False):
            with pytest.raises(InvalidInput, match="corrupt or truncated"):
                read_all(truncated, filters, fence, native=native)


TAG_VALUES = st.sampled_from(
    sorted(
        WALKABLE_HIGHWAYS
        | TRUNK_HIGHWAYS
        | FOOT_ALLOWED
        | FOOT_FORBIDDEN
        | ACCESS_FORBIDDEN
        | {"motorway", "yes", "no", "", "pedestrian", "Footway", "foot way"}
    )
)


@given(st.dictionaries(st.sampled_from(["highway", "foot", "access", "area", "name"]), TAG_VALUES))
def test_walkability_is_the_python_rule(tags: dict[str, str]) -> None:
    rules = (WALKABLE_HIGHWAYS, TRUNK_HIGHWAYS, FOOT_ALLOWED, FOOT_FORBIDDEN, ACCESS_FORBIDDEN)
    assert _native.is_walkable(tags, *rules) == is_walkable(tags)


@given(
    st.one_of(
        st.floats(min_value=0, max_value=1e7, allow_nan=False),
        st.integers(0, 10**9).map(lambda n: n / 1000 + 0.0005),  # ties in decimal
    )
)
def test_lengths_round_as_python_rounds(value: float) -> None:
    assert math.copysign(1, _native.round3(value)) == math.copysign(1, round(value, 3))
    assert _native.round3(value) == round(value, 3)


def decode_copy_rows(data: bytes) -> list[list[bytes | None]]:
    """PostgreSQL binary COPY rows (no header, no trailer) as lists of raw fields."""
    rows, at = [], 0
    while at < len(data):
        (count,) = struct.unpack_from("!h", data, at)
        at += 2
        fields: list[bytes | None] = []
        for _ in range(count):
            (size,) = struct.unpack_from("!i", data, at)
            at += 4
            fields.append(None if size < 0 else data[at : at + size])
            at += max(size, 0)
        rows.append(fields)
    return rows


def test_wire_rows_are_the_edges_and_nodes_in_copy_format(cases: dict[str, Path]) -> None:
    # A bulk load takes the network as binary COPY rows (street_edges, street_nodes):
    # decoded, they are exactly the EdgeRecords and node rows of the other path.
    builder = FeatureBuilder(FilterSet.parse(RULES, ["network"]), BOX)
    expected = read_all(cases["edges"], "network", BOX, native=True, batch=3)
    source = PbfFeatureSource(wire_rows=lambda: True)  # as the store says on a bulk load
    read = ReadCounts()
    edges, nodes = [], []
    for part in source.batches(str(cases["edges"]), builder, 3, read):
        if part.network_done:  # the marker after the last edge
            continue
        assert isinstance(part, WireBatch) and not part.edges and not part.nodes
        edges += decode_copy_rows(part.rows.edges)
        nodes += decode_copy_rows(part.rows.nodes)
        assert part.rows.edge_count == len(decode_copy_rows(part.rows.edges)) == part.edge_count
        assert part.rows.node_count == len(decode_copy_rows(part.rows.nodes))
    assert read.as_dict() == expected[0]
    as_records = []
    for way_id, seq, source_id, target, length, highway, name, geom in edges:
        assert geom is not None and geom[:1] == b"\x01"  # little-endian WKB LineString
        kind, points = struct.unpack_from("<II", geom, 1)
        assert kind == 2 and len(geom) == 9 + 16 * points
        as_records.append(
            EdgeRecord(
                struct.unpack("!q", way_id or b"")[0],
                struct.unpack("!i", seq or b"")[0],
                struct.unpack("!q", source_id or b"")[0],
                struct.unpack("!q", target or b"")[0],
                struct.unpack("!d", length or b"")[0],
                (highway or b"").decode(),
                None if name is None else name.decode(),
                geom[9:],
            )
        )
    assert sorted(as_records, key=lambda e: (e.way_id, e.seq)) == expected[2]
    points = {}
    for node_id, location in nodes:
        assert location is not None and struct.unpack_from("<BI", location) == (1, 1)
        lon, lat = struct.unpack_from("<dd", location, 5)
        points[struct.unpack("!q", node_id or b"")[0]] = (lon, lat)
    assert len(points) == len(nodes)  # each node once across the batches
    assert points == {key: (lon, lat) for key, (_, lon, lat) in expected[3].items()}


@pytest.mark.parametrize("store", ["sparse_mem_array", "dense_mmap_array"])
def test_every_location_store_gives_the_same_rows(cases: dict[str, Path], store: str) -> None:
    # INGEST_LOCATION_STORE picks libosmium's node cache for the C++ reader too
    expected = read_all(cases["edges"], "all", BOX, native=True)
    assert read_all(cases["edges"], "all", BOX, native=True, location_store=store) == expected


def test_an_unknown_location_store_is_refused(cases: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="unknown location store"):
        _native.OsmReader(str(cases["base"]), 100, "no_such_store")
