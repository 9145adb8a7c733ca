"""The walking network from PostgreSQL (asyncpg), and its in-memory cache.

`PostgresNetworkSource.load` reads `street_nodes` and `street_edges` (geometry as WKB,
decoded in bulk by shapely) into the domain's compact `StreetNetwork`.
`NetworkCache.current` keeps one network in memory and compares a cheap fingerprint
(edge and node counts, the last finished ingestion run) at most every `refresh` seconds,
reloading only when it changed; a load runs its CPU part off the event loop. The gauge
`wildside_router_distance_cache_bytes` reads the network's cached distance rows, which
grow with the starts and places Dijkstra ran from until their bound (`DISTANCE_CACHE_BYTES`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg
import numpy as np
import shapely
from prometheus_client import Gauge

from wildside_common.pg import guarded
from wildside_router.domain.network import StreetNetwork
from wildside_router.ports import NetworkSource

log = logging.getLogger(__name__)
DISTANCE_CACHE = Gauge(
    "wildside_router_distance_cache_bytes",
    "Memory held by the street network's cached Dijkstra rows (bounded, LRU)",
)
FINGERPRINT = """
SELECT (SELECT count(*) FROM street_nodes) AS nodes,
       (SELECT count(*) FROM street_edges) AS edges,
       (SELECT max(finished_at) FROM ingestion_runs WHERE status = 'succeeded') AS run
"""
NODES = (
    "SELECT id, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lng FROM street_nodes"
)
EDGES = """
SELECT source, target, length_m, ST_AsBinary(geom::geometry) AS wkb
  FROM street_edges ORDER BY way_id, seq
"""


class PostgresNetworkSource:
    """`NetworkSource` over `street_nodes` / `street_edges`."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def fingerprint(self) -> str:
        """Changes whenever an ingest (or a manual edit) changes the network's size."""
        row = await guarded(lambda: self.pool.fetchrow(FINGERPRINT))
        assert row is not None
        return f"{row['nodes']}:{row['edges']}:{row['run']}"

    async def load(self) -> StreetNetwork | None:
        """The whole network; None when the tables are empty."""
        version = await self.fingerprint()
        nodes = await guarded(lambda: self.pool.fetch(NODES))
        if not nodes:
            return None
        edges = await guarded(lambda: self.pool.fetch(EDGES))
        return await asyncio.to_thread(_build, nodes, edges, version)


def _build(nodes: list[asyncpg.Record], edges: list[asyncpg.Record], version: str) -> StreetNetwork:
    ids = np.fromiter((r["id"] for r in nodes), np.int64, len(nodes))
    lat = np.fromiter((r["lat"] for r in nodes), np.float64, len(nodes))
    lng = np.fromiter((r["lng"] for r in nodes), np.float64, len(nodes))
    src = np.fromiter((r["source"] for r in edges), np.int64, len(edges))
    dst = np.fromiter((r["target"] for r in edges), np.int64, len(edges))
    length = np.fromiter((r["length_m"] for r in edges), np.float64, len(edges))
    geoms = shapely.from_wkb([bytes(r["wkb"]) for r in edges])
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    cuts = np.flatnonzero(np.diff(owner)) + 1
    lines = np.split(coords, cuts) if len(coords) else []
    return StreetNetwork.build(ids, lat, lng, (src, dst, length), lines, version)


class NetworkCache:
    """The current network, reloaded when its fingerprint changes."""

    def __init__(
        self,
        source: NetworkSource,
        refresh: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.refresh = refresh
        self.clock = clock
        self._network: StreetNetwork | None = None
        self._fingerprint: str | None = None
        self._checked = float("-inf")
        self._lock = asyncio.Lock()
        DISTANCE_CACHE.set_function(self.cached_bytes)

    def cached_bytes(self) -> float:
        """Bytes of distance rows the current network keeps (0 before one is loaded)."""
        return 0.0 if self._network is None else float(self._network.rows.nbytes)

    async def current(self) -> StreetNetwork | None:
        """The network as of at most `refresh` seconds ago."""
        async with self._lock:
            if self.clock() - self._checked < self.refresh:
                return self._network
            fingerprint = await self.source.fingerprint()
            self._checked = self.clock()
            if fingerprint != self._fingerprint:
                started = time.perf_counter()
                self._network = await self.source.load()
                self._fingerprint = fingerprint
                size = 0 if self._network is None else self._network.size
                log.info(
                    "street network loaded",
                    extra={"nodes": size, "seconds": round(time.perf_counter() - started, 3)},
                )
            return self._network
