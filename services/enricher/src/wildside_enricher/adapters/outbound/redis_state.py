"""Redis state shared by every enricher replica: daily budgets and collapse claims.

Keys (all under the configured prefix):

    quota:<YYYY-MM-DD>:requests   requests sent today (UTC), expires after 2 days
    quota:<YYYY-MM-DD>:bytes      bytes received today
    collapse:<key>                job id that owns an area+themes for the window

Checks and increments are single Lua scripts, so two replicas can never both take
the last request of the day. Redis errors become `Unavailable` (the job is retried):
without the shared counters the enricher cannot know it may call Overpass, so with
Redis down it makes no request at all (the quota fails closed, docs/operations.md).

One answer can be in flight when Redis goes: its request was counted before it went
out, but its bytes cannot be. They are not dropped (nor the answer, which would cost a
second request for the same area once Redis is back): the budget owes them, and the
next request's check adds them before it decides, in the same script.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import redis.asyncio as aioredis
from prometheus_client import Gauge
from redis.exceptions import RedisError

from wildside_common.errors import Unavailable
from wildside_common.messages import utc_now
from wildside_enricher.domain.provenance import QuotaExhausted

log = logging.getLogger(__name__)
T = TypeVar("T")

QUOTA_REMAINING = Gauge(
    "wildside_overpass_quota_remaining", "Daily Overpass budget left (all replicas)", ["kind"]
)
KEEP_DAYS = 2 * 24 * 3600

# Add the bytes owed (answers read while Redis was down), then refuse when either
# budget is spent; otherwise count the request. Returns
# {admitted (0/1), requests used, bytes used}.
SPEND_REQUEST = """
if tonumber(ARGV[4]) > 0 then
  redis.call('INCRBY', KEYS[2], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local bytes = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= tonumber(ARGV[1]) or bytes >= tonumber(ARGV[2]) then
  return {0, used, bytes}
end
used = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, used, bytes}
"""

ADD_BYTES = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return total
"""

CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return ARGV[1]
end
return redis.call('GET', KEYS[1])
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except (RedisError, OSError) as exc:
        raise Unavailable("redis is unavailable", retry_after=2.0) from exc


def seconds_to_midnight(now: datetime) -> int:
    """Seconds until the next UTC day, when the daily budgets renew."""
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()) + 1)


class RedisBudget:
    """`RequestBudget` over Redis counters per UTC day."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        daily_requests: int,
        daily_bytes: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.daily_requests = daily_requests
        self.daily_bytes = daily_bytes
        self.clock = clock
        self.owed = 0  # bytes of answers read while Redis could not count them

    def _keys(self) -> tuple[str, str]:
        day = self.clock().strftime("%Y-%m-%d")
        return f"{self.prefix}quota:{day}:requests", f"{self.prefix}quota:{day}:bytes"

    async def spend_request(self) -> None:
        """Raises `Unavailable` when Redis does not answer: no count, no request."""
        requests_key, bytes_key = self._keys()
        owed, self.owed = self.owed, 0
        try:
            result: Any = await guarded(
                lambda: self.client.eval(
                    SPEND_REQUEST, 2, requests_key, bytes_key,
                    self.daily_requests, self.daily_bytes, KEEP_DAYS, owed,
                )
            )  # fmt: skip
        except Unavailable:
            self.owed += owed
            raise
        admitted, used, size = (int(value) for value in result)
        self._publish(used, size)
        if not admitted:
            wait = seconds_to_midnight(self.clock())
            log.warning("daily Overpass budget spent", extra={"requests": used, "bytes": size})
            raise QuotaExhausted("the daily Overpass budget is spent", wait)

    async def add_bytes(self, size: int) -> None:
        """Count an answer's bytes; when Redis does not answer, owe them (see above)."""
        _, bytes_key = self._keys()
        owed, self.owed = self.owed + size, 0
        try:
            total: Any = await guarded(
                lambda: self.client.eval(ADD_BYTES, 1, bytes_key, owed, KEEP_DAYS)
            )
        except Unavailable:
            self.owed += owed
            log.warning("Overpass bytes owed: redis is unavailable", extra={"bytes": self.owed})
            return
        QUOTA_REMAINING.labels("bytes").set(max(0, self.daily_bytes - int(total)))

    async def used(self) -> tuple[int, int]:
        """(requests, bytes) spent today by every replica."""
        values: Any = await guarded(lambda: self.client.mget(list(self._keys())))
        return int(values[0] or 0), int(values[1] or 0)

    async def refresh(self) -> None:
        """Publish what is left of today's budgets (at start-up, before any request)."""
        self._publish(*await self.used())

    def _publish(self, used: int, size: int) -> None:
        QUOTA_REMAINING.labels("requests").set(max(0, self.daily_requests - used))
        QUOTA_REMAINING.labels("bytes").set(max(0, self.daily_bytes - size))


class RedisCollapser:
    """`Collapser` over `SET NX EX`: the first job of a window owns the area."""

    def __init__(self, client: aioredis.Redis, prefix: str, window_seconds: int) -> None:
        self.client = client
        self.prefix = prefix
        self.window = max(1, window_seconds)

    async def claim(self, key: str, job_id: str) -> str:
        owner: Any = await guarded(
            lambda: self.client.eval(CLAIM, 1, f"{self.prefix}collapse:{key}", job_id, self.window)
        )
        return owner.decode() if isinstance(owner, bytes) else str(owner)

    async def release(self, key: str, job_id: str) -> None:
        await guarded(lambda: self.client.eval(RELEASE, 1, f"{self.prefix}collapse:{key}", job_id))
