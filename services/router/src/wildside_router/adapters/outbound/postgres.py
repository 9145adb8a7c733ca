"""PostgreSQL route store (asyncpg). Every write is guarded by the current status, so
redelivered jobs never store two results nor move a final request: one the user
cancelled (the gateway's conditional UPDATE) included. Two writers racing for the same
open row are serialised by its row lock; the second re-reads the status and finds it
final, so exactly one final status is stored. A job whose request has no row (the
gateway's transaction rolled back after it published the job) is refused, not rebuilt:
`mark_running` raises RequestNotRecorded and stores nothing."""

from __future__ import annotations

import asyncpg

from wildside_common.messages import GenerateRouteJob, RouteStatus
from wildside_common.pg import guarded
from wildside_common.route import Route, route_to_json
from wildside_router.ports import RequestNotRecorded

NOT_FINAL = "status IN ('queued', 'running')"


class PostgresRouteStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def status_of(self, request_id: str) -> tuple[RouteStatus, str | None] | None:
        row = await guarded(
            lambda: self.pool.fetchrow(
                "SELECT status, error FROM route_requests WHERE id = $1", request_id
            )
        )
        return None if row is None else (RouteStatus(row["status"]), row["error"])

    async def mark_running(self, job: GenerateRouteJob) -> bool:
        # An INSERT ... ON CONFLICT, not a plain UPDATE: a job can arrive before the
        # gateway's transaction that inserted its row has ended; the insert waits for
        # that row (an UPDATE would not see it and miss the request). When the gateway
        # rolled back instead (its bus refused a job, its time limit ran out) nothing
        # conflicts and this inserts the row itself: that request was never recorded
        # (its walker never got its id), so the insert is rolled back and the job
        # refused (InvalidInput: the worker dead-letters it, no status is published).
        # `xmax = 0` holds for a row this statement inserted, not for one it updated.
        async def write() -> bool:
            async with self.pool.acquire() as conn, conn.transaction():
                inserted = await conn.fetchval(
                    "INSERT INTO route_requests (id, user_id, status, progress, payload, attempts) "
                    "VALUES ($1, $2, 'running', 5, '{}', 1) ON CONFLICT (id) DO UPDATE "
                    "SET status = 'running', attempts = route_requests.attempts + 1, "
                    "updated_at = now() "
                    f"WHERE route_requests.{NOT_FINAL} RETURNING (xmax = 0) AS inserted",
                    job.request_id,
                    job.user_id,
                )
                if inserted:  # raised inside the transaction: the insert is rolled back
                    raise RequestNotRecorded()
                return inserted is not None

        return await guarded(write)

    async def set_progress(self, request_id: str, progress: int) -> bool:
        row = await guarded(
            lambda: self.pool.fetchval(
                "UPDATE route_requests SET progress = greatest(progress, $2), updated_at = now() "
                "WHERE id = $1 AND status = 'running' RETURNING id",
                request_id,
                progress,
            )
        )
        return row is not None

    async def save_result(self, request_id: str, route: Route) -> bool:
        async def write() -> bool:
            async with self.pool.acquire() as conn, conn.transaction():
                moved = await conn.fetchval(
                    "UPDATE route_requests SET status = 'succeeded', progress = 100, "
                    f"updated_at = now() WHERE id = $1 AND {NOT_FINAL} RETURNING id",
                    request_id,
                )
                if moved is None:
                    return False
                await conn.execute(
                    "INSERT INTO route_results (request_id, route, expires_at) "
                    "SELECT id, $2, expires_at FROM route_requests WHERE id = $1 "
                    "ON CONFLICT (request_id) DO NOTHING",
                    request_id,
                    route_to_json(route),
                )
                return True

        return await guarded(write)

    async def mark_failed(self, request_id: str, error: str) -> bool:
        row = await guarded(
            lambda: self.pool.fetchval(
                "UPDATE route_requests SET status = 'failed', error = $2, updated_at = now() "
                f"WHERE id = $1 AND {NOT_FINAL} RETURNING id",
                request_id,
                error,
            )
        )
        return row is not None

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")
