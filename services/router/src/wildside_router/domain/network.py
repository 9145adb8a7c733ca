"""The walking network as a compact graph: snapping and shortest paths.

Nodes are numbered 0..n-1 (arrays of OSM ids and coordinates); edges are undirected
(one-way tags are for vehicles) and kept once per node pair, the shortest. The graph is
a symmetric CSR matrix of metres for scipy's compiled Dijkstra; a KD-tree over locally
projected coordinates (equirectangular around the network's mean latitude, metres)
snaps points to their nearest node. Each edge keeps its polyline so a path can be drawn
along the streets. Single-source distance rows are kept in a bounded LRU cache
(`DistanceRows`), so walks in the same area reuse each other's Dijkstra work; a row
from the cache is exactly the row Dijkstra would compute.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from wildside_common.errors import InvalidInput
from wildside_router.domain.geometry import EARTH_RADIUS_M

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# csgraph treats a stored zero as "no edge": zero-length edges get this length instead.
_MIN_EDGE_M = 1e-3
# Memory for cached distance rows per network (8 bytes a node a row): 64 MB is about
# 2,300 rows of the Helsinki extract's 3,569 nodes.
DISTANCE_CACHE_BYTES = 64 * 2**20


class DistanceRows:
    """LRU cache of single-source Dijkstra rows: node -> (limit, metres to every node).

    A row computed with limit L holds every distance up to L exactly (Dijkstra settles
    nodes in order of distance, so nothing beyond L changes one below it), so it serves
    any limit <= L once the distances above the limit are masked to inf, as scipy's
    `limit` does (it keeps distances <= limit; `StreetNetwork.distances` masks).
    Thread-safe: plans run in worker threads.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._rows: OrderedDict[int, tuple[float, FloatArray]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self.nbytes = 0  # the kept rows' arrays

    def get(self, node: int, limit: float) -> FloatArray | None:
        """A row of `node` reaching at least `limit` (unmasked), or None when none is kept."""
        with self._lock:
            kept = self._rows.get(node)
            if kept is None or kept[0] < limit:
                self.misses += 1
                return None
            self._rows.move_to_end(node)
            self.hits += 1
        return kept[1]

    def put(self, node: int, limit: float, row: FloatArray) -> None:
        """Keep `row` (computed with `limit`) unless a row reaching further is kept."""
        if self.capacity <= 0:
            return
        with self._lock:
            kept = self._rows.get(node)
            if kept is not None and kept[0] >= limit:
                return
            row.setflags(write=False)
            if kept is not None:
                self.nbytes -= kept[1].nbytes
            self._rows[node] = (limit, row)
            self.nbytes += row.nbytes
            self._rows.move_to_end(node)
            while len(self._rows) > self.capacity:
                self.nbytes -= self._rows.popitem(last=False)[1][1].nbytes

    def __len__(self) -> int:
        return len(self._rows)


@dataclass(frozen=True, slots=True, eq=False)
class StreetNetwork:
    """An immutable walking graph; build it with `StreetNetwork.build`."""

    node_ids: IntArray
    lat: FloatArray
    lng: FloatArray
    graph: csr_matrix  # metres, symmetric
    edge_of: csr_matrix  # 1 + index into the edge polylines, same pattern as `graph`
    line_offsets: IntArray  # edge k's points are line_points[offsets[k]:offsets[k+1]]
    line_points: FloatArray  # (m, 2) lng, lat
    tree: cKDTree
    ref_lat: float
    version: str = ""
    rows: DistanceRows = field(default_factory=lambda: DistanceRows(0), compare=False)

    @classmethod
    def build(
        cls,
        node_ids: IntArray,
        lat: FloatArray,
        lng: FloatArray,
        edges: tuple[IntArray, IntArray, FloatArray],
        lines: list[FloatArray] | None = None,
        version: str = "",
    ) -> StreetNetwork:
        """From node arrays and edges (source id, target id, metres); `lines[k]` is
        edge k's (lng, lat) polyline from source to target (default: straight)."""
        node_ids = np.asarray(node_ids, dtype=np.int64)
        lat, lng = np.asarray(lat, np.float64), np.asarray(lng, np.float64)
        if not (len(node_ids) == len(lat) == len(lng)):
            raise InvalidInput("node ids and coordinates differ in length")
        order = np.argsort(node_ids, kind="stable")
        node_ids, lat, lng = node_ids[order], lat[order], lng[order]
        src, dst = _indices(node_ids, edges[0]), _indices(node_ids, edges[1])
        length = np.maximum(np.asarray(edges[2], np.float64), _MIN_EDGE_M)
        if lines is None:
            lines = [
                np.array([[lng[s], lat[s]], [lng[t], lat[t]]])
                for s, t in zip(src, dst, strict=True)
            ]
        graph, edge_of = _csr(len(node_ids), src, dst, length)
        offsets = np.zeros(len(lines) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(line) for line in lines])
        points = np.concatenate(lines) if lines else np.zeros((0, 2))
        ref_lat = float(lat.mean()) if len(lat) else 0.0
        tree = cKDTree(_project(lat, lng, ref_lat)) if len(lat) else cKDTree(np.zeros((0, 2)))
        rows = DistanceRows(DISTANCE_CACHE_BYTES // max(1, 8 * len(node_ids)))
        return cls(node_ids, lat, lng, graph, edge_of, offsets, points, tree, ref_lat, version,
                   rows)  # fmt: skip

    @property
    def size(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    def snap_many(self, lat: FloatArray, lng: FloatArray) -> tuple[IntArray, FloatArray]:
        """`snap` for many points in one KD-tree query: (node indices, metres)."""
        if self.size == 0:
            return np.full(len(lat), -1, dtype=np.int64), np.full(len(lat), np.inf)
        if len(lat) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        distance, index = self.tree.query(_project(np.asarray(lat), np.asarray(lng), self.ref_lat))
        return np.asarray(index, dtype=np.int64), np.asarray(distance, dtype=np.float64)

    def snap(self, lat: float, lng: float) -> tuple[int, float]:
        """(nearest node index, distance in metres); (-1, inf) on an empty network."""
        if self.size == 0:
            return -1, float("inf")
        xy = _project(np.array([lat]), np.array([lng]), self.ref_lat)[0]
        distance, index = self.tree.query(xy)
        return int(index), float(distance)

    def distances(
        self, sources: list[int], limit: float, targets: list[int] | None = None
    ) -> FloatArray:
        """Metres from each source node to each of `targets` (default: every node), inf
        beyond `limit` metres; rows from the cache where it has them (`DistanceRows`)."""
        columns = np.arange(self.size) if targets is None else np.asarray(targets, np.int64)
        result = np.empty((len(sources), len(columns)))
        missing = []
        for i, node in enumerate(sources):
            row = self.rows.get(node, limit)
            if row is None:
                missing.append(i)
            else:
                result[i] = row[columns]
        if missing:
            nodes = [sources[i] for i in missing]
            computed = np.asarray(
                dijkstra(self.graph, directed=True, indices=nodes, limit=limit), np.float64
            ).reshape(len(nodes), self.size)
            result[missing] = computed[:, columns]
            for node, row in zip(nodes, computed, strict=True):
                self.rows.put(node, limit, row.copy())
        # Rows kept from a farther limit: what lies beyond this one is out of reach.
        result[result > limit] = np.inf
        return result

    def path(self, source: int, target: int, limit: float = np.inf) -> list[int]:
        """Node indices of a shortest path from `source` to `target` ([] if unreachable)."""
        if source == target:
            return [source]
        _, pred = dijkstra(
            self.graph, directed=True, indices=source, limit=limit, return_predecessors=True
        )
        if pred[target] < 0:
            return []
        nodes = [target]
        while nodes[-1] != source:
            nodes.append(int(pred[nodes[-1]]))
        return nodes[::-1]

    def polyline(self, nodes: list[int]) -> list[tuple[float, float]]:
        """(lng, lat) points along the edges of a node path, following street geometry.

        Vectorised over the path's edges (one sparse lookup for all of them): a walk's
        geometry has hundreds of edges, and per-edge numpy calls made it a fifth of a
        plan's CPU time."""
        if not nodes:
            return []
        first = (float(self.lng[nodes[0]]), float(self.lat[nodes[0]]))
        if len(nodes) == 1:
            return [first]
        a, b = np.array(nodes[:-1]), np.array(nodes[1:])
        edges = np.asarray(self.edge_of[a, b]).ravel().astype(np.int64) - 1
        begin, end = self.line_offsets[edges], self.line_offsets[edges + 1]
        # Each polyline runs source->target; walk it backwards when going the other way.
        here = np.column_stack([self.lng[a], self.lat[a]])
        filled = end > begin
        head = self.line_points[np.where(filled, begin, 0)] if len(self.line_points) else here
        tail = self.line_points[np.where(filled, end - 1, 0)] if len(self.line_points) else here
        backward = filled & (np.abs(tail - here).sum(axis=1) < np.abs(head - here).sum(axis=1))
        ranges = [
            np.arange(e - 2, s - 1, -1) if back else np.arange(s + 1, e)
            for s, e, back in zip(begin.tolist(), end.tolist(), backward.tolist(), strict=True)
        ]
        picked = self.line_points[np.concatenate(ranges)]
        return [first, *((x, y) for x, y in picked.tolist())]


def _indices(sorted_ids: IntArray, ids: IntArray) -> IntArray:
    """Positions of `ids` in `sorted_ids`; every id must be a node."""
    ids = np.asarray(ids, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    if len(ids) and (np.any(pos >= len(sorted_ids)) or np.any(sorted_ids[pos] != ids)):
        raise InvalidInput("an edge names a node that is not in the network")
    return pos.astype(np.int64)


def _csr(n: int, src: IntArray, dst: IntArray, length: FloatArray) -> tuple[csr_matrix, csr_matrix]:
    """Symmetric metres matrix keeping the shortest edge per pair, and its edge index."""
    edge = np.arange(len(src), dtype=np.int64)
    rows, cols = np.concatenate([src, dst]), np.concatenate([dst, src])
    lengths, edges = np.concatenate([length, length]), np.concatenate([edge, edge])
    keep = rows != cols  # a loop never shortens a walk
    rows, cols, lengths, edges = rows[keep], cols[keep], lengths[keep], edges[keep]
    order = np.lexsort((edges, lengths, cols, rows))
    rows, cols, lengths, edges = rows[order], cols[order], lengths[order], edges[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows, cols, lengths, edges = rows[first], cols[first], lengths[first], edges[first]
    graph = csr_matrix((lengths, (rows, cols)), shape=(n, n))
    edge_of = csr_matrix(((edges + 1).astype(np.float64), (rows, cols)), shape=(n, n))
    return graph, edge_of


def _project(lat: FloatArray, lng: FloatArray, ref_lat: float) -> FloatArray:
    """Local equirectangular metres: exact enough for nearest-node search in a city."""
    x = np.radians(lng) * EARTH_RADIUS_M * np.cos(np.radians(ref_lat))
    y = np.radians(lat) * EARTH_RADIUS_M
    return np.column_stack([x, y])
