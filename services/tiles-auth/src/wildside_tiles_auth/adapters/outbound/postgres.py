"""Route owners from PostgreSQL, remembered per request id: a request's owner never
changes, so each route costs one query however many tiles. The role tiles_auth_ro
(migration 0005) is enough: SELECT on route_requests' id, user_id and expires_at."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import asyncpg

from wildside_common import pg
from wildside_common.pg import guarded

REMEMBERED = 10_000


class PostgresRouteOwners:
    def __init__(self, url: str, pool_size: int = 4) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._owners: OrderedDict[str, str] = OrderedDict()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._lock:  # created on first use, inside the server's event loop
            if self._pool is None:
                self._pool = await guarded(
                    lambda: pg.create_pool(self.url, self.pool_size, stateless=True)
                )
            return self._pool

    async def owner_of(self, request_id: str) -> str | None:
        known = self._owners.get(request_id)
        if known is not None:
            self._owners.move_to_end(request_id)
            return known
        pool = await self.pool()
        owner = await guarded(
            lambda: pool.fetchval(
                "SELECT user_id FROM route_requests WHERE id = $1 AND expires_at > now()",
                request_id,
            )
        )
        if owner is None:
            return None
        self._owners[request_id] = str(owner)
        if len(self._owners) > REMEMBERED:
            self._owners.popitem(last=False)
        return str(owner)

    async def ping(self) -> None:
        await (await self.pool()).fetchval("SELECT 1")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
