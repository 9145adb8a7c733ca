"""The Python reader's per-element work over pyosmium objects (pbf.py's reference
reader): tags read key by key through pyosmium's C++ accessors, ways split into edges by
the domain, the multipolygons' member coordinates from the location store."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast

from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder
from wildside_ingest.domain.network import Coord, is_walkable

if TYPE_CHECKING:
    from osmium.osm import Node, Way


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
