"""The Python PBF reader over pyosmium: the C++ reader's test oracle and the path where
the extension cannot be built.

It gives exactly the C++ reader's rows and read counts (`test_native_reader.py` compares
the two on every test file and the Helsinki extract), with no speed asked of it: one
process, the passes below one after the other. `PbfFeatureSource` uses it when
`wildside_ingest._native` is missing (`native_available()`) or when asked
(`native=False`, the tests).

Passes (C++ key filters in pyosmium drop what no rule can use before Python sees it):

1. relations: the multipolygons whose tags pass the POI filters (tags, member ways);
2. ways with `highway`: the node references of walkable ways give the network's
   vertices (junctions and way ends), kept as a set of node ids;
3. the members of the candidate multipolygons: their node ids (ways only, no locations);
4. the main pass, every node location cached (pyosmium's location store): nodes with a
   POI key (tags and point from `GeoInterfaceFilter`, built in C++), ways with a POI key
   or `highway` (POIs, the network split at its vertices). Afterwards the members'
   coordinates come from the location store and the multipolygons are assembled
   (shapely) and placed at their point-on-surface.

Memory: the location store and the vertex set grow with the file's nodes; POIs and edges
leave in batches of `batch_size`; only the candidate multipolygons (tags, member node
ids) wait for the end. pyosmium's area manager behind an id filter was tried first:
libosmium's dense id sets took ~0.5 MB per distinct id region (540 MB on the 50x
benchmark file), so relations are assembled here instead.

pyosmium is imported where a pass needs it: with the C++ reader a run never does (about
25 ms of every start).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from wildside_ingest.adapters.outbound.pbf_native import relation_poi
from wildside_ingest.adapters.outbound.pbf_scan import pbf_file, scan_file
from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts
from wildside_ingest.domain.filters import FilterSet
from wildside_ingest.domain.network import Coord, is_walkable

if TYPE_CHECKING:
    from osmium.osm import Node, Way


def header_box(path: str) -> tuple[float, float, float, float] | None:
    """The header's bbox corners, or None; corrupt data raises RuntimeError."""
    import osmium

    reader = osmium.io.Reader(pbf_file(path), osmium.osm.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    low, high = box.bottom_left, box.top_right
    return (low.lon, low.lat, high.lon, high.lat)


def read_batches(
    path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts, location_store: str
) -> Iterator[FeatureBatch]:
    """The light passes, the main pass, the members pass, the multipolygons.

    `read.ways` counts the ways with a `highway` or POI key (those the key filter lets
    through), as the C++ reader counts them.
    """
    filters = builder.filters
    from osmium import index
    from osmium.osm import Node, Way

    scan = scan_file(path, filters)
    reader = ElementReader(builder, scan.vertices, filters.wants_pois, filters.network)
    member_refs = _member_refs(path, scan.member_ways)
    store = index.create_map(location_store)
    batch = FeatureBatch()
    for obj in _elements(path, filters, store):
        if isinstance(obj, Node):
            read.nodes += 1
            reader.node(obj, batch)
        elif isinstance(obj, Way):
            read.ways += 1
            reader.way(obj, batch)
        if len(batch) >= batch_size:
            yield batch
            batch = FeatureBatch()
    coords = member_coords(member_refs, store)
    for relation in scan.multipolygons:
        read.relations += 1
        poi = relation_poi(builder, relation, coords)
        if poi is not None:
            batch.pois.append(poi)
        if len(batch) >= batch_size:
            yield batch
            batch = FeatureBatch()
    if len(batch):
        yield batch


def _member_refs(path: str, member_ways: frozenset[int]) -> dict[int, list[int]]:
    """The node ids of the candidate multipolygons' member ways.

    A pass of its own over the ways, without locations: members are mostly untagged, so
    the main pass's key filter drops them, and an id filter in C++ (libosmium's dense id
    set) costs ~0.5 MB per distinct id region. Their coordinates come from the main
    pass's location store afterwards.
    """
    import osmium

    refs: dict[int, list[int]] = {}
    if not member_ways:
        return refs
    for way in osmium.FileProcessor(pbf_file(path), osmium.osm.WAY):
        data = raw(way)
        if data.id() in member_ways:
            refs[data.id()] = way_refs(data)
    return refs


def _elements(path: str, filters: FilterSet, store: Any) -> Iterator[Any]:
    """The main pass: every node's location cached in `store`; Python sees candidates
    only: nodes with a POI key, ways with a POI key or `highway`."""
    import osmium

    poi_keys = sorted(filters.poi_keys()) if filters.wants_pois else []
    way_keys = [*(["highway"] if filters.network else []), *poi_keys]
    chain: list[Any] = [
        osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY),
        # no POI filter: no node passes
        only_for(osmium.filter.KeyFilter(*(poi_keys or ["\x00"])), osmium.osm.NODE),
        # tags and point as plain Python values; a node whose location is not valid
        # (out of range) is dropped here, as it was when read one by one
        only_for(osmium.filter.GeoInterfaceFilter(), osmium.osm.NODE),
        only_for(osmium.filter.KeyFilter(*(way_keys or ["\x00"])), osmium.osm.WAY),
    ]
    locations = osmium.NodeLocationsForWays(store)  # referenced: C++ keeps a pointer
    locations.ignore_errors()  # ways cut by the extract: their missing nodes are skipped
    with osmium.io.Reader(pbf_file(path)) as reader:
        yield from osmium.OsmFileIterator(reader, locations, *chain)


