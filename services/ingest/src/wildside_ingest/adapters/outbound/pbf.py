"""Read `.osm.pbf` extracts, handing plain values to the domain builder.

Where the C++ reader was built (`wildside_ingest._native`, services/ingest/native; the
default and what every install builds), one decode of the file gives the walking network
and the POI candidates (`pbf_native`), in the calling thread; the POI decisions on the
candidates are made in line. When the store bulk-loads the network, the reader writes it
as the store's COPY rows (`wire.WireBatch`; bootstrap tells the source when, through
`wire_rows`).

The Python reader over pyosmium (`pbf_python`) gives the same rows and counts: it is the
C++ reader's test oracle (the tests compare the two) and the path where the extension
cannot be built.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, MutableMapping
from importlib import resources
from pathlib import Path
from typing import cast

from wildside_common.errors import InvalidInput
from wildside_ingest.adapters.outbound import pbf_python
from wildside_ingest.adapters.outbound.pbf_native import (
    PoiDecider,
    header_box,
    native_available,
    open_reader,
)
from wildside_ingest.adapters.outbound.wire import PoiWireBatch, PoiWireRows, WireBatch, WireRows
from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts
from wildside_ingest.domain.geofence import BoundingBox
from wildside_ingest.domain.network import EdgeRecord

_CHUNK = 1 << 20


def _corrupt(path: str, exc: Exception) -> InvalidInput:
    return InvalidInput(f"pbf: {path}: corrupt or truncated file ({exc})", {"path": path})


# libosmium decodes ahead of its consumer into queues of 20 blocks each by default;
# Python consumes far slower than C++ decodes, so those queues fill up and hold ~150 MB
# on a 30 MB file. Two blocks keep the decoder busy and the memory flat.
READ_AHEAD = {"OSMIUM_MAX_INPUT_QUEUE_SIZE": "2", "OSMIUM_MAX_OSMDATA_QUEUE_SIZE": "2"}


def limit_read_ahead(environ: MutableMapping[str, str]) -> None:
    """Bound libosmium's read-ahead (read from the environment when a reader opens)."""
    for name, value in READ_AHEAD.items():
        environ.setdefault(name, value)


def _no_wire_rows() -> bool:
    return False


def recipe_files() -> list[tuple[str, Path]]:
    """(name, path) of every file of `_RECIPE_FILES`, sorted by name."""
    found = []
    for package, patterns in _RECIPE_FILES:
        root = Path(str(resources.files(package)))
        for pattern in patterns:
            found += [
                (f"{package}/{path.relative_to(root)}", path)
                for path in root.glob(pattern)
                if "__pycache__" not in path.parts
            ]
    return sorted(set(found))


# What decides the rows besides the file and the options (package, globs under it).
_RECIPE_FILES = (
    ("wildside_ingest", ("**/*.py", "*.so")),
    ("wildside_common", ("places/*.py", "themes.py", "data/theme_rules.json")),
)


class PbfFeatureSource:
    """The `FeatureSource` over the C++ reader, or pyosmium.

    `location_store` picks the node location cache (libosmium's map types, by name).
    `native`: the C++ reader where it was built (None), or as asked (the tests compare
    both). `wire_rows`, asked when a read starts: whether the store takes the network as
    COPY rows (bootstrap passes the PostgreSQL store's `takes_wire_rows`); `poi_rows`,
    the same for `pois` rows (`takes_poi_rows`): the tagged nodes the C++ reader then
    decides come as `wire.PoiWireBatch`.
    """

    def __init__(
        self,
        location_store: str = "flex_mem",
        native: bool | None = None,
        wire_rows: Callable[[], bool] = _no_wire_rows,
        poi_rows: Callable[[], bool] = _no_wire_rows,
    ) -> None:
        self.location_store = location_store
        self.native = native_available() if native is None else native
        self.wire_rows = wire_rows
        self.poi_rows = poi_rows

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
            corners = header_box(path) if self.native else pbf_python.header_box(path)
        except RuntimeError as exc:
            raise _corrupt(path, exc) from exc
        if corners is None:
            return None
        try:
            return BoundingBox(*corners)
        except InvalidInput:
            return None  # a degenerate header box: treat as absent

    def sha256(self, path: str) -> str:
        """The file's SHA-256 (streamed in 1 MiB chunks)."""
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def recipe(self) -> str:
        """SHA-256 of the code and data that turn a file into rows: this package's
        modules and C++ extension, and the shared POI and theme-rule code and rules
        (`_RECIPE_FILES`). Read every run (~1 MB): an upgrade or an edited rule changes
        it, so the next run reads its file again even when the file is the same."""
        digest = hashlib.sha256(b"native" if self.native else b"python")
        for name, path in recipe_files():
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def batches(
        self, path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts
    ) -> Iterator[FeatureBatch]:
        """Every pass; corrupt data anywhere raises InvalidInput."""
        if self.native:
            batches = self._native(path, builder, batch_size, read)
        else:
            batches = pbf_python.read_batches(path, builder, batch_size, read, self.location_store)
        try:
            yield from batches
        except RuntimeError as exc:  # libosmium's errors: a corrupt or truncated file
            raise _corrupt(path, exc) from exc

    def _native(
        self, path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts
    ) -> Iterator[FeatureBatch]:
        """The C++ reader (one decode: the network and the POI candidates), the POI
        decisions in line."""
        reader = open_reader(path, builder, batch_size, self.location_store, self.poi_rows())
        reader.set_wire(self.wire_rows())  # the network as the store's COPY rows
        decider = PoiDecider(builder, batch_size)
        reader.scan()  # its first pass, in a thread beside the second
        counted = (0, 0)
        while True:
            try:
                batch = reader.next_batch(EdgeRecord, WireRows)
            except StopIteration:
                break
            edges, nodes, poi_nodes, poi_ways, poi_rows, poi_row_count = batch
            read.nodes += reader.nodes_read - counted[0]
            read.ways += reader.ways_read - counted[1]
            counted = (reader.nodes_read, reader.ways_read)
            if isinstance(edges, WireRows):
                yield WireBatch(edges)
            elif edges:
                yield FeatureBatch(edges=cast("list[EdgeRecord]", edges), nodes=nodes or {})
            if poi_rows is not None:  # the nodes the reader decided (poi_rows_decided)
                yield PoiWireBatch(PoiWireRows(poi_rows, poi_row_count))
            if poi_nodes or poi_ways:
                yield from decider.candidates(poi_nodes, poi_ways)
        read.nodes += reader.nodes_read - counted[0]
        read.ways += reader.ways_read - counted[1]
        if builder.filters.network:
            yield FeatureBatch(network_done=True)  # its tables can be built
        if builder.filters.wants_pois:
            yield from decider.finish(reader.relations(), reader.member_coords())
            read.relations += decider.relations_read
