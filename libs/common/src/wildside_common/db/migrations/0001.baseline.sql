-- Wildside baseline schema (PostgreSQL 15 + PostGIS 3).
-- depends:
--
-- Each table's owner (the service that writes it) and its readers are noted above it,
-- as in docs/data-ownership.md (a test checks that page against the services' SQL).
-- These comments were added after this migration was first applied: yoyo knows an
-- applied migration by its id, not its text, and comments change no schema.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS citext;

-- Users and sessions -------------------------------------------------------
-- Owner: gateway (wildside-manage writes accounts; the API reads them to log in).
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username        citext NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 128),
    password_hash   text NOT NULL,
    role            text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination orders users by (created_at, id).
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

-- Owner: this migration (the seed below); read by the gateway.
CREATE TABLE interest_themes (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_-]{0,39}$'),
    name        text NOT NULL,
    description text NOT NULL,
    position    integer NOT NULL DEFAULT 0
);

INSERT INTO interest_themes (id, name, description, position) VALUES
    ('history', 'History', 'Monuments, memorials, historic sites and museums of history', 1),
    ('art', 'Art', 'Public artworks, galleries and art museums', 2),
    ('nature', 'Nature', 'Parks, gardens, viewpoints, trees and water', 3),
    ('food', 'Food', 'Cafes, restaurants, markets and bakeries', 4),
    ('architecture', 'Architecture', 'Notable buildings, churches, towers and heritage', 5),
    ('culture', 'Culture', 'Theatres, libraries, cultural centres and places of worship', 6),
    ('shopping', 'Shopping', 'Markets, shopping streets and notable shops', 7),
    ('entertainment', 'Entertainment', 'Cinemas, music venues, attractions and playgrounds', 8);

-- The revision guards the whole set of a user's interests against concurrent writers.
-- Owner: gateway (also of user_interests).
CREATE TABLE user_interest_sets (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    revision    integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_interests (
    user_id     uuid NOT NULL REFERENCES user_interest_sets (user_id) ON DELETE CASCADE,
    theme_id    text NOT NULL REFERENCES interest_themes (id),
    position    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, theme_id)
);

-- Route requests -----------------------------------------------------------
-- Owner: gateway (records, withdraws, purges); the router moves a request that is not
-- final (running, progress, succeeded, failed); tiles-auth reads id, user_id, expires_at.
CREATE TABLE route_requests (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    progress    smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error       text,
    payload     jsonb NOT NULL,
    cache_key   text,
    attempts    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    CHECK (status <> 'failed' OR error IS NOT NULL)
);
CREATE INDEX route_requests_user_idx ON route_requests (user_id, created_at);
CREATE INDEX route_requests_expires_idx ON route_requests (expires_at);

-- Owner: router (a job's route); the gateway writes a cache hit's route with its request;
-- Martin reads it through get_route_tile (0003, 0005).
CREATE TABLE route_results (
    request_id  uuid PRIMARY KEY REFERENCES route_requests (id) ON DELETE CASCADE,
    route       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL DEFAULT now() + interval '24 hours'
);
CREATE INDEX route_results_expires_idx ON route_results (expires_at);

-- Owner: gateway.
CREATE TABLE idempotency_keys (
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key             uuid NOT NULL,
    payload_sha256  text NOT NULL CHECK (payload_sha256 ~ '^[0-9a-f]{64}$'),
    request_id      uuid NOT NULL,
    response_status smallint NOT NULL,
    response_body   jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Points of interest -------------------------------------------------------
-- Owner: ingest (source 'osm_ingest': loads, updates, removes its own rows); the enricher
-- writes 'overpass' rows (inserts, updates); both through wildside_common.places.
-- Read by the router (candidates).
CREATE TABLE pois (
    element_type text NOT NULL CHECK (element_type IN ('node', 'way', 'relation')),
    id           bigint NOT NULL,
    location     geography(Point, 4326) NOT NULL,
    name         text,
    tags         jsonb NOT NULL DEFAULT '{}'::jsonb,
    themes       text[] NOT NULL DEFAULT '{}',
    popularity   real NOT NULL DEFAULT 0 CHECK (popularity >= 0),
    source       text NOT NULL CHECK (source IN ('osm_ingest', 'overpass')),
    content_hash text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (element_type, id)
);
CREATE INDEX pois_location_gist ON pois USING gist (location);
CREATE INDEX pois_tags_gin ON pois USING gin (tags jsonb_path_ops);
CREATE INDEX pois_themes_gin ON pois USING gin (themes);

-- Pedestrian street network ------------------------------------------------
-- Owner: ingest (both tables); read by the router (the walking network).
CREATE TABLE street_nodes (
    id          bigint PRIMARY KEY,
    location    geography(Point, 4326) NOT NULL
);
CREATE INDEX street_nodes_location_gist ON street_nodes USING gist (location);

CREATE TABLE street_edges (
    way_id      bigint NOT NULL,
    seq         integer NOT NULL,
    source      bigint NOT NULL REFERENCES street_nodes (id) ON DELETE CASCADE,
    target      bigint NOT NULL REFERENCES street_nodes (id) ON DELETE CASCADE,
    length_m    double precision NOT NULL CHECK (length_m >= 0),
    highway     text NOT NULL,
    name        text,
    geom        geography(LineString, 4326) NOT NULL,
    PRIMARY KEY (way_id, seq)
);
CREATE INDEX street_edges_geom_gist ON street_edges USING gist (geom);
CREATE INDEX street_edges_source_idx ON street_edges (source);
CREATE INDEX street_edges_target_idx ON street_edges (target);

-- Provenance ----------------------------------------------------------------
-- Owner: ingest (a row per run); read by the router (when to reload the network).
CREATE TABLE ingestion_runs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    geofence_name text NOT NULL,
    geofence      geometry(MultiPolygon, 4326) NOT NULL,
    bounds        geometry(Polygon, 4326),
    source_url    text NOT NULL,
    file_sha256   text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    filters       text NOT NULL,
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'failed', 'dry_run')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    counts        jsonb NOT NULL DEFAULT '{}'::jsonb,
    error         text
);
CREATE INDEX ingestion_runs_geofence_idx ON ingestion_runs (geofence_name, started_at DESC);

-- Owner: enricher (a row per job); read by the gateway (admin listing).
CREATE TABLE enrichment_provenance (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id      uuid NOT NULL UNIQUE,
    source_url  text NOT NULL,
    fetched_at  timestamptz NOT NULL,
    bbox        geometry(Polygon, 4326) NOT NULL,
    themes      text[] NOT NULL DEFAULT '{}',
    pois_added  integer NOT NULL DEFAULT 0,
    pois_updated integer NOT NULL DEFAULT 0,
    bytes       bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrichment_provenance_fetched_idx ON enrichment_provenance (fetched_at DESC, id DESC);
CREATE INDEX enrichment_provenance_bbox_gist ON enrichment_provenance USING gist (bbox);
