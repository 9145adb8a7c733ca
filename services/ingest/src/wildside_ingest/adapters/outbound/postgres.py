"""The PostgreSQL/PostGIS `IngestStore`: one connection, one transaction per run.

Atomicity: the run row is written `running` in autocommit, then every data write (COPY
into temp staging tables, upserts in batches, removals) happens inside ONE transaction,
committed together with the run's `succeeded` status. A failure rolls the transaction
back and marks the run `failed`; a dry run rolls back and marks it `dry_run`. So the
data tables are either exactly as before the run or exactly as the file says.
An advisory lock serialises concurrent ingests.

Bulk load: when the tables a run loads (`pois`, or `street_nodes` + `street_edges`) are
empty at the start, their secondary indexes and foreign keys are dropped inside the
transaction and rebuilt once before commit (see `sql.IS_EMPTY`), and the batches are
COPied straight into them (geography as WKB through the binary COPY protocol) instead of
through staging and an upsert: every row is new, a node shared by two batches is sent
once. Nothing can have vanished from an empty table, so its removal step is skipped.
The temp staging tables are created only when a run first needs them.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from wildside_common.errors import Unavailable
from wildside_common.places import postgres as places_sql
from wildside_common.places.poi import INGEST
from wildside_ingest.adapters.outbound import sql
from wildside_ingest.adapters.outbound.wire import PoiWireBatch, WireBatch, WireRows
from wildside_ingest.domain.features import FeatureBatch
from wildside_ingest.domain.geofence import Geofence
from wildside_ingest.domain.network import EdgeRecord
from wildside_ingest.domain.run import Provenance, RunCounts, TableCounts

_CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
    asyncpg.ConnectionDoesNotExistError,
)


async def connect(database_url: str, timeout: float = 10.0) -> asyncpg.Connection:
    """Open the run's connection; an unreachable database is `Unavailable`."""
    try:
        conn: asyncpg.Connection = await asyncpg.connect(
            database_url, timeout=timeout, server_settings={"application_name": "ingest-osm"}
        )
    except _CONNECTION_ERRORS as exc:
        raise Unavailable(f"database: cannot connect ({_reason(exc)})") from exc
    return conn


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# Little-endian WKB Point: `_POINT.pack(1, 1, lon, lat)` (bound once per batch's loop).
_POINT = struct.Struct("<BIdd")


