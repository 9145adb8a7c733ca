"""The walking network: which ways a person may walk, split into edges at junctions.

A way is walkable when its `highway` value is in `WALKABLE_HIGHWAYS` (or a trunk road
explicitly open to pedestrians) and neither `foot` nor `access` forbids it. Ways are
split at every vertex: a node shared by two walkable ways (or used twice by one), and
every way's end nodes. Each piece becomes an edge `(way_id, seq)` between two vertices,
with its polyline and its length on the sphere in metres.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

WALKABLE_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "living_street",
        "residential",
        "steps",
        "track",
        "service",
        "unclassified",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "cycleway",
        "bridleway",
        "corridor",
        "crossing",
        "road",
        "trail",
        "sidewalk",
    }
)
# Roads pedestrians may use only when `foot` says so explicitly (motorways never).
TRUNK_HIGHWAYS = frozenset({"trunk", "trunk_link"})
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "destination"})
FOOT_FORBIDDEN = frozenset({"no", "use_sidepath", "private"})
ACCESS_FORBIDDEN = frozenset({"no", "private"})
EARTH_RADIUS_M = 6_371_008.8

Coord = tuple[float, float]


def is_walkable(tags: Mapping[str, str]) -> bool:
    """True for a way a pedestrian may use (see the module docstring)."""
    highway = tags.get("highway")
    if highway is None:
        return False
    foot = tags.get("foot")
    if foot in FOOT_FORBIDDEN:
        return False
    if highway not in WALKABLE_HIGHWAYS:
        # Trunk roads only when pedestrians are explicitly allowed; motorways never.
        return highway in TRUNK_HIGHWAYS and foot in FOOT_ALLOWED
    if tags.get("access") in ACCESS_FORBIDDEN and foot not in FOOT_ALLOWED:
        return False
    return tags.get("area") != "yes" or highway == "pedestrian"


def haversine_m(a: Coord, b: Coord) -> float:
    """Great-circle distance between two lon/lat points in metres."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class EdgeRecord:
    """One street edge row (trusted constructor: built by `split_way`).

    The polyline is kept packed (`points`: little-endian float64 lon, lat pairs), so a
    batch of edges crosses from a reader process as a few bytes objects, not a Python
    tuple per point; `coords`, `first` and `last` unpack it.
    """

    way_id: int
    seq: int
    source: int
    target: int
    length_m: float
    highway: str
    name: str | None
    points: bytes

    @property
    def coords(self) -> tuple[Coord, ...]:
        """The polyline, every node's (lon, lat)."""
        values = array("d", self.points)
        if sys.byteorder != "little":
            values.byteswap()
        pairs = iter(values)
        return tuple(zip(pairs, pairs, strict=True))

    @property
    def first(self) -> Coord:
        """The source node's (lon, lat)."""
        lon, lat = _POINT.unpack_from(self.points, 0)
        return (lon, lat)

    @property
    def last(self) -> Coord:
        """The target node's (lon, lat)."""
        lon, lat = _POINT.unpack_from(self.points, len(self.points) - _POINT.size)
        return (lon, lat)

    def __reduce__(self) -> tuple[type[EdgeRecord], tuple[object, ...]]:
        # Pickled field by field (reader processes send edges): faster to load than the
        # slotted dataclass's default state dictionary.
        return (
            EdgeRecord,
            (
                self.way_id,
                self.seq,
                self.source,
                self.target,
                self.length_m,
                self.highway,
                self.name,
                self.points,
            ),
        )


_POINT = struct.Struct("<dd")


def split_way(
    way_id: int,
    tags: Mapping[str, str],
    refs: Sequence[int],
    coords: Sequence[Coord | None],
    is_vertex: Sequence[bool],
    keep: Callable[[Sequence[Coord]], bool] | None = None,
) -> list[EdgeRecord]:
    """Split a walkable way at its vertices; pieces with a missing location are dropped.

    `seq` is the piece's position along the way (dropped pieces keep their number), so
    the same way always gives the same keys. `keep` (e.g. the geofence test) drops the
    pieces it refuses before their record is built.
    """
    edges: list[EdgeRecord] = []
    start, seq = 0, 0
    last = len(refs) - 1
    for i in range(1, len(refs)):
        if not (is_vertex[i] or i == last):
            continue
        piece = coords[start : i + 1]
        if None not in piece and (keep is None or keep(piece)):  # type: ignore[arg-type]
            edge = _edge(way_id, seq, tags, refs[start], refs[i], piece)  # type: ignore[arg-type]
            if edge is not None:
                edges.append(edge)
        start, seq = i, seq + 1
    return edges


def _edge(
    way_id: int,
    seq: int,
    tags: Mapping[str, str],
    source: int,
    target: int,
    piece: Sequence[Coord],
) -> EdgeRecord | None:
    # Coordinates are OSM's fixed 7-decimal values already (the reader's locations), so
    # they are stored as given; the haversine is inlined: this runs once per segment.
    length = 0.0
    radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
    lon1, lat1 = radians(piece[0][0]), radians(piece[0][1])
    for lon, lat in piece[1:]:
        lon2, lat2 = radians(lon), radians(lat)
        h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
        length += 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(h)))
        lon1, lat1 = lon2, lat2
    if source == target and length == 0:
        return None  # a node repeated in place: no edge to walk
    name = tags.get("name") or None
    points = array("d", [value for point in piece for value in point])
    if sys.byteorder != "little":
        points.byteswap()
    return EdgeRecord(
        way_id, seq, source, target, round(length, 3), tags["highway"], name, points.tobytes()
    )
