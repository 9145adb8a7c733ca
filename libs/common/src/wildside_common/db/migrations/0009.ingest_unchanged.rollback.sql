-- 0009.ingest_unchanged, back: no change notes; every rerun reads its file again.

DROP TRIGGER IF EXISTS street_edges_changes ON street_edges;
DROP TRIGGER IF EXISTS street_nodes_changes ON street_nodes;
DROP TRIGGER IF EXISTS pois_changes ON pois;
DROP FUNCTION IF EXISTS note_ingest_table_change();
DROP TABLE IF EXISTS ingest_table_changes;
ALTER TABLE ingestion_runs DROP COLUMN IF EXISTS input_key;
