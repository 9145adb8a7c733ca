"""PostgreSQL adapters (asyncpg): route requests, themes, users.

asyncpg errors are translated here: a lost or refused connection is `Unavailable`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import orjson

from wildside_common.errors import Unavailable
from wildside_common.messages import RouteStatus
from wildside_gateway.domain.routes import RouteState

T = TypeVar("T")
DB_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except DB_ERRORS as exc:
        raise Unavailable("the database is unavailable") from exc


async def create_pool(url: str, size: int) -> asyncpg.Pool:
    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec(
            "jsonb",
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )

    pool = await asyncpg.create_pool(url, min_size=1, max_size=size, init=init, command_timeout=10)
    assert pool is not None
    return pool


class PostgresRouteRequests:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def recording(
        self, request_id: str, user_id: str, payload: Mapping[str, Any], cache_key: str | None
    ) -> AsyncIterator[None]:
        try:
            conn = await self.pool.acquire()
        except DB_ERRORS as exc:
            raise Unavailable("the database is unavailable") from exc
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO route_requests (id, user_id, payload, cache_key) "
                    "VALUES ($1, $2, $3, $4)",
                    request_id,
                    user_id,
                    dict(payload),
                    cache_key,
                )
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
