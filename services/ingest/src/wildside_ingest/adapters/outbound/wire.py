"""The walking network and POIs as PostgreSQL binary COPY rows, from the C++ reader to
the store.

On a first load (empty network tables) the PostgreSQL store COPies the network straight
into its tables; the C++ reader can write those rows itself, so no Python object is made
per edge. The same for a first load of `pois` within a rectangular geofence: the tagged
nodes the C++ reader decides itself come as `pois` rows (`PoiWireBatch`). This is a
detail between two adapters, not a domain type: bootstrap wires the reader to ask the
store (`PbfFeatureSource(wire_rows=store.takes_wire_rows, poi_rows=...)`), the reader
yields a `WireBatch` / `PoiWireBatch`, the use case passes it on as the `FeatureBatch` it
is, and the store frames and COPies its rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from wildside_ingest.domain.features import FeatureBatch


@dataclass(frozen=True, slots=True)
class WireRows:
    """Edges and their end nodes in COPY's binary row format (no header, no trailer),
    with their counts; each node appears once per run. Built by the C++ reader."""

    edges: bytes
    edge_count: int
    nodes: bytes
    node_count: int


@dataclass(frozen=True, slots=True)
class PoiWireRows:
    """`pois` rows in COPY's binary format (`sql.POI_TABLE_COLUMNS`, no header, no
    trailer), with their count: the tagged nodes the C++ reader decided itself."""

    rows: bytes
    count: int


class PoiWireBatch(FeatureBatch):
    """A batch of POIs as `rows` (its lists stay empty)."""

    __slots__ = ("rows",)

    def __init__(self, rows: PoiWireRows) -> None:
        super().__init__()
        self.rows = rows

    @property
    def poi_count(self) -> int:
        """The POIs in `rows`."""
        return self.rows.count

    def __len__(self) -> int:
        return self.rows.count


class WireBatch(FeatureBatch):
    """A batch whose edges and nodes are `rows` (its lists stay empty)."""

    __slots__ = ("rows",)

    def __init__(self, rows: WireRows) -> None:
        super().__init__()
        self.rows = rows

    @property
    def edge_count(self) -> int:
        """The edges in `rows`."""
        return self.rows.edge_count

    def __len__(self) -> int:
        return self.rows.edge_count
