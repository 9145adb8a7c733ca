"""PostgreSQL adapters (asyncpg): route requests, themes, users.

asyncpg errors are translated here: a lost or refused connection is `Unavailable`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from wildside_common import pg
from wildside_common.errors import Unavailable
from wildside_common.messages import RouteStatus
from wildside_common.pg import DB_ERRORS, guarded
from wildside_gateway.domain.idempotency import KeyClaimedConcurrently, StoredResponse
from wildside_gateway.domain.routes import RouteState
from wildside_gateway.ports import NewRouteRequest


async def create_pool(url: str, size: int) -> asyncpg.Pool:
    return await pg.create_pool(url, size, stateless=True)


# One statement claims the key (a new key, or one whose window has passed) and records
# the request (and, for a cache hit, its route). A key still held by another request
# records nothing: `recorded` is false. A concurrent claim of the same key waits on the
# unique index until the first transaction ends, then finds the key taken.
RECORD = """
WITH claim AS (
    INSERT INTO idempotency_keys (user_id, key, payload_sha256, request_id, response_status,
                                  response_body, expires_at)
    SELECT $2, $5, $6, $1, $7, $8, now() + $9::interval WHERE $5::uuid IS NOT NULL
    ON CONFLICT (user_id, key) DO UPDATE SET payload_sha256 = EXCLUDED.payload_sha256,
        request_id = EXCLUDED.request_id, response_status = EXCLUDED.response_status,
        response_body = EXCLUDED.response_body, created_at = now(),
        expires_at = EXCLUDED.expires_at
    WHERE idempotency_keys.expires_at <= now()
    RETURNING 1
), request AS (
    INSERT INTO route_requests (id, user_id, payload, cache_key, status, progress)
    SELECT $1, $2, $3, $4, $10, $11 WHERE $5::uuid IS NULL OR EXISTS (SELECT 1 FROM claim)
    RETURNING id, expires_at
), result AS (
    INSERT INTO route_results (request_id, route, expires_at)
    SELECT id, $12::jsonb, expires_at FROM request WHERE $12::jsonb IS NOT NULL
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM request) AS recorded, (SELECT count(*) FROM result) AS results
"""


def record_arguments(new: NewRouteRequest) -> tuple[Any, ...]:
    claim, done = new.claim, new.cached_route is not None
    return (
        new.request_id,
        new.user_id,
        dict(new.payload),
        new.cache_key,
        claim.key if claim else None,
        claim.fingerprint if claim else None,
        claim.status_code if claim else None,
        dict(claim.body) if claim else None,
        claim.ttl if claim else None,
        "succeeded" if done else "queued",
        100 if done else 0,
        dict(new.cached_route) if new.cached_route is not None else None,
    )


class PostgresRouteRequests:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def recording(self, new: NewRouteRequest) -> AsyncIterator[None]:
        try:
            conn = await self.pool.acquire()
        except DB_ERRORS as exc:
            raise Unavailable("the database is unavailable") from exc
        try:
            async with conn.transaction():
                row = await conn.fetchrow(RECORD, *record_arguments(new))
                if not row["recorded"]:
                    raise KeyClaimedConcurrently(new.claim.key if new.claim else "")
                yield
        except DB_ERRORS as exc:
            raise Unavailable("the database is unavailable") from exc
        finally:
            await self.pool.release(conn)

    async def get(self, request_id: str) -> RouteState | None:
        row = await guarded(
            lambda: self.pool.fetchrow(
                "SELECT r.id, r.user_id, r.status, r.progress, r.error, s.route "
                "FROM route_requests r LEFT JOIN route_results s ON s.request_id = r.id "
                "WHERE r.id = $1 AND r.expires_at > now()",
                request_id,
            )
        )
        if row is None:
            return None
        return RouteState(
            str(row["id"]),
            str(row["user_id"]),
            RouteStatus(row["status"]),
            int(row["progress"]),
            row["error"],
            row["route"],
        )

    async def stored_response(self, user_id: str, key: str) -> StoredResponse | None:
        row = await guarded(
            lambda: self.pool.fetchrow(
                "SELECT payload_sha256, request_id, response_status, response_body, created_at "
                "FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND expires_at > now()",
                user_id,
                key,
            )
        )
        if row is None:
            return None
        return StoredResponse(
            row["payload_sha256"],
            str(row["request_id"]),
            int(row["response_status"]),
            dict(row["response_body"]),
            row["created_at"],
        )


class PostgresMaintenance:
    """Scheduled clean-up of expired rows; one replica at a time (advisory lock)."""

    LOCK_ID = 7_310_001

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def purge_expired(self) -> dict[str, int]:
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.LOCK_ID):
                return {}
            try:
                keys = await conn.execute("DELETE FROM idempotency_keys WHERE expires_at <= now()")
                routes = await conn.execute("DELETE FROM route_requests WHERE expires_at <= now()")
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", self.LOCK_ID)
        return {
            "idempotency_keys": int(keys.split()[-1]),
            "route_requests": int(routes.split()[-1]),
        }


class PostgresThemeCatalogue:
    """Theme ids from `interest_themes`, cached for a minute."""

    def __init__(self, pool: asyncpg.Pool, ttl: float = 60.0) -> None:
        self.pool = pool
        self.ttl = ttl
        self._cached: tuple[float, frozenset[str]] | None = None

    async def theme_ids(self) -> frozenset[str]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self.ttl:
            return self._cached[1]
        rows = await guarded(lambda: self.pool.fetch("SELECT id FROM interest_themes"))
        ids = frozenset(str(row["id"]) for row in rows)
        self._cached = (now, ids)
        return ids


async def ping(pool: asyncpg.Pool) -> None:
    await pool.fetchval("SELECT 1")
