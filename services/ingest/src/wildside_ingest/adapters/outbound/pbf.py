"""Read `.osm.pbf` extracts with pyosmium, handing plain values to the domain builder.

Two passes over the file, both streaming:

1. ways and relations only: the node references of walkable ways give the network's
   vertices (junctions and way ends, one sorted int64 array), and the multipolygon
   relations carrying a POI key give the ids of the areas worth assembling;
2. everything, with node locations cached for ways and those relations assembled into
   areas by pyosmium's area manager (which adds its own relation pass).

Python is slow per object, so C++ filters decide as much as they can before Python
sees anything: nodes need a POI key, ways a POI key or `highway`, areas must come from
a candidate relation, relations themselves are not needed. Tags are then read key by
key (only the keys the rules know) instead of copying every tag of every object.

Memory: the location cache and the vertex array grow with the file's nodes; POIs and
edges leave in batches of `batch_size`, so nothing grows with the number of POIs.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import osmium
from numpy.typing import NDArray
from osmium.osm import Area, Node, Way

from wildside_common.errors import InvalidInput
from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts
from wildside_ingest.domain.filters import FilterSet
from wildside_ingest.domain.geofence import BoundingBox
from wildside_ingest.domain.network import Coord, is_walkable

_CHUNK = 1 << 20
_COPY_ALL_BELOW = 4  # copying n tags costs about as much as looking up 6n keys
_AREA_TYPES = ("multipolygon", "boundary")
_NETWORK_KEYS = ("highway", "foot", "access", "area", "name")
_EMPTY: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
_WKB = osmium.geom.WKBFactory()


def _pbf(path: str) -> osmium.io.File:
    # Force the format: a misnamed file is still read (or refused) as PBF.
    return osmium.io.File(path, "pbf")


def _corrupt(path: str, exc: Exception) -> InvalidInput:
    return InvalidInput(f"pbf: {path}: corrupt or truncated file ({exc})", {"path": path})


@dataclass(frozen=True, slots=True)
class Scan:
    """What the first pass learns: network vertices and the relation areas to build."""

    vertices: NDArray[np.int64]
    area_ids: frozenset[int]


class PbfFeatureSource:
    """The `FeatureSource` over pyosmium; `location_store` picks the node cache."""

    def __init__(self, location_store: str = "flex_mem") -> None:
        self.location_store = location_store

    def header_bbox(self, path: str) -> BoundingBox | None:
        """The header's bbox; refuses a missing, unreadable or unparseable file."""
        if not os.path.isfile(path):
            raise InvalidInput(f"pbf: {path}: no such file", {"path": path})
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise InvalidInput(f"pbf: {path}: unreadable ({exc.strerror})", {"path": path}) from exc
        try:
            reader = osmium.io.Reader(_pbf(path), osmium.osm.NOTHING)
            try:
                box = reader.header().box()
            finally:
                reader.close()
        except RuntimeError as exc:
            raise _corrupt(path, exc) from exc
        if not box.valid():
            return None
        low, high = box.bottom_left, box.top_right
        try:
            return BoundingBox(low.lon, low.lat, high.lon, high.lat)
        except InvalidInput:
            return None  # a degenerate header box: treat as absent

    def sha256(self, path: str) -> str:
        """The file's SHA-256 (streamed in 1 MiB chunks)."""
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def batches(
        self, path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts
    ) -> Iterator[FeatureBatch]:
        """Both passes; corrupt data anywhere raises InvalidInput."""
        try:
            scan = scan_file(path, builder.filters)
            yield from self._features(path, builder, batch_size, read, scan)
        except RuntimeError as exc:
            raise _corrupt(path, exc) from exc

    def _features(
        self, path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts, scan: Scan
    ) -> Iterator[FeatureBatch]:
        reader = _ElementReader(builder, scan.vertices)
        batch = FeatureBatch()
        for obj in self._processor(path, builder.filters, scan):
            if isinstance(obj, Node):
                read.nodes += 1
                reader.node(obj, batch)
            elif isinstance(obj, Way):
                read.ways += 1
                reader.way(obj, batch)
            elif isinstance(obj, Area):
                read.relations += 1
                reader.area(obj, batch)
            if len(batch) >= batch_size:
                yield batch
                batch = FeatureBatch()
        if len(batch):
            yield batch

    def _processor(self, path: str, filters: FilterSet, scan: Scan) -> osmium.FileProcessor:
        processor = osmium.FileProcessor(_pbf(path)).with_locations(self.location_store)
        poi_keys = sorted(filters.poi_keys())
        way_keys = sorted({*poi_keys, "highway"} if filters.network else poi_keys)
        if scan.area_ids:
            processor.with_areas(osmium.filter.KeyFilter(*poi_keys))
        kinds = osmium.osm.WAY | osmium.osm.AREA
        processor.with_filter(
            osmium.filter.EntityFilter(kinds | osmium.osm.NODE if poi_keys else kinds)
        )
        if poi_keys:
            processor.with_filter(_only_for(osmium.filter.KeyFilter(*poi_keys), osmium.osm.NODE))
        if way_keys:
            processor.with_filter(_only_for(osmium.filter.KeyFilter(*way_keys), osmium.osm.WAY))
        # Areas built from closed ways are skipped: ways are placed from their own nodes.
        area_ids = sorted(scan.area_ids) or [0]
        processor.with_filter(_only_for(osmium.filter.IdFilter(area_ids), osmium.osm.AREA))
        return processor


