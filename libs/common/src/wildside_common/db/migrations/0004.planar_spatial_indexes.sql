-- depends: 0003.route_tiles
-- One spatial index per geography column: the planar one on `column::geometry` (0002).
--
-- Every spatial query filters on lon/lat geometry: the ingest's removals (ST_Covers /
-- ST_Intersects on `location::geometry` / `geom::geometry`), the router's candidates (a
-- lon/lat box that surely holds the reach disc on `location::geometry`, then the exact
-- geography ST_DWithin); the router reads the network whole. The GiST indexes on the
-- geography columns themselves served none of them, and on a first load they were the
-- slowest to rebuild (geography GiST has no sorted build: ~1.3 s for 180 k street nodes,
-- ~1.7 s for 240 k edges, against 0.1-0.5 s for the planar ones).

DROP INDEX IF EXISTS pois_location_gist;
DROP INDEX IF EXISTS street_nodes_location_gist;
DROP INDEX IF EXISTS street_edges_geom_gist;
