-- depends: 0001.baseline
-- Ingest support: planar (geometry) indexes for the geofence predicates.
--
-- The ingest decides "inside the geofence" on planar lon/lat geometry (as shapely does
-- in the CLI), so its removal of what disappeared uses ST_Covers/ST_Intersects on
-- `location::geometry` / `geom::geometry`. These expression indexes let those
-- predicates use GiST instead of scanning every row.

CREATE INDEX IF NOT EXISTS pois_location_geom_gist ON pois USING gist ((location::geometry));
CREATE INDEX IF NOT EXISTS street_nodes_location_geom_gist
    ON street_nodes USING gist ((location::geometry));
CREATE INDEX IF NOT EXISTS street_edges_geom_geom_gist
    ON street_edges USING gist ((geom::geometry));
