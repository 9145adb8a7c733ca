-- depends: 0002.ingest
-- Martin's route tiles: `get_route_tile(z, x, y, query_params)` is a Martin function
-- source (GET /tiles/get_route_tile/{z}/{x}/{y}?request_id=<uuid>). It draws one stored
-- route as a Mapbox Vector Tile with two layers:
--   route  the walked line (the result's GeoJSON geometry), with distance and duration;
--   stops  the visited points in order (start, places, end), with name and position.
-- A missing or malformed request_id, an unknown or expired route, or a tile the route
-- does not touch gives an empty tile, never an error. Who may see which route is
-- decided before Martin is reached: tiles-auth lets a user fetch only their own route
-- tiles (admins any), as GET /api/v1/routes/{id} does.

CREATE OR REPLACE FUNCTION get_route_tile(z integer, x integer, y integer, query_params json)
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    rid uuid;
    bounds geometry := ST_TileEnvelope(z, x, y);
    line_layer bytea;
    stop_layer bytea;
BEGIN
    BEGIN
        rid := (query_params ->> 'request_id')::uuid;
    EXCEPTION WHEN invalid_text_representation THEN
        RETURN ''::bytea;
    END;
    IF rid IS NULL THEN
        RETURN ''::bytea;
    END IF;

    SELECT ST_AsMVT(line, 'route', 4096, 'geom') INTO line_layer
    FROM (
        SELECT ST_AsMVTGeom(
                   ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(r.route -> 'geometry'), 4326), 3857),
                   bounds, 4096, 64, true) AS geom,
               r.request_id::text AS request_id,
               (r.route ->> 'distance_m')::float8 AS distance_m,
               (r.route ->> 'duration_minutes')::float8 AS duration_minutes,
               COALESCE((r.route ->> 'straight_line')::boolean, false) AS straight_line
        FROM route_results r
        WHERE r.request_id = rid AND r.expires_at > now()
          AND jsonb_typeof(r.route -> 'geometry') = 'object'
    ) AS line
    WHERE line.geom IS NOT NULL;

    SELECT ST_AsMVT(stop, 'stops', 4096, 'geom') INTO stop_layer
    FROM (
        SELECT ST_AsMVTGeom(
                   ST_Transform(ST_SetSRID(ST_MakePoint((p.point ->> 'lng')::float8,
                                                        (p.point ->> 'lat')::float8), 4326), 3857),
                   bounds, 4096, 64, true) AS geom,
               (p.ordinal - 1)::integer AS position,
               p.point ->> 'name' AS name
        FROM route_results r
        CROSS JOIN LATERAL jsonb_array_elements(r.route -> 'points')
            WITH ORDINALITY AS p(point, ordinal)
        WHERE r.request_id = rid AND r.expires_at > now()
          AND jsonb_typeof(r.route -> 'points') = 'array'
    ) AS stop
    WHERE stop.geom IS NOT NULL;

    RETURN COALESCE(line_layer, ''::bytea) || COALESCE(stop_layer, ''::bytea);
END
$$;

-- Martin reads a function's comment as its TileJSON.
COMMENT ON FUNCTION get_route_tile(integer, integer, integer, json) IS $json$
{
  "description": "One Wildside route (query parameter request_id): the walked line and its stops. Map data (c) OpenStreetMap contributors, ODbL.",
  "attribution": "(c) OpenStreetMap contributors, ODbL",
  "minzoom": 10,
  "maxzoom": 20,
  "vector_layers": [
    {"id": "route", "fields": {"request_id": "String", "distance_m": "Number", "duration_minutes": "Number", "straight_line": "Boolean"}},
    {"id": "stops", "fields": {"position": "Number", "name": "String"}}
  ]
}
$json$;
