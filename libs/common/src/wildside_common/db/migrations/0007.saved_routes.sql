-- depends: 0005.tile_roles
-- Walks that last: a user's saved routes, and the index of "my route requests".
--
-- Owner: gateway. A saved route is a copy of a succeeded request's route (and the request
-- that produced it), kept with no expiry: route_requests and route_results expire after
-- 24 hours, so request_id is a reference for the record, not a foreign key. Deleting the
-- user deletes their saved routes. The per-user cap (SAVED_ROUTES_MAX) is enforced by the
-- gateway in the saving transaction, which holds the user's row lock (FOR NO KEY UPDATE).
CREATE TABLE saved_routes (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id  uuid NOT NULL,
    name        text NOT NULL
                CHECK (char_length(name) BETWEEN 1 AND 100 AND name = btrim(name)),
    payload     jsonb NOT NULL,
    route       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- GET /api/v1/saved-routes: the user's, newest first, keyset by (created_at, id).
CREATE INDEX saved_routes_user_created_idx ON saved_routes (user_id, created_at DESC, id DESC);

-- GET /api/v1/routes: the user's requests, newest first, keyset by (created_at, id); this
-- index replaces route_requests_user_idx (user_id, created_at), its prefix.
CREATE INDEX route_requests_user_created_idx
    ON route_requests (user_id, created_at DESC, id DESC);
DROP INDEX IF EXISTS route_requests_user_idx;
