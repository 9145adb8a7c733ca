"""SQL of the PostgreSQL ingest store (kept apart so the adapter reads as steps)."""

from __future__ import annotations

from wildside_common.places import postgres as places_sql

# One ingest at a time; JIT compilation costs more than it saves on these statements.
LOCK = "SELECT pg_advisory_xact_lock(hashtext('wildside_ingest')); SET LOCAL jit = off"

START_RUN = """
INSERT INTO ingestion_runs
    (geofence_name, geofence, bounds, source_url, file_sha256, filters, status, input_key)
VALUES ($1, ST_Multi(ST_GeomFromText($2, 4326)),
        CASE WHEN $3::float8 IS NULL THEN NULL ELSE ST_MakeEnvelope($3, $4, $5, $6, 4326) END,
        $7, $8, $9, 'running', $10)
RETURNING id::text
"""

# Nothing to do (migration 0009): the latest succeeded run had the same inputs and no
# statement has written the tables since (no change note). Under the advisory lock, so
# no other ingest runs in between; returns that run's id and counts, or no row.
SAME_AS_LATEST = """
SELECT r.id::text, r.counts::text
FROM (SELECT id, counts, input_key FROM ingestion_runs
      WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1) r
WHERE r.input_key = $1 AND NOT EXISTS (SELECT 1 FROM ingest_table_changes)
"""
# Taken at the start of the run's transaction (after the lock).
SNAPSHOT = "SELECT txid_current_snapshot()::text"
# Before a full run commits: its own change notes and those of transactions committed
# before it started (it compared every row of the geofence after they wrote). Notes of
# transactions that committed during the run stay: the next run reads its file.
FORGET_CHANGES = """
DELETE FROM ingest_table_changes
WHERE txid = txid_current() OR txid_visible_in_snapshot(txid, $1::text::txid_snapshot)
"""

FINISH_RUN = """
UPDATE ingestion_runs
SET status = $2, finished_at = clock_timestamp(), counts = $3::jsonb, error = $4
WHERE id = $1::uuid
"""

# The POIs' staging table is the shared one (`wildside_common.places.postgres`), created
# in the same round trip as the network's.
STAGING = (
    places_sql.CREATE_STAGING
    + """
CREATE TEMP TABLE stage_edges (
    batch integer, way_id bigint, seq integer, source bigint, target bigint,
    length_m float8, highway text, name text, wkb bytea
) ON COMMIT DROP;
CREATE TEMP TABLE stage_nodes (batch integer, id bigint, lon float8, lat float8)
    ON COMMIT DROP;
CREATE INDEX ON stage_edges (batch);
CREATE INDEX ON stage_nodes (batch);
CREATE TEMP TABLE gone_nodes (id bigint) ON COMMIT DROP;
"""
)

EDGE_COLUMNS = ("batch", "way_id", "seq", "source", "target", "length_m", "highway", "name", "wkb")
NODE_COLUMNS = ("batch", "id", "lon", "lat")

# Each upsert returns (inserted, updated); rows whose content is unchanged are not touched
# (the POIs' upsert: `wildside_common.places.postgres.UPSERT_STAGED`).
UPSERT_NODES = """
WITH up AS (
    INSERT INTO street_nodes AS n (id, location)
    SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography
    FROM stage_nodes WHERE batch = $1
    ON CONFLICT (id) DO UPDATE SET location = EXCLUDED.location
    WHERE ST_AsBinary(n.location) <> ST_AsBinary(EXCLUDED.location)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
"""

UPSERT_EDGES = """
WITH up AS (
    INSERT INTO street_edges AS e
        (way_id, seq, source, target, length_m, highway, name, geom)
    SELECT way_id, seq, source, target, length_m, highway, name,
           ST_GeomFromWKB(wkb, 4326)::geography
    FROM stage_edges WHERE batch = $1
    ON CONFLICT (way_id, seq) DO UPDATE SET
        source = EXCLUDED.source, target = EXCLUDED.target, length_m = EXCLUDED.length_m,
        highway = EXCLUDED.highway, name = EXCLUDED.name, geom = EXCLUDED.geom
    WHERE (e.source, e.target, e.length_m, e.highway, e.name)
              IS DISTINCT FROM
          (EXCLUDED.source, EXCLUDED.target, EXCLUDED.length_m, EXCLUDED.highway, EXCLUDED.name)
       OR ST_AsBinary(e.geom) <> ST_AsBinary(EXCLUDED.geom)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up
"""

