"""The tile functions called as Martin calls them (the development tile server), over
asyncpg as the role Martin uses (martin_ro: EXECUTE on the tile functions, no table).

A function taking four arguments gets `query_params` (json) as the fourth, like Martin;
one taking three gets (z, x, y) only. The arity comes from the catalog, once per source.
Source names reach SQL as quoted identifiers, and only allowlisted ones get here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import asyncpg

from wildside_common import pg
from wildside_common.pg import guarded

ARITY = """
SELECT p.pronargs FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n
    ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proname = $1 ORDER BY p.pronargs DESC LIMIT 1"""
COMMENT = """
SELECT pg_catalog.obj_description(p.oid, 'pg_proc') FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proname = $1 ORDER BY p.pronargs DESC LIMIT 1"""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresTileFunctions:
    def __init__(self, url: str, pool_size: int = 4) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._arity: dict[str, int] = {}

    async def pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._lock:  # created on first use, inside the server's event loop
            if self._pool is None:
                self._pool = await guarded(
                    lambda: pg.create_pool(self.url, self.pool_size, stateless=True, name="tiles")
                )
            return self._pool

    async def _arguments(self, source: str) -> int:
        if source not in self._arity:
            pool = await self.pool()
            found = await guarded(lambda: pool.fetchval(ARITY, source))
            self._arity[source] = int(found or 0)
        return self._arity[source]

    async def tile(self, source: str, z: int, x: int, y: int, params: Mapping[str, Any]) -> bytes:
        arity = await self._arguments(source)
        if arity not in (3, 4):
            return b""  # not a tile function here: Martin would not have started with it
        pool = await self.pool()
        function = f"public.{_quoted(source)}"
        args: tuple[Any, ...]
        if arity == 4:
            sql, args = f"SELECT {function}($1, $2, $3, $4::json)", (z, x, y, json.dumps(params))
        else:
            sql, args = f"SELECT {function}($1, $2, $3)", (z, x, y)
        tile = await guarded(lambda: pool.fetchval(sql, *args))
        return bytes(tile or b"")

    async def comment(self, source: str) -> str | None:
        pool = await self.pool()
        found = await guarded(lambda: pool.fetchval(COMMENT, source))
        return str(found) if found is not None else None

    async def ping(self) -> None:
        await (await self.pool()).fetchval("SELECT 1")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
