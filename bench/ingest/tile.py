"""Tile an OSM extract N times into one real PBF: shifted coordinates, shifted ids.

    python bench/ingest/tile.py data/helsinki-centre.osm.pbf 10 /tmp/helsinki-x10.osm.pbf

Tiles sit on a grid (ceil(sqrt(N)) columns) with a 5 % gap, so they never touch; the
ids of tile k are offset by k * STRIDE (above every id in the source), so the output
stays sorted by type then id as PBF readers expect. The header carries the union bbox.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import osmium
from osmium.osm import mutable

STRIDE = 100_000_000_000  # > any OSM id today; 200 tiles stay far below 2**63


def load(path: Path) -> tuple[list, list, list, tuple[float, float, float, float]]:
    """Every node, way and relation as plain tuples, and the data's bbox."""
    nodes, ways, relations = [], [], []
    min_lon = min_lat = math.inf
    max_lon = max_lat = -math.inf
    for obj in osmium.FileProcessor(str(path)):
        tags = dict(obj.tags)
        if isinstance(obj, osmium.osm.Node):
            if not obj.location.valid():
                continue
            lon, lat = obj.location.lon, obj.location.lat
            min_lon, max_lon = min(min_lon, lon), max(max_lon, lon)
            min_lat, max_lat = min(min_lat, lat), max(max_lat, lat)
            nodes.append((obj.id, lon, lat, tags))
        elif isinstance(obj, osmium.osm.Way):
            ways.append((obj.id, [n.ref for n in obj.nodes], tags))
        elif isinstance(obj, osmium.osm.Relation):
            members = [(m.type, m.ref, m.role) for m in obj.members]
            relations.append((obj.id, members, tags))
    return nodes, ways, relations, (min_lon, min_lat, max_lon, max_lat)


def tile(source: Path, copies: int, target: Path) -> dict[str, int]:
    """Write `copies` shifted tiles of `source` to `target`; returns element counts."""
    nodes, ways, relations, (x0, y0, x1, y1) = load(source)
    columns = math.ceil(math.sqrt(copies))
    dx, dy = (x1 - x0) * 1.05, (y1 - y0) * 1.05
    offsets = [((k % columns) * dx, (k // columns) * dy) for k in range(copies)]
    rows = math.ceil(copies / columns)
    header = osmium.io.Header()
    header.add_box(
        osmium.osm.Box(
            osmium.osm.Location(x0, y0), osmium.osm.Location(x0 + columns * dx, y0 + rows * dy)
        )
    )
    header.set("generator", "wildside bench/ingest/tile.py")
    writer = osmium.SimpleWriter(str(target), header=header, overwrite=True)
    try:
        for k, (ox, oy) in enumerate(offsets):
            shift = k * STRIDE
            for osm_id, lon, lat, tags in nodes:
                writer.add_node(
                    mutable.Node(
                        id=osm_id + shift, location=(lon + ox, lat + oy), tags=tags, version=1
                    )
                )
        for k in range(copies):
            shift = k * STRIDE
            for osm_id, refs, tags in ways:
                writer.add_way(
                    mutable.Way(
                        id=osm_id + shift, nodes=[r + shift for r in refs], tags=tags, version=1
                    )
                )
        for k in range(copies):
            shift = k * STRIDE
            for osm_id, members, tags in relations:
                shifted = [(t, ref + shift, role) for t, ref, role in members]
                writer.add_relation(
                    mutable.Relation(id=osm_id + shift, members=shifted, tags=tags, version=1)
                )
    finally:
        writer.close()
    return {
        "nodes": len(nodes) * copies,
        "ways": len(ways) * copies,
        "relations": len(relations) * copies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path)
    parser.add_argument("copies", type=int)
    parser.add_argument("target", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = tile(args.source, args.copies, args.target)
    size = args.target.stat().st_size / 1e6
    print(f"{args.target}: {size:.1f} MB, {counts} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
