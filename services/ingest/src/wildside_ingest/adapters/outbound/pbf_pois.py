"""The POIs read through the C++ candidate reader (`wildside_ingest._native.PoiReader`).

C++ decodes the file, caches node locations and skips every element no POI filter can
take (a superset test: see native/pois.cpp); Python makes every decision on the rest as
the Python reader in pbf.py does (`FilterSet.poi_themes`, `FeatureBuilder.node_poi`,
`way_poi`, `relation_poi`), so the rows and the counts are the same. The multipolygons
come from the same relation pass (`pbf_scan`); their member ways' coordinates come from
the candidate pass itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from wildside_ingest.adapters.outbound.pbf_scan import Multipolygon
from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts
from wildside_ingest.domain.filters import REFERENCE_KEYS
from wildside_ingest.domain.network import Coord
from wildside_ingest.domain.poi import PoiRecord

try:
    from wildside_ingest import _native
except ImportError:  # not built: pbf.py reads the POIs in Python
    _native = None  # type: ignore[assignment]


def native_pois(
    path: str,
    builder: FeatureBuilder,
    batch_size: int,
    read: ReadCounts,
    multipolygons: tuple[Multipolygon, ...],
    skip_highway: bool,
) -> Iterator[FeatureBatch]:
    """The POIs of the nodes and ways, then of the multipolygons, batch by batch.

    `skip_highway`: the network's reader counts the ways with `highway` (`read.ways`).
    Corrupt data raises RuntimeError.
    """
    if _native is None:
        raise RuntimeError("the C++ POI reader is not built")
    filters = builder.filters
    rules = filters.rules.rules_for(filters.themes)
    reader = _native.PoiReader(
        path,
        [(rule.key, rule.values) for rule in rules],
        sorted(filters.poi_keys()),
        filters.wiki,
        REFERENCE_KEYS,
        sorted({way_id for mp in multipolygons for way_id, _ in mp.members}),
        skip_highway,
        batch_size,
    )
    themes_of, node_poi, way_poi = filters.poi_themes, builder.node_poi, builder.way_poi
    batch, nodes_read, ways_read = FeatureBatch(), 0, 0
    while True:
        try:
            nodes, ways = reader.next_batch()
        except StopIteration:
            nodes, ways = [], []
        pois = batch.pois
        for node_id, tags, lon, lat in nodes:
            themes = themes_of(tags)
            if themes is not None and (poi := node_poi(node_id, tags, lon, lat, themes)):
                pois.append(poi)
        for way_id, tags, coords in ways:
            themes = themes_of(tags)
            if themes is not None and coords and (poi := way_poi(way_id, tags, coords, themes)):
                pois.append(poi)
        read.nodes += reader.nodes_read - nodes_read
        read.ways += reader.ways_read - ways_read
        nodes_read, ways_read = reader.nodes_read, reader.ways_read
        if not (nodes or ways):
            break
        if len(batch) >= batch_size:
            yield batch
            batch = FeatureBatch()
    members = reader.member_coords()
    for relation in multipolygons:
        read.relations += 1
        poi = relation_poi(builder, relation, members)
        if poi is not None:
            batch.pois.append(poi)
        if len(batch) >= batch_size:
            yield batch
            batch = FeatureBatch()
    if len(batch):
        yield batch


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
