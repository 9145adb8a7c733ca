-- depends: 0007.saved_routes 0008.route_cancel
-- A rerun of the ingest with nothing changed can skip reading the file (issue 19).
--
-- It may only when (1) the latest succeeded ingest had the same inputs: the file's
-- SHA-256, the geofence, the filters and the rules and code that turn a file into rows,
-- all hashed into `ingestion_runs.input_key` by the CLI; and (2) no statement has
-- written the ingest's tables since. (2) is kept here: every statement that writes
-- `pois`, `street_nodes` or `street_edges` (also TRUNCATE; also the enricher's) notes
-- its transaction in `ingest_table_changes` (a statement-level trigger: one row per
-- transaction, whatever the row count; no lock anyone else waits on). A full ingest
-- deletes, before it commits, the notes of its own transaction and of those committed
-- before it started (its comparison saw their writes); a note of a transaction that
-- committed during the run stays, so the next run reads the file again.

ALTER TABLE ingestion_runs ADD COLUMN input_key text;

CREATE TABLE ingest_table_changes (
    txid bigint PRIMARY KEY
);

-- SECURITY DEFINER: a role that may write pois but not this table still notes its change.
CREATE FUNCTION note_ingest_table_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO public.ingest_table_changes (txid) VALUES (txid_current())
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- Only a trigger calls it (EXECUTE is checked when a trigger is created, not when it
-- fires): no role, Martin's included, may call it, as with every function not a tile's.
REVOKE EXECUTE ON FUNCTION note_ingest_table_change() FROM PUBLIC;

CREATE TRIGGER pois_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pois
    FOR EACH STATEMENT EXECUTE FUNCTION note_ingest_table_change();
CREATE TRIGGER street_nodes_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON street_nodes FOR EACH STATEMENT EXECUTE FUNCTION note_ingest_table_change();
CREATE TRIGGER street_edges_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON street_edges FOR EACH STATEMENT EXECUTE FUNCTION note_ingest_table_change();
