-- depends: 0005.tile_roles
-- A route request may be cancelled by its user while queued or running
-- (DELETE /api/v1/routes/{id}, or a WebSocket `cancel`): `cancelled` is a final status.
-- The CHECK is replaced in one statement, so no moment lacks it.

ALTER TABLE route_requests
    DROP CONSTRAINT route_requests_status_check,
    ADD CONSTRAINT route_requests_status_check
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));