def member_coords(refs: dict[int, list[int]], store: Any) -> dict[int, list[Coord]]:
    """Member ways' coordinates from the location store; ways missing a node are left out."""
    coords: dict[int, list[Coord]] = {}
    for way_id, nodes in refs.items():
        line: list[Coord] = []
        for node in nodes:
            try:
                location = store.get(node)
            except KeyError:
                break
            if not location.valid():
                break
            line.append((location.lon, location.lat))
        else:
            coords[way_id] = line
    return coords


def only_for(filt: Any, entities: Any) -> Any:
    """Apply a filter to some entity types only; the others pass it untouched."""
    filt.enable_for(entities)
    return filt


class ElementReader:
    """Reads only the tags the rules use, then hands plain values to the builder.

    Per element it goes through pyosmium's C++ accessors directly (`raw`): one key
    lookup costs ~0.2 us there, while building a dict of all tags costs ~2.4 us per tag
    (each tag becomes a Python tuple). All tags are copied only for the POIs kept.
    """

    def __init__(
        self, builder: FeatureBuilder, vertices: frozenset[int], pois: bool, network: bool
    ) -> None:
        self.builder = builder
        self.filters = builder.filters
        self.wants_pois = pois
        self.network = network
        self.vertices = vertices
        rule_keys = {rule.key for rule in self.filters.rules.rules}
        self.keys = tuple(sorted(rule_keys | {"name", "wikidata", "wikipedia"}))

    def node(self, node: Node, batch: FeatureBatch) -> None:
        # `__geo_interface__` (osmium.filter.GeoInterfaceFilter, see `_elements`) holds
        # every tag and the point, built in C++: ten times cheaper than reading the tags
        # one by one from Python.
        feature = cast("Any", node).__geo_interface__
        tags = feature["properties"]
        themes = self.filters.poi_themes(tags)
        if themes is None:
            return
        lon, lat = feature["geometry"]["coordinates"]
        poi = self.builder.node_poi(node.id, tags, lon, lat, themes)
        if poi is not None:
            batch.pois.append(poi)

    def way(self, way: Way, batch: FeatureBatch) -> None:
        data = raw(way)
        way_id = data.id()
        get = data.tags_get_value_by_key
        walkable = False
        net: dict[str, str] = {}
        if self.network and (highway := get("highway", None)) is not None:
            net["highway"] = highway
            for key in _NETWORK_KEYS:
                if (value := get(key, None)) is not None:
                    net[key] = value
            walkable = is_walkable(net)
        themes = None
        if self.wants_pois:
            tags = {key: value for key in self.keys if (value := get(key, None)) is not None}
            themes = self.filters.poi_themes(tags) if tags else None
        if themes is None and not walkable:
            return  # most ways: skip the per-node work
        refs, coords = _way_nodes(data)
        if themes is not None:
            full = tags if len(tags) == data.tags_size() else _all_tags(data)
            poi = self.builder.way_poi(way_id, full, coords, themes)
            if poi is not None:
                batch.pois.append(poi)
        if not walkable or len(coords) < 2:
            return
        vertices = self.vertices
        is_vertex = [ref in vertices for ref in refs]
        nodes = batch.nodes
        for edge in self.builder.walk_edges(way_id, net, refs, coords, is_vertex):
            batch.edges.append(edge)
            nodes[edge.source] = (edge.source, *edge.first)
            nodes[edge.target] = (edge.target, *edge.last)


_NETWORK_KEYS = ("foot", "access", "area", "name")


class _PublicAccess:
    """pyosmium's public object API under the C++ accessor names `raw` returns."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def id(self) -> int:
        return int(self.obj.id)

    def tags_size(self) -> int:
        return len(self.obj.tags)

    def tags_get_value_by_key(self, key: str, default: str | None) -> str | None:
        return cast("str | None", self.obj.tags.get(key, default))

    def tags_begin(self) -> Any:
        return iter(self.obj.tags)

    def tags_next(self, iterator: Any) -> Any:
        return next(iterator)

    def location(self) -> Any:
        return self.obj.location

    def nodes(self) -> Any:
        return _PublicNodes(self.obj.nodes)


class _PublicNodes:
    def __init__(self, nodes: Any) -> None:
        self.nodes = nodes

    def size(self, _: Any) -> int:
        return len(self.nodes)

    def get(self, _: Any, index: int) -> Any:
        return self.nodes[index]


def raw(obj: Any) -> Any:
    """pyosmium's C++ object behind a Python wrapper (the public API if that ever moves)."""
    try:
        return obj._pyosmium_data
    except AttributeError:
        return _PublicAccess(obj)


def _all_tags(data: Any) -> dict[str, str]:
    """Every tag of the object (`tags_next` raises StopIteration at the end)."""
    return dict(iter(partial(data.tags_next, data.tags_begin()), None))


def way_refs(data: Any) -> list[int]:
    nodes = data.nodes()
    get = nodes.get
    return [get(data, index).ref for index in range(nodes.size(data))]


def _way_nodes(data: Any) -> tuple[list[int], list[Coord | None]]:
    """Node ids and locations in one walk over the node list (each access is costly)."""
    nodes = data.nodes()
    get = nodes.get
    refs: list[int] = []
    coords: list[Coord | None] = []
    for index in range(nodes.size(data)):
        node = get(data, index)
        location = node.location
        refs.append(node.ref)
        coords.append((location.lon, location.lat) if location.valid() else None)
    return refs, coords