def edge_wkb(edge: EdgeRecord) -> bytes:
    """The edge's polyline as little-endian WKB LineString (its packed points behind a
    header): PostGIS reads it without parsing text."""
    return _LINE_HEADER.pack(1, 2, len(edge.points) // 16) + edge.points


_LINE_HEADER = struct.Struct("<BII")

# PostgreSQL's binary COPY framing around `wire.WireRows`: signature, flags, no extension;
# the trailer is a field count of -1.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)


POI_TABLES = ("pois",)
NETWORK_TABLES = ("street_nodes", "street_edges")


@dataclass
class _Deferred:
    """What a bulk load dropped and must rebuild: index and foreign key definitions."""

    tables: set[str] = field(default_factory=set)
    rebuilt: set[str] = field(default_factory=set)
    indexes: list[tuple[str, str]] = field(default_factory=list)  # (table, definition)
    foreign_keys: list[tuple[str, str, str, str]] = field(default_factory=list)

    async def drop(self, conn: asyncpg.Connection, tables: Sequence[str]) -> bool:
        """Lock `tables`; when all are empty, drop their secondary indexes and FKs."""
        for table in tables:
            if not await conn.fetchval(sql.IS_EMPTY.format(table=table)):
                return False
        await conn.execute(sql.LOCK_TABLES.format(tables=", ".join(tables)))
        for table in tables:  # checked again under the lock: still empty
            if not await conn.fetchval(sql.IS_EMPTY.format(table=table)):
                return False
        keys = await conn.fetch(sql.FOREIGN_KEYS, list(tables))
        indexes = await conn.fetch(sql.SECONDARY_INDEXES, list(tables))
        drops = [f"ALTER TABLE {table} DROP CONSTRAINT {name}" for table, _, name, _ in keys]
        drops += [f"DROP INDEX {name}" for _, name, _ in indexes]
        if drops:  # one round trip
            await conn.execute(";\n".join(drops))
        self.foreign_keys += [(table, target, name, sql_) for table, target, name, sql_ in keys]
        self.indexes += [(table, definition) for table, _, definition in indexes]
        self.tables.update(tables)
        return True

    async def rebuild(self, conn: asyncpg.Connection, tables: Sequence[str] = ()) -> None:
        """Recreate the dropped indexes of `tables` (of every table when empty), then the
        dropped foreign keys whose two ends are complete (validated)."""
        self.rebuilt.update(tables or self.tables)
        ready = [(t, d) for t, d in self.indexes if t in self.rebuilt]
        keys = [k for k in self.foreign_keys if self._complete(k[0]) and self._complete(k[1])]
        if not (ready or keys):
            return
        await conn.execute(sql.BUILD_SETTINGS)
        for _, definition in ready:
            await conn.execute(definition)
        for table, _, name, definition in keys:
            await conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        self.indexes = [i for i in self.indexes if i not in ready]
        self.foreign_keys = [k for k in self.foreign_keys if k not in keys]

    def _complete(self, table: str) -> bool:
        return table not in self.tables or table in self.rebuilt


class PostgresIngestStore:
    """`IngestStore` over one asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._tx: Any = None
        self._batch = 0
        self._counts = RunCounts()
        self._deferred = _Deferred()
        self._bulk_pois = self._bulk_network = False
        self._staged = False  # the temp staging tables exist (created when first needed)
        self._sent_nodes: set[int] = set()  # bulk network load: node ids already COPied
        self._wire_nodes = 0  # nodes COPied as wire rows (the reader sends each once)
        self._unchanged: RunCounts | None = None  # nothing to do (see `unchanged`)
        self._snapshot = ""  # the transaction's first snapshot (sql.FORGET_CHANGES)

    async def start_run(self, provenance: Provenance, pois: bool, network: bool) -> str:
        """Record the run (`running`, autocommit), then open the data transaction.

        `pois` / `network`: which table groups the run loads (for the bulk-load check).
        """
        fence = provenance.geofence
        box = provenance.file_bounds
        corners = (box.min_lon, box.min_lat, box.max_lon, box.max_lat) if box else (None,) * 4
        try:
            run_id: str = await self.conn.fetchval(
                sql.START_RUN,
                fence.name,
                fence.wkt(),
                *corners,
                provenance.source_url,
                provenance.file_sha256,
                provenance.filters,
                provenance.input_key,
            )
            self._tx = self.conn.transaction()
            await self._tx.start()
            await self.conn.execute(sql.LOCK)
            self._snapshot = await self.conn.fetchval(sql.SNAPSHOT)
            if provenance.input_key is not None:
                same = await self.conn.fetchrow(sql.SAME_AS_LATEST, provenance.input_key)
                if same is not None:
                    self._unchanged = RunCounts.unchanged_since(same[0], json.loads(same[1]))
                    return run_id
            if pois:
                self._bulk_pois = await self._deferred.drop(self.conn, POI_TABLES)
            if network:
                self._bulk_network = await self._deferred.drop(self.conn, NETWORK_TABLES)
            if self._bulk_pois or self._bulk_network:  # WKB, sent as bytea is (in C)
                await self.conn.set_builtin_type_codec(
                    "geography",
                    schema=await self.conn.fetchval(sql.GEOGRAPHY_SCHEMA),
                    codec_name="bytea",
                )
        except asyncpg.UndefinedTableError as exc:
            raise Unavailable("database: schema missing, run the migrations first") from exc
        except _CONNECTION_ERRORS as exc:
            raise Unavailable(f"database: {_reason(exc)}") from exc
        return run_id

    def unchanged(self) -> RunCounts | None:
        """The counts of a run with nothing to do (found by `start_run`), else None."""
        return self._unchanged

    async def stage(self, batch: FeatureBatch) -> None:
        """COPY one batch into staging and upsert it: nodes, then edges, then POIs."""
        number, self._batch = self._batch, self._batch + 1
        try:
            await self._stage(number, batch)
        except _CONNECTION_ERRORS as exc:
            raise Unavailable(f"database: {_reason(exc)}") from exc

    async def _stage(self, number: int, batch: FeatureBatch) -> None:
        conn, counts = self.conn, self._counts
        if isinstance(batch, WireBatch) and not self._bulk_network:
            raise RuntimeError("wire rows come only into a bulk load (takes_wire_rows)")
        if isinstance(batch, PoiWireBatch):
            if not self._bulk_pois:
                raise RuntimeError("POI rows come only into a bulk load (takes_poi_rows)")
            await self._copy_binary("pois", batch.rows.rows, sql.POI_TABLE_COLUMNS)
            counts.pois.inserted += batch.rows.count
            counts.pois.kept += batch.rows.count
            return
        if self._bulk_network:
            await self._load_network(batch)
            if batch.network_done:  # build its indexes now, while the POIs still stream
                await self._deferred.rebuild(conn, NETWORK_TABLES)
        elif batch.nodes or batch.edges:
            await self._staging()
            if batch.nodes:
                rows = [(number, *node) for node in batch.nodes.values()]
                await conn.copy_records_to_table(
                    "stage_nodes", records=rows, columns=sql.NODE_COLUMNS
                )
                _add(counts.street_nodes, await conn.fetchrow(sql.UPSERT_NODES, number))
            if batch.edges:
                await conn.copy_records_to_table(
                    "stage_edges", records=_edge_rows(number, batch), columns=sql.EDGE_COLUMNS
                )
                _add(counts.street_edges, await conn.fetchrow(sql.UPSERT_EDGES, number))
                counts.street_edges.kept += len(batch.edges)
        if batch.pois and self._bulk_pois:
            await conn.copy_records_to_table(
                "pois", records=_poi_table_rows(batch), columns=sql.POI_TABLE_COLUMNS
            )
            counts.pois.inserted += len(batch.pois)
            counts.pois.kept += len(batch.pois)
        elif batch.pois:
            await self._staging()
            await places_sql.stage(conn, number, batch.pois)
            _add(counts.pois, await places_sql.upsert_staged(conn, number, INGEST))
            counts.pois.kept += len(batch.pois)

    async def _staging(self) -> None:
        """The temp staging tables, created once when first needed: a run that only
        bulk-loads empty tables (see the module's doc) never uses them."""
        if not self._staged:
            await self.conn.execute(sql.STAGING)
            self._staged = True

    def takes_wire_rows(self) -> bool:
        """Whether the run's network goes in as binary COPY rows (`wire.WireBatch`): a
        bulk load does (known after `start_run`). Bootstrap hands it to the C++ reader."""
        return self._bulk_network

    def takes_poi_rows(self) -> bool:
        """Whether POIs may come as binary COPY rows of `pois` (`wire.PoiWireBatch`): a
        bulk load of the POIs takes them (known after `start_run`)."""
        return self._bulk_pois

    async def _load_network(self, batch: FeatureBatch) -> None:
        """Bulk load: COPY the batch's new nodes, then its edges, into the tables."""
        if isinstance(batch, WireBatch):
            await self._load_wire(batch.rows)
        conn, counts, sent, point = self.conn, self._counts, self._sent_nodes, _POINT.pack
        nodes = [
            (node_id, point(1, 1, lon, lat))
            for node_id, lon, lat in batch.nodes.values()
            if node_id not in sent
        ]
        if nodes:
            sent.update(batch.nodes.keys())  # the same as adding the new ones
            await conn.copy_records_to_table(
                "street_nodes", records=nodes, columns=("id", "location")
            )
            counts.street_nodes.inserted += len(nodes)
        if batch.edges:
            edges = _edge_values(batch)
            await conn.copy_records_to_table(
                "street_edges", records=edges, columns=sql.EDGE_TABLE_COLUMNS
            )
            counts.street_edges.inserted += len(edges)
            counts.street_edges.kept += len(edges)

    async def _load_wire(self, wire: WireRows) -> None:
        """Bulk load of rows the reader wrote in COPY's binary format (each node once)."""
        counts = self._counts
        if wire.node_count:
            await self._copy_binary("street_nodes", wire.nodes, ("id", "location"))
            counts.street_nodes.inserted += wire.node_count
            self._wire_nodes += wire.node_count
        if wire.edge_count:
            await self._copy_binary("street_edges", wire.edges, sql.EDGE_TABLE_COLUMNS)
            counts.street_edges.inserted += wire.edge_count
            counts.street_edges.kept += wire.edge_count

    async def _copy_binary(self, table: str, rows: bytes, columns: Sequence[str]) -> None:
        """COPY rows already in the binary format, framed (a memoryview: bytes would be
        taken for a path)."""
        source = memoryview(_COPY_HEADER + rows + _COPY_TRAILER)
        await self.conn.copy_to_table(table, source=source, columns=columns, format="binary")

    async def apply(self, geofence: Geofence, pois: bool, network: bool) -> RunCounts:
        """Remove what the geofence held but the file no longer has; final counts."""
        conn, counts, fence = self.conn, self._counts, geofence.wkt()
        bulk = self._deferred.tables
        pois = pois and "pois" not in bulk  # an empty table had nothing to remove
        network = network and "street_edges" not in bulk
        try:
            await self._deferred.rebuild(conn)
            if pois or network:
                await self._staging()
                await conn.execute(sql.PREPARE_REMOVALS)
            if pois:
                counts.pois.removed = await conn.fetchval(sql.REMOVE_POIS, fence)
            if network:
                counts.street_edges.removed = await conn.fetchval(sql.REMOVE_EDGES, fence)
                counts.street_nodes.removed = await conn.fetchval(sql.REMOVE_NODES, fence)
            if self._bulk_network:
                counts.street_nodes.kept = len(self._sent_nodes) + self._wire_nodes
            elif self._staged:  # else no node was staged
                counts.street_nodes.kept = await conn.fetchval(sql.COUNT_DISTINCT_NODES)
        except _CONNECTION_ERRORS as exc:
            raise Unavailable(f"database: {_reason(exc)}") from exc
        for table in (counts.pois, counts.street_edges, counts.street_nodes):
            table.unchanged = table.kept - table.inserted - table.updated
        return counts

    async def finish(self, run_id: str, counts: RunCounts, dry_run: bool) -> str:
        """Commit with `succeeded`, or roll back and record `dry_run`."""
        payload = json.dumps(counts.as_dict(), sort_keys=True)
        try:
            if dry_run:
                await self._tx.rollback()
                self._tx = None
                await self.conn.execute(sql.FINISH_RUN, run_id, "dry_run", payload, None)
                return "dry_run"
            if self._unchanged is None:  # a full run: the tables are as its file says
                await self.conn.execute(sql.FORGET_CHANGES, self._snapshot)
            await self.conn.execute(sql.FINISH_RUN, run_id, "succeeded", payload, None)
            await self._tx.commit()
            self._tx = None
        except _CONNECTION_ERRORS as exc:
            raise Unavailable(f"database: {_reason(exc)}") from exc
        return "succeeded"

    async def fail(self, run_id: str, error: str) -> None:
        """Roll back every data write and record the failure (best effort)."""
        try:
            if self._tx is not None:
                await self._tx.rollback()
                self._tx = None
            await self.conn.execute(sql.FINISH_RUN, run_id, "failed", "{}", error[:2000])
        except (*_CONNECTION_ERRORS, asyncpg.PostgresError):
            # The connection is gone: PostgreSQL rolls the transaction back itself; the
            # run row stays `running`, which tells the operator it never finished.
            return


def _add(table: TableCounts, row: Any) -> None:
    table.inserted += row[0]
    table.updated += row[1]


def _poi_table_rows(batch: FeatureBatch) -> list[tuple[Any, ...]]:
    """Bulk load: rows of `pois` itself (`sql.POI_TABLE_COLUMNS`), location as WKB."""
    point, source = _POINT.pack, INGEST
    return [
        (
            p.element_type,
            p.osm_id,
            point(1, 1, p.lon, p.lat),
            p.name,
            p.tags_json,
            p.themes,
            p.popularity,
            source,
            p.content_hash,
        )
        for p in batch.pois
    ]


def _edge_values(batch: FeatureBatch) -> list[tuple[Any, ...]]:
    """The batch's edges as street_edges columns (way_id ... geom as WKB)."""
    return [
        (e.way_id, e.seq, e.source, e.target, e.length_m, e.highway, e.name, edge_wkb(e))
        for e in batch.edges
    ]


def _edge_rows(number: int, batch: FeatureBatch) -> list[tuple[Any, ...]]:
    """The same, staged: behind the batch number."""
    return [(number, *values) for values in _edge_values(batch)]
