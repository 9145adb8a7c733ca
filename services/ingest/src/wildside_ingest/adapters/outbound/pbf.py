"""Read `.osm.pbf` extracts with pyosmium, handing plain values to the domain builder.

Two passes over the file, both streaming:

1. walkable ways only (C++ key pre-filter on `highway`): count node references to find
   the network's vertices (junctions and way ends), kept as one sorted int64 array;
2. everything, with node locations cached for ways and multipolygon relations
   assembled into areas (pyosmium's area manager, which adds its own relation pass);
   a C++ key pre-filter hands Python only elements carrying a relevant key.

Memory: the location cache and the vertex array grow with the file's nodes; POIs and
edges leave in batches of `batch_size`, so nothing grows with the number of POIs.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Iterator, Mapping
from typing import cast

import numpy as np
import osmium
from numpy.typing import NDArray
from osmium.osm import Area, Node, Relation, Way

from wildside_common.errors import InvalidInput
from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts
from wildside_ingest.domain.geofence import BoundingBox
from wildside_ingest.domain.network import Coord, is_walkable

_CHUNK = 1 << 20


def _pbf(path: str) -> osmium.io.File:
    # Force the format: a misnamed file is still read (or refused) as PBF.
    return osmium.io.File(path, "pbf")


def _corrupt(path: str, exc: Exception) -> InvalidInput:
    return InvalidInput(f"pbf: {path}: corrupt or truncated file ({exc})", {"path": path})


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
            vertices = network_vertices(path) if builder.filters.network else _EMPTY
            yield from self._features(path, builder, batch_size, read, vertices)
        except RuntimeError as exc:
            raise _corrupt(path, exc) from exc

    def _features(
        self,
        path: str,
        builder: FeatureBuilder,
        batch_size: int,
        read: ReadCounts,
        vertices: NDArray[np.int64],
    ) -> Iterator[FeatureBatch]:
        processor = osmium.FileProcessor(_pbf(path)).with_locations(self.location_store)
        keys = set(builder.filters.poi_keys())
        if keys:
            processor.with_areas(osmium.filter.KeyFilter(*sorted(keys)))
        if builder.filters.network:
            keys.add("highway")
        processor.with_filter(osmium.filter.KeyFilter(*sorted(keys)))
        batch = FeatureBatch()
        for obj in processor:
            if isinstance(obj, Node):
                read.nodes += 1
                _add_node(builder, obj, batch)
            elif isinstance(obj, Way):
                read.ways += 1
                _add_way(builder, obj, batch, vertices)
            elif isinstance(obj, Relation):
                read.relations += 1
            elif isinstance(obj, Area) and not obj.from_way():
                _add_area(builder, obj, batch)
            if len(batch) >= batch_size:
                yield batch
                batch = FeatureBatch()
        if len(batch):
            yield batch


_EMPTY: NDArray[np.int64] = np.zeros(0, dtype=np.int64)


def network_vertices(path: str) -> NDArray[np.int64]:
    """Sorted ids of nodes used twice or more by walkable ways (way ends count twice)."""
    refs = array("q")
    processor = osmium.FileProcessor(_pbf(path), osmium.osm.WAY)
    for way in processor.with_filter(osmium.filter.KeyFilter("highway")):
        if not isinstance(way, Way) or not is_walkable(cast("Mapping[str, str]", way.tags)):
            continue
        ids = [node.ref for node in way.nodes]
        if len(ids) < 2:
            continue
        refs.extend(ids)
        refs.append(ids[0])
        refs.append(ids[-1])
    if not refs:
        return _EMPTY
    unique, counts = np.unique(np.frombuffer(refs, dtype=np.int64), return_counts=True)
    return unique[counts > 1]


def _add_node(builder: FeatureBuilder, node: Node, batch: FeatureBatch) -> None:
    if not builder.filters.wants_pois:
        return
    location = node.location
    if not location.valid():
        return
    poi = builder.node_poi(node.id, dict(node.tags), location.lon, location.lat)
    if poi is not None:
        batch.pois.append(poi)


def _way_coords(way: Way) -> list[Coord | None]:
    return [(n.location.lon, n.location.lat) if n.location.valid() else None for n in way.nodes]


def _add_way(
    builder: FeatureBuilder, way: Way, batch: FeatureBatch, vertices: NDArray[np.int64]
) -> None:
    filters = builder.filters
    tags = dict(way.tags)
    themes = filters.poi_themes(tags) if filters.wants_pois else None
    walkable = filters.network and is_walkable(tags)
    if themes is None and not walkable:
        return  # most ways: skip the per-node work
    coords = _way_coords(way)
    if themes is not None:
        poi = builder.way_poi(way.id, tags, coords, themes)
        if poi is not None:
            batch.pois.append(poi)
    if not walkable or len(coords) < 2:
        return
    refs = [n.ref for n in way.nodes]
    for edge in builder.walk_edges(way.id, tags, refs, coords, _is_vertex(refs, vertices)):
        batch.edges.append(edge)
        batch.nodes[edge.source] = (edge.source, *edge.coords[0])
        batch.nodes[edge.target] = (edge.target, *edge.coords[-1])


def _is_vertex(refs: list[int], vertices: NDArray[np.int64]) -> list[bool]:
    if not len(vertices):
        return [False] * len(refs)
    wanted = np.asarray(refs, dtype=np.int64)
    index = np.minimum(np.searchsorted(vertices, wanted), len(vertices) - 1)
    found: list[bool] = (vertices[index] == wanted).tolist()
    return found


def _add_area(builder: FeatureBuilder, area: Area, batch: FeatureBatch) -> None:
    try:
        wkb = _WKB.create_multipolygon(area)
    except RuntimeError:
        return  # an area osmium could not assemble (broken rings): no point to place
    poi = builder.area_poi(area.orig_id(), dict(area.tags), wkb)
    if poi is not None:
        batch.pois.append(poi)


_WKB = osmium.geom.WKBFactory()
