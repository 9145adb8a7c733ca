-- 0007.saved_routes, undone: the saved routes are dropped with their table.

CREATE INDEX IF NOT EXISTS route_requests_user_idx ON route_requests (user_id, created_at);
DROP INDEX IF EXISTS route_requests_user_created_idx;
DROP TABLE IF EXISTS saved_routes;
