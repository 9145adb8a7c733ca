-- depends: 0005.tile_roles
-- The map's own tiles: two Martin function sources besides get_route_tile, made as
-- 0005.tile_roles says (schema-qualified names, SECURITY DEFINER, fixed search_path,
-- owned by wildside_tiles, EXECUTE for martin_ro only). Each takes (z, x, y): neither
-- reads a query parameter, so tiles-auth passes them for any logged-in user.
--
--   get_poi_tile   GET /tiles/get_poi_tile/{z}/{x}/{y}: the places (`pois`), layer `pois`.
--                  From z16 every place; below it only the more popular ones (a
--                  popularity floor rising as the zoom falls) and at most 400 per tile,
--                  most popular first.
--   get_base_tile  GET /tiles/get_base_tile/{z}/{x}/{y}: the walking network the ingest
--                  stores (`street_edges`), layer `streets`, each edge with its `class`
--                  (`highway` grouped: major, minor, path, steps, service) and name;
--                  below z14 only the major and minor streets. The ingest stores no
--                  land use or water, so the base tile draws no parks or water: a map
--                  wanting them draws them from another source.
--
-- Both read geometry through the planar expression indexes (0002, 0004): `location::
-- geometry` / `geom::geometry` && the tile's lon/lat box (with the 64-unit buffer).

GRANT SELECT (element_type, id, location, name, themes, popularity) ON public.pois
    TO wildside_tiles;
GRANT SELECT (way_id, seq, geom, highway, name) ON public.street_edges TO wildside_tiles;

CREATE OR REPLACE FUNCTION public.get_poi_tile(z integer, x integer, y integer)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH bounds AS (
        SELECT ST_TileEnvelope(z, x, y) AS tile,
               ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326) AS box,
               CASE WHEN z >= 16 THEN 0.0 WHEN z = 15 THEN 0.15 WHEN z = 14 THEN 0.3
                    WHEN z = 13 THEN 0.45 ELSE 0.6 END AS floor
    ),
    picked AS (
        SELECT p.element_type, p.id, p.name, p.themes, p.popularity, p.location
        FROM public.pois p, bounds b
        WHERE p.location::geometry && b.box
          AND p.popularity >= b.floor
        ORDER BY p.popularity DESC, p.element_type, p.id
        LIMIT CASE WHEN z >= 16 THEN NULL ELSE 400 END
    )
    SELECT COALESCE(ST_AsMVT(feature, 'pois', 4096, 'geom'), ''::bytea)
    FROM (
        SELECT ST_AsMVTGeom(ST_Transform(p.location::geometry, 3857), b.tile, 4096, 64, true)
                   AS geom,
               left(p.element_type, 1) || p.id::text AS id,
               p.name,
               array_to_string(p.themes, ',') AS themes,
               round(p.popularity::numeric, 2)::float8 AS popularity
        FROM picked p, bounds b
    ) AS feature
    WHERE feature.geom IS NOT NULL
$$;

COMMENT ON FUNCTION public.get_poi_tile(integer, integer, integer) IS $json$
{
  "description": "Wildside places: every place from zoom 16, fewer and more popular ones below. Map data (c) OpenStreetMap contributors, ODbL.",
  "attribution": "(c) OpenStreetMap contributors, ODbL",
  "minzoom": 10,
  "maxzoom": 20,
  "vector_layers": [
    {"id": "pois", "fields": {"id": "String", "name": "String", "themes": "String", "popularity": "Number"}}
  ]
}
$json$;

CREATE OR REPLACE FUNCTION public.get_base_tile(z integer, x integer, y integer)
RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH bounds AS (
        SELECT ST_TileEnvelope(z, x, y) AS tile,
               ST_Transform(ST_TileEnvelope(z, x, y, margin => 64.0 / 4096), 4326) AS box
    ),
    edges AS (
        SELECT e.geom, e.name,
               CASE
                   WHEN e.highway IN ('primary', 'primary_link', 'secondary', 'secondary_link',
                                      'tertiary', 'tertiary_link', 'trunk', 'trunk_link')
                       THEN 'major'
                   WHEN e.highway IN ('residential', 'living_street', 'unclassified', 'road')
                       THEN 'minor'
                   WHEN e.highway = 'service' THEN 'service'
                   WHEN e.highway = 'steps' THEN 'steps'
                   ELSE 'path'
               END AS class
        FROM public.street_edges e, bounds b
        WHERE e.geom::geometry && b.box
    )
    SELECT COALESCE(ST_AsMVT(feature, 'streets', 4096, 'geom'), ''::bytea)
    FROM (
        SELECT ST_AsMVTGeom(ST_Transform(e.geom::geometry, 3857), b.tile, 4096, 64, true)
                   AS geom,
               e.class, e.name
        FROM edges e, bounds b
        WHERE z >= 14 OR e.class IN ('major', 'minor')
    ) AS feature
    WHERE feature.geom IS NOT NULL
$$;

COMMENT ON FUNCTION public.get_base_tile(integer, integer, integer) IS $json$
{
  "description": "Wildside base map: the walking network by class (major, minor, service, path, steps; below zoom 14 major and minor only). No parks or water: the ingest stores none. Map data (c) OpenStreetMap contributors, ODbL.",
  "attribution": "(c) OpenStreetMap contributors, ODbL",
  "minzoom": 10,
  "maxzoom": 20,
  "vector_layers": [
    {"id": "streets", "fields": {"class": "String", "name": "String"}}
  ]
}
$json$;

-- A new owner needs CREATE on the function's schema (unless a superuser hands it over);
-- wildside_tiles keeps no such right afterwards.
GRANT CREATE ON SCHEMA public TO wildside_tiles;
ALTER FUNCTION public.get_poi_tile(integer, integer, integer) OWNER TO wildside_tiles;
ALTER FUNCTION public.get_base_tile(integer, integer, integer) OWNER TO wildside_tiles;
REVOKE CREATE ON SCHEMA public FROM wildside_tiles;
REVOKE ALL ON FUNCTION public.get_poi_tile(integer, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.get_base_tile(integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.get_poi_tile(integer, integer, integer) TO martin_ro;
GRANT EXECUTE ON FUNCTION public.get_base_tile(integer, integer, integer) TO martin_ro;
