"""The walking network read by the C++ reader (`wildside_ingest._native`).

The same rows and counts as the Python reader in pbf.py (`_ElementReader.way` over
`domain.network.split_way`): the same walkability rules (passed from
`domain.network`), vertices, splitting, lengths to the bit, geofence test (a polygon
geofence, and the rare piece that may cross a rectangle's edge without a vertex inside,
are asked of `Geofence.touches_line`), batches and `read.ways` (ways with `highway`).
It decodes with the GIL released, about three times faster than the Python reader, so
it runs in the calling process: its edges need no pickling.

The Python reader stays as the reference the tests compare this one with, and as the
fallback where the extension was not built (`native_available()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts
from wildside_ingest.domain.network import (
    ACCESS_FORBIDDEN,
    FOOT_ALLOWED,
    FOOT_FORBIDDEN,
    TRUNK_HIGHWAYS,
    WALKABLE_HIGHWAYS,
    EdgeRecord,
)

try:
    from wildside_ingest import _native
except ImportError:  # not built (no compiler or libosmium headers): the Python reader
    _native = None  # type: ignore[assignment]


def native_available() -> bool:
    """True when the C++ reader was built."""
    return _native is not None


def native_network(
    path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts
) -> Iterator[FeatureBatch]:
    """The walkable ways' edges and end nodes, batch by batch (`batch_size` edges or a
    few more: a way's edges stay together). Corrupt data raises RuntimeError."""
    if _native is None:
        raise RuntimeError("the C++ network reader is not built")
    fence = builder.geofence
    rect = fence.rectangle
    reader = _native.NetworkReader(
        path,
        WALKABLE_HIGHWAYS,
        TRUNK_HIGHWAYS,
        FOOT_ALLOWED,
        FOOT_FORBIDDEN,
        ACCESS_FORBIDDEN,
        None if rect is None else (rect.min_lon, rect.min_lat, rect.max_lon, rect.max_lat),
        fence.area.bounds,
        fence.touches_line,
        batch_size,
    )
    counted = 0
    while True:
        try:
            edges, nodes = reader.next_batch(EdgeRecord)
        except StopIteration:
            break
        read.ways += reader.ways_read - counted
        counted = reader.ways_read
        yield FeatureBatch(edges=cast("list[EdgeRecord]", edges), nodes=nodes)
    read.ways += reader.ways_read - counted
