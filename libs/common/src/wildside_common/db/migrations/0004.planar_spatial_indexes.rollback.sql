-- The geography GiST indexes of 0001.baseline, back.

CREATE INDEX IF NOT EXISTS pois_location_gist ON pois USING gist (location);
CREATE INDEX IF NOT EXISTS street_nodes_location_gist ON street_nodes USING gist (location);
CREATE INDEX IF NOT EXISTS street_edges_geom_gist ON street_edges USING gist (geom);
