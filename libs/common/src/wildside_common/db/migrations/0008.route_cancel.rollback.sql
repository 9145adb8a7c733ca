-- 0008.route_cancel, back: cancelled requests become failed (with the reason), then the
-- CHECK no longer admits `cancelled`.

UPDATE route_requests SET status = 'failed', error = coalesce(error, 'cancelled')
WHERE status = 'cancelled';
ALTER TABLE route_requests
    DROP CONSTRAINT route_requests_status_check,
    ADD CONSTRAINT route_requests_status_check
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed'));