def _only_for(filt: Any, entities: Any) -> Any:
    """Apply a filter to some entity types only; the others pass it untouched."""
    filt.enable_for(entities)
    return filt


def scan_file(path: str, filters: FilterSet) -> Scan:
    """The first pass: walkable ways' vertices and candidate multipolygon relations."""
    refs = array("q")
    areas: set[int] = set()
    poi_keys = filters.poi_keys()
    processor = osmium.FileProcessor(_pbf(path), osmium.osm.WAY | osmium.osm.RELATION)
    for obj in processor.with_filter(osmium.filter.EmptyTagFilter()):
        tags = cast("Mapping[str, str]", obj.tags)
        if isinstance(obj, Way):
            if filters.network and "highway" in tags and is_walkable(tags):
                ids = [node.ref for node in obj.nodes]
                if len(ids) >= 2:
                    refs.extend(ids)
                    refs.append(ids[0])  # way ends always split: count them twice
                    refs.append(ids[-1])
        elif tags.get("type") in _AREA_TYPES and any(key in tags for key in poi_keys):
            areas.add(2 * obj.id + 1)  # osmium's area id for a relation
    return Scan(_shared(refs), frozenset(areas))


def _shared(refs: array[int]) -> NDArray[np.int64]:
    if not refs:
        return _EMPTY
    unique, counts = np.unique(np.frombuffer(refs, dtype=np.int64), return_counts=True)
    return unique[counts > 1]


class _ElementReader:
    """Reads only the tags the rules use, then hands plain values to the builder."""

    def __init__(self, builder: FeatureBuilder, vertices: NDArray[np.int64]) -> None:
        self.builder = builder
        self.filters = builder.filters
        self.vertices = vertices
        rule_keys = {rule.key for rule in self.filters.rules.rules}
        self.keys = tuple(sorted(rule_keys | {"name", "wikidata", "wikipedia"}))
        self.way_keys = tuple(sorted(set(self.keys) | set(_NETWORK_KEYS)))

    def node(self, node: Node, batch: FeatureBatch) -> None:
        location = node.location
        tags = _tags(node, self.keys)
        if not location.valid() or self.filters.poi_themes(tags) is None:
            return
        full = tags if len(tags) == len(node.tags) else dict(node.tags)
        poi = self.builder.node_poi(node.id, full, location.lon, location.lat)
        if poi is not None:
            batch.pois.append(poi)

    def way(self, way: Way, batch: FeatureBatch) -> None:
        tags = _tags(way, self.way_keys)
        themes = self.filters.poi_themes(tags) if self.filters.wants_pois else None
        walkable = self.filters.network and is_walkable(tags)
        if themes is None and not walkable:
            return  # most ways: skip the per-node work
        refs, coords = _way_nodes(way)
        if themes is not None:
            full = tags if len(tags) == len(way.tags) else dict(way.tags)
            poi = self.builder.way_poi(way.id, full, coords, themes)
            if poi is not None:
                batch.pois.append(poi)
        if not walkable or len(coords) < 2:
            return
        for edge in self.builder.walk_edges(way.id, tags, refs, coords, self._vertex(refs)):
            batch.edges.append(edge)
            batch.nodes[edge.source] = (edge.source, *edge.coords[0])
            batch.nodes[edge.target] = (edge.target, *edge.coords[-1])

    def area(self, area: Area, batch: FeatureBatch) -> None:
        try:
            wkb = _WKB.create_multipolygon(area)
        except RuntimeError:
            return  # an area osmium could not assemble (broken rings): no point to place
        poi = self.builder.area_poi(area.orig_id(), dict(area.tags), wkb)
        if poi is not None:
            batch.pois.append(poi)

    def _vertex(self, refs: list[int]) -> list[bool]:
        vertices = self.vertices
        if not len(vertices):
            return [False] * len(refs)
        wanted = np.asarray(refs, dtype=np.int64)
        index = np.minimum(np.searchsorted(vertices, wanted), len(vertices) - 1)
        found: list[bool] = (vertices[index] == wanted).tolist()
        return found


def _getter(obj: Any) -> Callable[[str, None], str | None]:
    # pyosmium's TagList.get wraps this C++ lookup in Python; calling it directly halves
    # the cost of reading ~30 keys per element. Fall back if the internals ever move.
    try:
        return cast(
            "Callable[[str, None], str | None]", obj.tags._pyosmium_data.tags_get_value_by_key
        )
    except AttributeError:
        return cast("Callable[[str, None], str | None]", obj.tags.get)


def _tags(obj: Any, keys: tuple[str, ...]) -> dict[str, str]:
    """The element's tags among `keys` (all its tags when it has few: cheaper to copy)."""
    if len(obj.tags) <= _COPY_ALL_BELOW:
        return dict(obj.tags)
    get = _getter(obj)
    return {key: value for key in keys if (value := get(key, None)) is not None}


def _way_nodes(way: Way) -> tuple[list[int], list[Coord | None]]:
    """Node ids and locations in one walk over the node list (each access is costly)."""
    refs: list[int] = []
    coords: list[Coord | None] = []
    for node in way.nodes:
        location = node.location
        refs.append(node.ref)
        coords.append((location.lon, location.lat) if location.valid() else None)
    return refs, coords