# The removals anti-join the geofence's rows with everything staged. Freshly loaded
# tables have no statistics yet, so the planner guesses "one row" and picks nested loops
# (quadratic); analysing the big tables inside the run costs seconds. Hash joins are
# always right here, so nested loops are switched off for the rest of the transaction.
PREPARE_REMOVALS = "ANALYZE stage_pois, stage_edges, stage_nodes; SET LOCAL enable_nestloop = off"

COUNT_DISTINCT_NODES = "SELECT count(DISTINCT id) FROM stage_nodes"

# Removal: what the geofence held from earlier ingests but this file no longer has.
REMOVE_POIS = """
WITH gone AS (
    DELETE FROM pois p
    WHERE p.source = 'osm_ingest'
      AND ST_Covers(ST_GeomFromText($1, 4326), p.location::geometry)
      AND NOT EXISTS (SELECT 1 FROM stage_pois s
                      WHERE s.element_type = p.element_type AND s.id = p.id)
    RETURNING 1
)
SELECT count(*) FROM gone
"""

REMOVE_EDGES = """
WITH gone AS (
    DELETE FROM street_edges e
    WHERE ST_Intersects(ST_GeomFromText($1, 4326), e.geom::geometry)
      AND NOT EXISTS (SELECT 1 FROM stage_edges s WHERE s.way_id = e.way_id AND s.seq = e.seq)
    RETURNING e.source, e.target
), ends AS (
    INSERT INTO gone_nodes SELECT source FROM gone UNION ALL SELECT target FROM gone
)
SELECT count(*) FROM gone
"""

# Nodes no edge uses any more: the ends of removed edges, and any node inside the
# geofence this file did not produce (e.g. a junction that stopped being one).
REMOVE_NODES = """
WITH candidates AS (
    SELECT id FROM gone_nodes
    UNION
    SELECT n.id FROM street_nodes n
    WHERE ST_Covers(ST_GeomFromText($1, 4326), n.location::geometry)
      AND NOT EXISTS (SELECT 1 FROM stage_nodes s WHERE s.id = n.id)
), gone AS (
    DELETE FROM street_nodes n USING candidates c
    WHERE n.id = c.id
      AND NOT EXISTS (SELECT 1 FROM street_edges e WHERE e.source = n.id)
      AND NOT EXISTS (SELECT 1 FROM street_edges e WHERE e.target = n.id)
    RETURNING 1
)
SELECT count(*) FROM gone
"""

# Bulk load: a table group that is empty when the run starts (a first load) is filled
# without its secondary indexes and foreign keys, which are rebuilt once at the end from
# their own catalog definitions (a GiST build over all rows costs a fraction of as many
# GiST inserts; the foreign keys are validated in one join instead of two lookups per
# edge). The exclusive lock keeps the tables empty until the check and the drop are done;
# DDL is transactional, so a failure or a dry run rolls the indexes back with the rows.
IS_EMPTY = "SELECT NOT EXISTS (SELECT 1 FROM {table})"
# The table names go in as text[] (cast to regclass[] by the server): a regclass[]
# parameter made asyncpg introspect that type first, ~10 ms of a run's start.
LOCK_TABLES = "LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE"
SECONDARY_INDEXES = """
SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY($1::text[]::regclass[]) AND NOT i.indisprimary AND NOT i.indisunique
  AND NOT i.indisexclusion
ORDER BY i.indrelid, i.indexrelid
"""
FOREIGN_KEYS = """
SELECT conrelid::regclass::text, confrelid::regclass::text, quote_ident(conname),
       pg_get_constraintdef(oid)
FROM pg_constraint
WHERE contype = 'f'
  AND (conrelid = ANY($1::text[]::regclass[]) OR confrelid = ANY($1::text[]::regclass[]))
ORDER BY conrelid, conname
"""
# More sort memory for the index builds (session-local, undone at commit).
BUILD_SETTINGS = "SET LOCAL maintenance_work_mem = '256MB'"
GEOGRAPHY_SCHEMA = (
    "SELECT typnamespace::regnamespace::text FROM pg_type WHERE typname = 'geography'"
)
POI_TABLE_COLUMNS = (
    "element_type",
    "id",
    "location",
    "name",
    "tags",
    "themes",
    "popularity",
    "source",
    "content_hash",
)
EDGE_TABLE_COLUMNS = ("way_id", "seq", "source", "target", "length_m", "highway", "name", "geom")
