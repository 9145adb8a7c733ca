"""The ingest use case: read the extract, stage the rows, apply them atomically, record it.

    check file -> hash -> start run (provenance) -> stream batches (worker thread)
      -> stage each batch -> apply (upsert + remove) -> commit / roll back (dry run)

Any error after the run started rolls back every write and records the run as failed.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from dataclasses import dataclass

from wildside_common.errors import DomainError
from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts
from wildside_ingest.domain.run import IngestRequest, Provenance, RunReport, input_key
from wildside_ingest.ports import FeatureSource, IngestStore, Progress

_DONE = object()
_QUEUE_DEPTH = 2  # batches in flight between the reader thread and the writer: flat memory


@dataclass
class IngestService:
    """Runs ingests with the injected source, store and progress display."""

    source: FeatureSource
    store: IngestStore
    progress: Progress

    async def run(self, request: IngestRequest) -> RunReport:
        """Ingest one file over one geofence; raises DomainError on any failure."""
        started = time.perf_counter()
        header = await asyncio.to_thread(self.source.header_bbox, request.pbf_path)
        geofence = request.resolve_geofence(header)
        digest = await asyncio.to_thread(self.source.sha256, request.pbf_path)
        filters = request.filters
        recipe = await asyncio.to_thread(self.source.recipe)
        key = input_key(digest, geofence, filters.fingerprint, recipe)
        provenance = Provenance(
            geofence, request.source_url, digest, filters.canonical, header, key
        )
        run_id = await self.store.start_run(provenance, filters.wants_pois, filters.network)
        try:
            same = self.store.unchanged()
            if same is not None:  # same inputs, tables untouched: nothing to read
                status = await self.store.finish(run_id, same, request.dry_run)
                return RunReport(
                    run_id, status, geofence.name, digest, same, time.perf_counter() - started
                )
            read = ReadCounts()
            builder = FeatureBuilder(request.filters, geofence)
            self.progress.phase("reading")
            async with aclosing(self._batches(request, builder, read)) as batches:
                async for batch in batches:
                    await self.store.stage(batch)
            self.progress.phase("applying")
            counts = await self.store.apply(geofence, filters.wants_pois, filters.network)
            counts.read = read.as_dict()
            self.progress.phase("committing")
            status = await self.store.finish(run_id, counts, request.dry_run)
        except BaseException as exc:
            await self.store.fail(run_id, _describe(exc))
            raise
        finally:
            self.progress.close()
        elapsed = time.perf_counter() - started
        return RunReport(run_id, status, geofence.name, digest, counts, elapsed)

    async def _batches(
        self, request: IngestRequest, builder: FeatureBuilder, read: ReadCounts
    ) -> AsyncGenerator[FeatureBatch, None]:
        """Batches from the reader thread; the bounded queue keeps memory flat."""
        channel: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_DEPTH)
        stop = threading.Event()
        pois = edges = 0

        def produce() -> None:
            try:
                iterator = self.source.batches(request.pbf_path, builder, request.batch_size, read)
                _drain(iterator, channel, stop)
            except BaseException as exc:  # handed to the consumer, raised there
                _offer(channel, stop, exc)
            _offer(channel, stop, _DONE)

        thread = threading.Thread(target=produce, name="ingest-reader", daemon=True)
        thread.start()
        try:
            while True:
                item = await asyncio.to_thread(channel.get)
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, FeatureBatch)
                pois, edges = pois + item.poi_count, edges + item.edge_count
                self.progress.advance(read, pois, edges)
                yield item
        finally:
            stop.set()
            await asyncio.to_thread(thread.join)


def _drain(
    iterator: Iterator[FeatureBatch], channel: queue.Queue[object], stop: threading.Event
) -> None:
    for batch in iterator:
        if not _offer(channel, stop, batch):
            return


def _offer(channel: queue.Queue[object], stop: threading.Event, item: object) -> bool:
    """Put with back-pressure; gives up when the consumer has stopped."""
    while not stop.is_set():
        try:
            channel.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return f"{exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
