"""Writes finished routes to the Redis route cache (TTL 24 h with +/-10 % jitter).

A cache that does not answer costs nothing but the cache: the route is already stored
in PostgreSQL; the failure is counted and logged.
"""

from __future__ import annotations

import logging
import random

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wildside_common.route import Route, route_to_bytes

log = logging.getLogger(__name__)
CACHE_WRITES = Counter("cache_route_writes_total", "Route cache writes", ["outcome"])


def jittered_ttl(base_seconds: int, jitter: float, rng: random.Random) -> int:
    """`base` seconds +/- `jitter` (a fraction), so entries written together expire apart."""
    return max(1, round(base_seconds * (1 + rng.uniform(-jitter, jitter))))


class RedisRouteCacheWriter:
    def __init__(
        self,
        redis: Redis,
        ttl_seconds: int = 24 * 3600,
        jitter: float = 0.1,
        prefix: str = "",
        rng: random.Random | None = None,
    ) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.jitter = jitter
        self.prefix = prefix
        self.rng = rng or random.Random()

    async def store(self, key: str, route: Route) -> None:
        ttl = jittered_ttl(self.ttl_seconds, self.jitter, self.rng)
        try:
            await self.redis.set(self.prefix + key, route_to_bytes(route), ex=ttl)
        except (RedisError, OSError) as exc:
            CACHE_WRITES.labels("unavailable").inc()
            log.warning("route cache unavailable; result not cached", extra={"error": repr(exc)})
            return
        CACHE_WRITES.labels("stored").inc()
