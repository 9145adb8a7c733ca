"""The light passes over a PBF: candidate multipolygons and the network's vertices.

Both read one entity type behind a C++ key filter, so Python sees few objects.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from wildside_ingest.domain.filters import FilterSet
from wildside_ingest.domain.network import is_walkable

if TYPE_CHECKING:
    import osmium

# pyosmium and numpy are imported where these passes run (the Python reader): with the
# C++ reader a run never does.


def pbf_file(path: str) -> osmium.io.File:
    """The file, read as PBF whatever its name (a misnamed file is still read or refused)."""
    import osmium

    return osmium.io.File(path, "pbf")


@dataclass(frozen=True, slots=True)
class Multipolygon:
    """A candidate multipolygon relation: its tags and (way id, role) members."""

    osm_id: int
    tags: dict[str, str]
    members: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Scan:
    """What the light passes learn before the main pass."""

    vertices: frozenset[int]
    multipolygons: tuple[Multipolygon, ...]

    @property
    def member_ways(self) -> frozenset[int]:
        """Ids of the candidate multipolygons' member ways."""
        return frozenset(way_id for mp in self.multipolygons for way_id, _ in mp.members)


def scan_file(path: str, filters: FilterSet) -> Scan:
    """The light passes: candidate multipolygons and network vertices, as filtered."""
    relations = _multipolygons(path, filters) if filters.wants_pois else ()
    vertices = _network_vertices(path) if filters.network else frozenset()
    return Scan(vertices, relations)


def _multipolygons(path: str, filters: FilterSet) -> tuple[Multipolygon, ...]:
    import osmium
    from osmium.osm import Relation

    found: list[Multipolygon] = []
    relations = osmium.FileProcessor(pbf_file(path), osmium.osm.RELATION)
    for relation in relations.with_filter(osmium.filter.KeyFilter(*sorted(filters.poi_keys()))):
        if not isinstance(relation, Relation) or relation.tags.get("type") != "multipolygon":
            continue
        tags = dict(relation.tags)
        if filters.poi_themes(tags) is None:
            continue
        members = tuple((m.ref, m.role) for m in relation.members if m.type == "w")
        found.append(Multipolygon(relation.id, tags, members))
    return tuple(found)


def _network_vertices(path: str) -> frozenset[int]:
    """Node ids used twice or more by walkable ways (way ends count twice)."""
    import osmium
    from osmium.osm import Way

    refs = array("q")
    ways = osmium.FileProcessor(pbf_file(path), osmium.osm.WAY)
    for way in ways.with_filter(osmium.filter.KeyFilter("highway")):
        data = getattr(way, "_pyosmium_data", None)
        if data is None:  # pyosmium's internals moved: the public API
            if isinstance(way, Way) and is_walkable(cast("Mapping[str, str]", way.tags)):
                _add_refs(refs, [node.ref for node in way.nodes])
            continue
        get = data.tags_get_value_by_key
        tags = {key: value for key in _WALK_KEYS if (value := get(key, None)) is not None}
        if is_walkable(tags):
            nodes = data.nodes()
            node = nodes.get
            _add_refs(refs, [node(data, i).ref for i in range(nodes.size(data))])
    return _shared(refs)


_WALK_KEYS = ("highway", "foot", "access", "area")


def _add_refs(refs: array[int], ids: list[int]) -> None:
    if len(ids) >= 2:
        refs.extend(ids)
        refs.append(ids[0])  # way ends always split: count them twice
        refs.append(ids[-1])


def _shared(refs: array[int]) -> frozenset[int]:
    """Ids seen twice or more (numpy: one sort instead of a dict of counters)."""
    import numpy as np

    if not refs:
        return frozenset()
    unique, counts = np.unique(np.frombuffer(refs, dtype=np.int64), return_counts=True)
    return frozenset(unique[counts > 1].tolist())
