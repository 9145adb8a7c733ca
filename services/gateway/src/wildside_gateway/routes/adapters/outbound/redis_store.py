"""Redis adapters: the route cache (read side) and per-user rate limits.

Redis is an accelerator, not a dependency of correctness: when it does not answer,
the cache misses and the limiter lets the request through, and both say so in a
metric and a log line. After a failure Redis is skipped for `backoff` seconds, so an
outage costs one short timeout, not one per request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from wildside_common.errors import InvalidInput, RateLimited
from wildside_common.route import Route, route_from_bytes

log = logging.getLogger(__name__)
CACHE_LOOKUPS = Counter("cache_route_lookups_total", "Route cache lookups", ["outcome"])
REDIS_FAILURES = Counter(
    "wildside_redis_unavailable_total", "Redis calls that failed (served without Redis)", ["use"]
)
RATE_LIMITED = Counter("wildside_rate_limited_total", "Route requests refused by the limiter")

# Sliding-window counter: this window's count plus the previous window's, weighted by
# how much of it still overlaps the last `window` seconds. Refused calls are not counted.
# One call decides a whole batch: KEYS holds (this window, previous window) per entry, in
# order, so two entries of one user count twice. (All keys in one call: a single Redis,
# or a cluster with every ratelimit key in one hash slot.)
SLIDING_WINDOW = """
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2]) * 2
local weight = tonumber(ARGV[3])
local verdicts = {}
for i = 1, #KEYS, 2 do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  local previous = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  if previous * weight + current + 1 > limit then
    verdicts[#verdicts + 1] = 0
  else
    redis.call('INCR', KEYS[i])
    redis.call('EXPIRE', KEYS[i], ttl)
    verdicts[#verdicts + 1] = 1
  end
end
return verdicts
"""


def connect_redis(url: str, timeout: float = 0.25) -> Redis:
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


class RedisGuard:
    """Tracks whether Redis is worth asking right now."""

    def __init__(self, backoff: float = 5.0) -> None:
        self.backoff = backoff
        self.down_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self.down_until

    def failed(self, use: str, exc: Exception) -> None:
        if self.available:
            log.warning(
                "redis unavailable; serving without it", extra={"use": use, "error": repr(exc)}
            )
        self.down_until = time.monotonic() + self.backoff
        REDIS_FAILURES.labels(use).inc()


class RedisRouteCache:
    def __init__(self, redis: Redis, guard: RedisGuard, prefix: str = "") -> None:
        self.redis = redis
        self.guard = guard
        self.prefix = prefix

    async def get_many(self, keys: Sequence[str]) -> list[Route | None]:
        """One MGET for the whole batch."""
        if not keys:
            return []
        if not self.guard.available:
            CACHE_LOOKUPS.labels("unavailable").inc(len(keys))
            return [None] * len(keys)
        try:
            raws = await self.redis.mget([self.prefix + key for key in keys])
        except (RedisError, OSError) as exc:
            self.guard.failed("cache", exc)
            CACHE_LOOKUPS.labels("unavailable").inc(len(keys))
            return [None] * len(keys)
        found = [
            None if raw is None else _decoded(key, raw) for key, raw in zip(keys, raws, strict=True)
        ]
        hits = sum(value is not None for value in found)
        if hits:
            CACHE_LOOKUPS.labels("hit").inc(hits)
        if hits < len(found):
            CACHE_LOOKUPS.labels("miss").inc(len(found) - hits)
        return found


def _decoded(key: str, raw: bytes | str) -> Route | None:
    """The cached route; an entry that is not one is a miss (the route is computed again)."""
    try:
        return route_from_bytes(raw.encode() if isinstance(raw, str) else raw)
    except InvalidInput as exc:
        log.warning(
            "cached route unreadable; treated as a miss", extra={"key": key, "error": exc.message}
        )
        return None


class RedisRateLimiter:
    """Per-user sliding-window limit; `name` keeps one quota apart from another (route
    submissions `ratelimit`, cancels `ratelimit-cancel`)."""

    def __init__(
        self,
        redis: Redis,
        guard: RedisGuard,
        limit: int,
        window: float = 60.0,
        prefix: str = "",
        name: str = "ratelimit",
        noun: str = "route requests",
    ) -> None:
        self.name = name
        self.noun = noun
        self.redis = redis
        self.guard = guard
        self.limit = limit
        self.window = window
        self.prefix = prefix
        self.script = redis.register_script(SLIDING_WINDOW)

    async def acquire_many(self, user_ids: Sequence[str]) -> list[RateLimited | None]:
        """One script call (one round trip) decides the whole batch, entry by entry."""
        if not user_ids or not self.guard.available:
            return [None] * len(user_ids)
        now = time.time()
        slot = math.floor(now / self.window)
        weight = 1.0 - (now - slot * self.window) / self.window
        args = [self.limit, int(self.window), weight]
        keys: list[str] = []
        for user_id in user_ids:
            keys += (
                f"{self.prefix}{self.name}:{user_id}:{slot}",
                f"{self.prefix}{self.name}:{user_id}:{slot - 1}",
            )
        try:
            try:
                allowed = await self._run_script(keys, args)
            except NoScriptError:  # Redis restarted or was flushed: load it, run again
                await self.redis.script_load(SLIDING_WINDOW)
                allowed = await self._run_script(keys, args)
        except (RedisError, OSError) as exc:
            self.guard.failed("rate_limit", exc)
            return [None] * len(user_ids)
        retry_after = math.ceil((slot + 1) * self.window - now)
        refusals: list[RateLimited | None] = []
        for verdict in allowed:
            if verdict:
                refusals.append(None)
                continue
            RATE_LIMITED.inc()
            refusals.append(
                RateLimited(
                    f"at most {self.limit} {self.noun} per minute",
                    retry_after,
                    {"limit": self.limit},
                )
            )
        return refusals

    async def _run_script(self, keys: list[str], args: list[Any]) -> list[Any]:
        verdicts = await self.redis.evalsha(self.script.sha, len(keys), *keys, *args)
        return list(verdicts)

    async def ping(self) -> None:
        await self.redis.ping()
