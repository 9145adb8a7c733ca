"""A run's request, its counts and its report."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from wildside_common.errors import InvalidInput
from wildside_ingest.domain.filters import FilterSet
from wildside_ingest.domain.geofence import BoundingBox, Geofence

# 5000: at 50x the Helsinki extract, 10000-row batches peaked at 153-164 MB RSS, 5000-row
# ones at 132-134 MB for ~2 % more CPU (2000: 120-127 MB, ~7 % more CPU); bench/ingest.
MIN_BATCH, MAX_BATCH, DEFAULT_BATCH = 1, 100_000, 5_000
_URL = re.compile(r"^[a-z][a-z0-9+.-]*:\S+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """What to load: the file, where (geofence, or the file's header bbox), which filters."""

    pbf_path: str
    geofence_name: str
    geofence: Geofence | None
    source_url: str
    filters: FilterSet
    batch_size: int = DEFAULT_BATCH
    dry_run: bool = False

    def __post_init__(self) -> None:
        if not self.pbf_path:
            raise InvalidInput("pbf: a file path is required")
        if not MIN_BATCH <= self.batch_size <= MAX_BATCH:
            raise InvalidInput(f"batch size: must be between {MIN_BATCH} and {MAX_BATCH}")
        if not _URL.match(self.source_url) or len(self.source_url) > 2000:
            raise InvalidInput("source url: must be a URL such as https://download.example/x.pbf")
        if self.geofence is not None and self.geofence.name != self.geofence_name:
            raise InvalidInput("geofence: name mismatch")

    def resolve_geofence(self, header_bbox: BoundingBox | None) -> Geofence:
        """The given geofence, or the file header's bounding box when none was given."""
        if self.geofence is not None:
            return self.geofence
        if header_bbox is None:
            raise InvalidInput(
                "geofence: the file has no header bounding box; pass --bbox or --geojson"
            )
        return Geofence.from_bbox(self.geofence_name, header_bbox)


@dataclass(slots=True)
class TableCounts:
    """What a run did to one table."""

    kept: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        """True when the run wrote anything to this table."""
        return bool(self.inserted or self.updated or self.removed)

    def as_dict(self) -> dict[str, int]:
        """A JSON-ready copy."""
        return {
            "kept": self.kept,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
        }

    def describe(self) -> str:
        """`kept 10 (inserted 1, updated 2, unchanged 7, removed 0)`."""
        return (
            f"kept {self.kept} (inserted {self.inserted}, updated {self.updated}, "
            f"unchanged {self.unchanged}, removed {self.removed})"
        )


@dataclass(slots=True)
class RunCounts:
    """Every count a run records in provenance."""

    read: dict[str, int] = field(default_factory=dict)
    pois: TableCounts = field(default_factory=TableCounts)
    street_edges: TableCounts = field(default_factory=TableCounts)
    street_nodes: TableCounts = field(default_factory=TableCounts)
    same_as: str = ""  # a run with the same inputs, tables untouched since: file not read

    @classmethod
    def unchanged_since(cls, run_id: str, stored: dict[str, Any]) -> RunCounts:
        """The counts of a run that found its inputs and the tables as `run_id` left
        them (`stored`: that run's counts): every kept row unchanged, nothing written."""

        def table(name: str) -> TableCounts:
            kept = int(stored.get(name, {}).get("kept", 0))
            return TableCounts(kept=kept, unchanged=kept)

        return cls(
            read=dict(stored.get("read", {})),
            pois=table("pois"),
            street_edges=table("street_edges"),
            street_nodes=table("street_nodes"),
            same_as=run_id,
        )

    @property
    def changed(self) -> bool:
        """True when any table changed."""
        return self.pois.changed or self.street_edges.changed or self.street_nodes.changed

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored in `ingestion_runs.counts`."""
        counts: dict[str, Any] = {
            "read": dict(self.read),
            "pois": self.pois.as_dict(),
            "street_edges": self.street_edges.as_dict(),
            "street_nodes": self.street_nodes.as_dict(),
        }
        if self.same_as:
            counts["same_as"] = self.same_as
        return counts


def input_key(file_sha256: str, geofence: Geofence, filters: str, recipe: str) -> str:
    """What decides a run's rows, hashed: the file, the geofence, the filters with their
    rules (`FilterSet.fingerprint`), and the recipe (the reader's code and the rules'
    files, `FeatureSource.recipe`). Two runs with the
    same key over untouched tables write the same rows."""
    parts = (file_sha256, geofence.name, geofence.wkt(), filters, recipe)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Provenance:
    """The facts a run records before it starts writing."""

    geofence: Geofence
    source_url: str
    file_sha256: str
    filters: str
    file_bounds: BoundingBox | None = None
    input_key: str | None = None  # `input_key(...)`; None: never skip the read


@dataclass(frozen=True, slots=True)
class RunReport:
    """The outcome of a run, for the summary line."""

    run_id: str
    status: str
    geofence_name: str
    file_sha256: str
    counts: RunCounts
    elapsed_s: float

    def summary(self) -> str:
        """One line: status, counts and elapsed time."""
        verdict = "changed" if self.counts.changed else "unchanged: nothing to do"
        if self.counts.same_as:
            verdict += f" (same inputs as run {self.counts.same_as}, tables untouched since)"
        read = ", ".join(f"{v} {k}" for k, v in self.counts.read.items())
        return (
            f"ingest-osm {self.status} [{self.geofence_name}] in {self.elapsed_s:.2f} s, "
            f"{verdict}; read {read}; pois {self.counts.pois.describe()}; "
            f"street_edges {self.counts.street_edges.describe()}; "
            f"street_nodes {self.counts.street_nodes.describe()}; run {self.run_id}"
        )
