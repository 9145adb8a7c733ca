-- depends: 0004.planar_spatial_indexes
-- Who may read what for tiles: Martin draws tiles and reads nothing else.
--
--   wildside_tiles  NOLOGIN. Owns the tile functions, which run as it (SECURITY DEFINER,
--                   fixed search_path), and may read route_results' request_id, route and
--                   expires_at: nothing more.
--   martin_ro       LOGIN, Martin's role: CONNECT, USAGE on schema public and EXECUTE on the
--                   tile functions; no privilege on any table, none by default either.
--   tiles_auth_ro   LOGIN, tiles-auth's role: SELECT on route_requests (id, user_id,
--                   expires_at), to look up whose route a tile shows.
--
-- Roles belong to the server, shared by every database on it (every scratch test database
-- too): each is created only when missing, without a password (set one where the server
-- asks for passwords: docs/operations.md). Grants belong to this database and are made here.
-- Earlier set-ups granted martin_ro SELECT on every table, now and by default: revoked.
--
-- A new tile function does as get_route_tile below: schema-qualified names, SECURITY
-- DEFINER, SET search_path = pg_catalog, public, pg_temp, OWNER TO wildside_tiles,
-- REVOKE ALL FROM PUBLIC, GRANT EXECUTE TO martin_ro, and the tables it reads granted to
-- wildside_tiles; tiles-auth's TILES_SOURCES lists it.

DO $roles$
DECLARE
    wanted constant text[] := ARRAY['wildside_tiles NOLOGIN', 'martin_ro LOGIN',
                                    'tiles_auth_ro LOGIN'];
    role_spec text;
    role_name text;
BEGIN
    FOREACH role_spec IN ARRAY wanted LOOP
        role_name := split_part(role_spec, ' ', 1);
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name);
        BEGIN
            EXECUTE format('CREATE ROLE %I %s', role_name, split_part(role_spec, ' ', 2));
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- a migration of another database on this server made it just now
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role % is missing and % may not create it', role_name, current_user
                    USING HINT = 'create it as in docs/operations.md (Database roles), then migrate again';
        END;
    END LOOP;
    -- Handing a function to wildside_tiles takes membership (a superuser has it anyway).
    IF NOT pg_catalog.pg_has_role(current_user, 'wildside_tiles', 'MEMBER') THEN
        EXECUTE format('GRANT wildside_tiles TO %I', current_user);
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO martin_ro, tiles_auth_ro',
                   current_database());
END
$roles$;

-- Whatever these roles were granted before on this schema's tables, and by default on
-- objects created later, goes.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM martin_ro, tiles_auth_ro, wildside_tiles;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM martin_ro, tiles_auth_ro, wildside_tiles;
REVOKE CREATE ON SCHEMA public FROM martin_ro, tiles_auth_ro, wildside_tiles;

DO $defaults$
DECLARE
    entry record;
BEGIN
    FOR entry IN
        SELECT d.defaclrole::regrole AS owner, n.nspname AS schema_name,
               CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                    WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' END AS kind,
               g.rolname AS grantee
        FROM pg_catalog.pg_default_acl d
        LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
        CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) AS a
        JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
        WHERE g.rolname IN ('martin_ro', 'tiles_auth_ro', 'wildside_tiles')
          AND d.defaclobjtype IN ('r', 'S', 'f', 'T')
    LOOP
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s %s REVOKE ALL ON %s FROM %I',
                       entry.owner,
                       CASE WHEN entry.schema_name IS NULL THEN ''
                            ELSE format('IN SCHEMA %I', entry.schema_name) END,
                       entry.kind, entry.grantee);
    END LOOP;
END
$defaults$;

GRANT USAGE ON SCHEMA public TO wildside_tiles, martin_ro, tiles_auth_ro;
GRANT SELECT (request_id, route, expires_at) ON public.route_results TO wildside_tiles;
GRANT SELECT (id, user_id, expires_at) ON public.route_requests TO tiles_auth_ro;

-- The body of 0003.route_tiles, its tables schema-qualified; what changes is who it runs
-- as. Its comment (Martin's TileJSON) stays: CREATE OR REPLACE keeps it.
CREATE OR REPLACE FUNCTION public.get_route_tile(z integer, x integer, y integer,
                                                 query_params json)
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
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
        FROM public.route_results r
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
        FROM public.route_results r
        CROSS JOIN LATERAL jsonb_array_elements(r.route -> 'points')
            WITH ORDINALITY AS p(point, ordinal)
        WHERE r.request_id = rid AND r.expires_at > now()
          AND jsonb_typeof(r.route -> 'points') = 'array'
    ) AS stop
    WHERE stop.geom IS NOT NULL;

    RETURN COALESCE(line_layer, ''::bytea) || COALESCE(stop_layer, ''::bytea);
END
$$;

-- A new owner needs CREATE on the function's schema (unless a superuser hands it over);
-- wildside_tiles keeps no such right afterwards.
GRANT CREATE ON SCHEMA public TO wildside_tiles;
ALTER FUNCTION public.get_route_tile(integer, integer, integer, json) OWNER TO wildside_tiles;
REVOKE CREATE ON SCHEMA public FROM wildside_tiles;
REVOKE ALL ON FUNCTION public.get_route_tile(integer, integer, integer, json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.get_route_tile(integer, integer, integer, json) TO martin_ro;
