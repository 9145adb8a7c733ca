"""The ingest's composition root: a connected store, the PBF source, the progress display."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from wildside_ingest.adapters.inbound.progress import TerminalProgress
from wildside_ingest.adapters.outbound.pbf import PbfFeatureSource, limit_read_ahead
from wildside_ingest.adapters.outbound.postgres import PostgresIngestStore, connect
from wildside_ingest.app import IngestService


@asynccontextmanager
async def ingest_service(
    database_url: str, location_store: str, show_progress: bool
) -> AsyncIterator[IngestService]:
    """Yield a ready `IngestService`; the connection closes on exit.

    The C++ reader writes a first load's network (and the POIs it decides) as the
    store's COPY rows: the source asks the store whether it takes them (`wire.py`).
    """
    limit_read_ahead(os.environ)
    conn = await connect(database_url)
    try:
        store = PostgresIngestStore(conn)
        yield IngestService(
            source=PbfFeatureSource(
                location_store,
                wire_rows=store.takes_wire_rows,
                poi_rows=store.takes_poi_rows,
            ),
            store=store,
            progress=TerminalProgress(enabled=show_progress),
        )
    finally:
        await conn.close()
