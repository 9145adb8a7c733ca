"""The C++ reader (`wildside_ingest._native.OsmReader`, services/ingest/native/reader.cpp).

One decode of the file gives the walking network and the POI candidates: C++ splits the
walkable ways (the rules' values passed from `domain.network`) and skips every element
no POI filter can take (a superset test); `PoiDecider` makes every POI decision on the
candidates as the Python reader (`pbf_python`) does (`FilterSet.poi_themes`,
`FeatureBuilder.node_poi`, `way_poi`, `relation_poi`). The rows and the read counts are
the same as the Python reader's, which is their test oracle (the tests compare the two)
and the path where the extension was not built (`native_available()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from wildside_common.places.poi import INGEST, POPULARITY_WEIGHTS, PoiRecord
from wildside_ingest.adapters.outbound.pbf_scan import Multipolygon
from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder
from wildside_ingest.domain.filters import REFERENCE_KEYS
from wildside_ingest.domain.network import (
    ACCESS_FORBIDDEN,
    FOOT_ALLOWED,
    FOOT_FORBIDDEN,
    TRUNK_HIGHWAYS,
    WALKABLE_HIGHWAYS,
    Coord,
)

try:
    from wildside_ingest import _native
except ImportError:  # not built (no compiler or libosmium headers): the Python reader
    _native = None  # type: ignore[assignment]

NodeCandidate = tuple[int, dict[str, str], float, float]
WayCandidate = tuple[int, dict[str, str], list[Coord] | None]
RelationCandidate = tuple[int, dict[str, str], tuple[tuple[int, str], ...]]


def native_available() -> bool:
    """True when the C++ reader was built."""
    return _native is not None


def header_box(path: str) -> tuple[float, float, float, float] | None:
    """The header's bbox corners, or None; corrupt data raises RuntimeError."""
    if _native is None:
        raise RuntimeError("the C++ reader is not built")
    return _native.header_box(path)


def open_reader(
    path: str,
    builder: FeatureBuilder,
    batch_size: int,
    location_store: str = "flex_mem",
    poi_rows: bool = False,
) -> Any:
    """An `OsmReader` set up for the run's filters, geofence and node location store.

    `poi_rows`: the store takes `pois` rows in COPY's binary format (a first load); then,
    within a rectangular geofence, the reader decides the tagged nodes itself and writes
    their rows (`poi_rows_decided`), with the rules' values given here (one source).
    """
    if _native is None:
        raise RuntimeError("the C++ reader is not built")
    reader = _native.OsmReader(path, batch_size, location_store)
    filters, fence = builder.filters, builder.geofence
    if filters.network:
        rect = fence.rectangle
        reader.load_network(
            WALKABLE_HIGHWAYS,
            TRUNK_HIGHWAYS,
            FOOT_ALLOWED,
            FOOT_FORBIDDEN,
            ACCESS_FORBIDDEN,
            None if rect is None else (rect.min_lon, rect.min_lat, rect.max_lon, rect.max_lat),
            (
                fence.bounds.min_lon,
                fence.bounds.min_lat,
                fence.bounds.max_lon,
                fence.bounds.max_lat,
            ),
            fence.touches_line,
        )
    if filters.wants_pois:
        rules = filters.rules.rules_for(filters.themes)
        reader.load_pois(
            [(rule.key, rule.values) for rule in rules],
            sorted(filters.poi_keys()),
            filters.wiki,
            REFERENCE_KEYS,
        )
        if poi_rows_decided(builder, poi_rows):
            rect = fence.rectangle
            assert rect is not None
            reader.load_poi_rows(
                [(rule.theme, rule.key, rule.values) for rule in filters.rules.rules],
                sorted(filters.themes),
                (rect.min_lon, rect.min_lat, rect.max_lon, rect.max_lat),
                [
                    (key, None if values is None else sorted(values), weight)
                    for key, values, weight in POPULARITY_WEIGHTS
                ],
                INGEST,
            )
    return reader


def poi_rows_decided(builder: FeatureBuilder, poi_rows: bool) -> bool:
    """Whether the C++ reader decides tagged nodes and writes their `pois` rows: when the
    store takes them and the geofence is a rectangle (its test is four comparisons;
    any other shape is shapely's, in Python). Ways and multipolygons stay in Python
    (their point on surface is shapely's)."""
    return poi_rows and builder.filters.wants_pois and builder.geofence.rectangle is not None


@dataclass
class PoiDecider:
    """The POI decisions on the C++ reader's candidates, batch by batch."""

    builder: FeatureBuilder
    batch_size: int
    relations_read: int = 0
    batch: FeatureBatch = field(default_factory=FeatureBatch)

    def candidates(
        self, nodes: list[NodeCandidate], ways: list[WayCandidate]
    ) -> Iterator[FeatureBatch]:
        """The POIs among the candidates; a batch whenever `batch_size` are ready."""
        themes_of = self.builder.filters.poi_themes
        node_poi, way_poi = self.builder.node_poi, self.builder.way_poi
        pois = self.batch.pois
        for node_id, tags, lon, lat in nodes:
            themes = themes_of(tags)
            if themes is not None and (poi := node_poi(node_id, tags, lon, lat, themes)):
                pois.append(poi)
        for way_id, tags, coords in ways:
            themes = themes_of(tags)
            if themes is not None and coords and (poi := way_poi(way_id, tags, coords, themes)):
                pois.append(poi)
        if len(self.batch) >= self.batch_size:
            yield self.batch
            self.batch = FeatureBatch()

    def finish(
        self, relations: list[RelationCandidate], members: dict[int, list[Coord]]
    ) -> Iterator[FeatureBatch]:
        """The multipolygons' POIs (those `poi_themes` takes), then the last batch."""
        themes_of = self.builder.filters.poi_themes
        for osm_id, tags, parts in relations:
            if themes_of(tags) is None:
                continue
            self.relations_read += 1
            poi = relation_poi(self.builder, Multipolygon(osm_id, tags, parts), members)
            if poi is not None:
                self.batch.pois.append(poi)
            if len(self.batch) >= self.batch_size:
                yield self.batch
                self.batch = FeatureBatch()
        if len(self.batch):
            yield self.batch
            self.batch = FeatureBatch()


def relation_poi(
    builder: FeatureBuilder, relation: Multipolygon, coords: dict[int, list[Coord]]
) -> PoiRecord | None:
    """A multipolygon's POI from its member ways' coordinates (ways missing are left out)."""
    outers: list[list[Coord]] = []
    inners: list[list[Coord]] = []
    for way_id, role in relation.members:
        line = coords.get(way_id)
        if line is not None:
            (inners if role == "inner" else outers).append(line)
    return builder.relation_poi(relation.osm_id, relation.tags, outers, inners)
