"""The ingest's ports: where features come from, where they go, and who watches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts
from wildside_ingest.domain.geofence import BoundingBox, Geofence
from wildside_ingest.domain.run import Provenance, RunCounts


class FeatureSource(Protocol):
    """An OSM extract. Raises InvalidInput for a missing, unreadable or corrupt file."""

    def header_bbox(self, path: str) -> BoundingBox | None:
        """The bounding box the file's header declares, if any (also checks the file opens)."""

    def sha256(self, path: str) -> str:
        """The file's SHA-256, hex."""

    def recipe(self) -> str:
        """A hash of what, besides the file and the run's options, decides the rows this
        source yields (the reader's code and the rules it applies): a change of it makes
        the next run read the file again."""

    def batches(
        self, path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts
    ) -> Iterator[FeatureBatch]:
        """Stream the file's features through `builder`, `batch_size` rows at a time.

        Called after the store's `start_run`. Blocking and CPU-bound: the use case runs
        it in a worker thread.
        """


class IngestStore(Protocol):
    """The database side of one run: all writes land atomically or not at all."""

    async def start_run(self, provenance: Provenance, pois: bool, network: bool) -> str:
        """Record a `running` run and open the run's transaction; returns the run id.

        `pois` / `network` say which tables the run loads.
        """

    def unchanged(self) -> RunCounts | None:
        """After `start_run`: the counts to report when the latest succeeded run had the
        same `Provenance.input_key` and nothing has written the tables since (the file
        need not be read: the run writes nothing); else None."""

    async def stage(self, batch: FeatureBatch) -> None:
        """Stage one batch of rows inside the run's transaction."""

    async def apply(self, geofence: Geofence, pois: bool, network: bool) -> RunCounts:
        """Upsert the staged rows, remove what disappeared inside the geofence; count."""

    async def finish(self, run_id: str, counts: RunCounts, dry_run: bool) -> str:
        """Commit (or, for a dry run, roll back) and record the final status; returns it."""

    async def fail(self, run_id: str, error: str) -> None:
        """Roll back every write of the run and record it as failed."""


class Progress(Protocol):
    """Feedback for a person watching a long run."""

    def phase(self, name: str) -> None:
        """A new phase of the run starts (reading, applying, committing)."""

    def advance(self, read: ReadCounts, pois: int, edges: int) -> None:
        """Rows kept so far."""

    def close(self) -> None:
        """The run is over: clear the progress line."""
