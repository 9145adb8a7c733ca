"""Write small .osm.pbf files for the tests with pyosmium's writer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import osmium
from osmium.osm import mutable

# The test world: a 0.01 degree square at lon 20, lat 40; one grid unit is 0.001 degree.
ORIGIN = (20.0, 40.0)
UNIT = 0.001
BBOX = "20.0,40.0,20.01,40.01"


def at(x: float, y: float) -> tuple[float, float]:
    """Grid units to lon/lat (rounded to OSM's 7 decimals)."""
    return (round(ORIGIN[0] + x * UNIT, 7), round(ORIGIN[1] + y * UNIT, 7))


@dataclass
class Extract:
    """Nodes, ways and relations to write, in any order (written sorted)."""

    nodes: dict[int, tuple[tuple[float, float], dict[str, str]]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict[str, str]]] = field(default_factory=dict)
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]] = field(
        default_factory=dict
    )

    def node(self, osm_id: int, x: float, y: float, **tags: str) -> Extract:
        self.nodes[osm_id] = (at(x, y), dict(tags))
        return self

    def way(
        self, osm_id: int, refs: Iterable[int], tags: Mapping[str, str] | None = None
    ) -> Extract:
        self.ways[osm_id] = (list(refs), dict(tags or {}))
        return self

    def relation(
        self, osm_id: int, members: list[tuple[str, int, str]], tags: Mapping[str, str]
    ) -> Extract:
        self.relations[osm_id] = (members, dict(tags))
        return self

    def write(self, path: Path, bbox: tuple[float, float, float, float] | None = None) -> Path:
        """Write a sorted PBF; `bbox` goes into the header."""
        header = osmium.io.Header()
        if bbox is not None:
            header.add_box(
                osmium.osm.Box(
                    osmium.osm.Location(bbox[0], bbox[1]), osmium.osm.Location(bbox[2], bbox[3])
                )
            )
        writer = osmium.SimpleWriter(str(path), header=header, overwrite=True)
        try:
            for osm_id in sorted(self.nodes):
                location, tags = self.nodes[osm_id]
                writer.add_node(mutable.Node(id=osm_id, location=location, tags=tags, version=1))
            for osm_id in sorted(self.ways):
                refs, tags = self.ways[osm_id]
                writer.add_way(mutable.Way(id=osm_id, nodes=refs, tags=tags, version=1))
            for osm_id in sorted(self.relations):
                members, tags = self.relations[osm_id]
                writer.add_relation(
                    mutable.Relation(id=osm_id, members=members, tags=tags, version=1)
                )
        finally:
            writer.close()
        return path


def base_extract() -> Extract:
    """The first version of the test world (see test_ingest_contract.py for the picture)."""
    e = Extract()
    e.node(1, 2, 2, amenity="cafe", name="Cafe One")
    e.node(2, 0, 5, tourism="artwork", name="Edge Statue")  # on the west edge: inside
    e.node(3, -1, 5, tourism="museum", name="Outside Museum")  # west of the fence
    e.node(4, 4, 4, amenity="bench")  # not a POI
    e.node(5, 5, 5, name="Old Hall", wikidata="Q42")  # wiki-only POI, no theme
    # U-shaped museum: its centroid (7.5, 7.36) falls in the notch, outside the shape.
    u = [
        (101, 6, 6),
        (102, 9, 6),
        (103, 9, 9),
        (104, 8, 9),
        (105, 8, 7),
        (106, 7, 7),
        (107, 7, 9),
        (108, 6, 9),
    ]
    for osm_id, x, y in u:
        e.node(osm_id, x, y)
    e.way(
        100,
        [101, 102, 103, 104, 105, 106, 107, 108, 101],
        {"tourism": "museum", "building": "yes", "name": "U Museum"},
    )
    # A park with a hole: outer (1,6)-(4,9), inner (2,7)-(3,8).
    for osm_id, x, y in [
        (311, 1, 6),
        (312, 4, 6),
        (313, 4, 9),
        (314, 1, 9),
        (321, 2, 7),
        (322, 3, 7),
        (323, 3, 8),
        (324, 2, 8),
    ]:
        e.node(osm_id, x, y)
    e.way(301, [311, 312, 313, 314, 311])
    e.way(302, [321, 322, 323, 324, 321])
    e.relation(
        300,
        [("w", 301, "outer"), ("w", 302, "inner")],
        {"type": "multipolygon", "leisure": "park", "name": "Ring Park"},
    )
    # The walking network.
    for osm_id, x, y in [
        (20, 1, 1),
        (21, 3, 1),
        (22, 5, 1),
        (23, 3, 0),
        (24, 3, 3),
        (25, 7, 1),
        (26, 9, 1),
        (27, 9, 3),
        (28, 11, 1),
        (29, 12, 2),
        (30, 13, 2),
    ]:
        e.node(osm_id, x, y)
    e.way(200, [20, 21, 22], {"highway": "footway", "name": "Long Walk"})
    e.way(201, [23, 21, 24], {"highway": "footway"})  # crosses 200 at node 21
    e.way(202, [22, 25, 26], {"highway": "residential", "name": "Main Street"})
    e.way(203, [26, 27], {"highway": "motorway"})  # never walkable
    e.way(204, [24, 27], {"highway": "footway", "foot": "no"})  # forbidden
    e.way(205, [26, 28], {"highway": "footway"})  # crosses the east edge: loaded whole
    e.way(206, [29, 30], {"highway": "footway"})  # wholly outside
    return e


def changed_extract() -> Extract:
    """The second version: a renamed cafe, a new cafe, a deleted POI, a deleted way,
    a moved node."""
    e = base_extract()
    e.nodes[1] = (e.nodes[1][0], {"amenity": "cafe", "name": "Cafe Two"})
    del e.nodes[5]
    e.node(6, 6, 4, amenity="cafe", name="New Cafe")
    del e.ways[201]
    del e.nodes[23]
    e.node(25, 7, 2)  # moved north
    return e
