"""Session revocations in Redis, mirrored in every process (`SessionRevocations`).

Keys, under the services' `REDIS_PREFIX` (the gateway and tiles-auth must share it):

    session:revocations           a stream of every revocation, trimmed to one lifetime
    session:revoked:<jti>         the token's expiry (epoch ms), expiring with the token
    session:not-before:<user id>  the not-before time (epoch ms), kept one session lifetime

The stream is what the services read; the keys are the per-session record an operator
or a script checks with one `EXISTS`/`GET` without replaying the stream.

The hot path pays no round trip: each process follows the stream (XREAD BLOCK, `block`
seconds at most when idle) into a `RevokedSessions` mirror, so a check is a dictionary
lookup and a revocation made by any process is seen within one round trip. A revocation
made by this process is in its own mirror at once.

Redis unavailable: fail closed (OWASP: fail securely). When the mirror has not heard
from Redis for `max_staleness` seconds, `is_revoked` raises Unavailable (HTTP 503,
WebSocket 1013) rather than trust a list that may miss a revocation; a revocation that
cannot be written raises Unavailable, so a logout never reports an ended session that is
not. Redis should persist (appendonly): a Redis that restarts empty forgets revocations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from wildside_common.errors import Unavailable
from wildside_common.revocations import RevokedSessions, epoch
from wildside_common.sessions import SESSION_LIFETIME, SessionClaims

log = logging.getLogger(__name__)
SYNC_FAILURES = Counter(
    "wildside_session_revocation_sync_failures_total",
    "Failed reads of the session revocation stream (checks fail closed once stale)",
)
REVOKED = Counter("wildside_sessions_revoked_total", "Sessions ended early", ["scope"])
READ_BATCH = 1000
PRUNE_EVERY = 60.0
# One revocation: its record key (only ever moved later, never back) and its stream entry,
# atomically. KEYS: record, stream. ARGV: epoch ms, ttl ms, kind, id, at (s), oldest id.
RECORD = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[6], '*',
           'kind', ARGV[3], 'id', ARGV[4], 'at', ARGV[5])
return 1
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisSessionRevocations:
    """The port over Redis. `redis` is the adapter's own client (closed by `close`), with
    a socket timeout longer than `block`: a blocked XREAD holds one of its connections."""

    def __init__(
        self,
        redis: Redis,
        prefix: str = "",
        *,
        lifetime: timedelta = SESSION_LIFETIME,
        block: float = 0.25,
        max_staleness: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.stream = f"{prefix}session:revocations"
        self.lifetime = lifetime.total_seconds()
        self.mirror = RevokedSessions(lifetime)
        self.block_ms = max(1, int(block * 1000))
        self.max_staleness = max_staleness
        self.clock = clock
        self.last_id = "0-0"
        self.synced_at: float | None = None  # monotonic time of the last good read
        self._synced = asyncio.Event()
        self._catching_up = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._pruned = 0.0
        self.record = redis.register_script(RECORD)

    async def revoke(self, token_id: str, until: datetime) -> None:
        ttl_ms = int((until.timestamp() - self.clock()) * 1000)
        if ttl_ms <= 0:
            return  # expired already: nothing left to end
        self.mirror.revoke_token(token_id, epoch(until))
        await self._write("token", token_id, epoch(until), ttl_ms)
        REVOKED.labels("session").inc()

    async def revoke_user(self, user_id: str, since: datetime) -> None:
        self.mirror.revoke_user(user_id, epoch(since))
        await self._write("user", user_id, epoch(since), int(self.lifetime * 1000))
        REVOKED.labels("user").inc()

    async def is_revoked(self, claims: SessionClaims) -> bool:
        if self._task is None:
            await self.start()
        if self._stale():
            await self._catch_up()
        return self.mirror.covers(claims)

    async def generation(self) -> int:
        if self._task is None:
            await self.start()
        if self._stale():
            await self._catch_up()
        return self.mirror.generation

    def _stale(self) -> bool:
        synced = self.synced_at
        return synced is None or time.monotonic() - synced > self.max_staleness

    def fresh(self) -> None:
        """Raises Unavailable when the mirror may be missing a revocation."""
        if self._stale():
            raise Unavailable("session revocations cannot be read; try again", retry_after=1.0)

    async def _catch_up(self) -> None:
        """A stale mirror reads what it missed before it answers: its follower may only be
        late (this process's loop busy under load), not cut off. Only a Redis that cannot be
        read within `max_staleness` makes the check fail closed. One read at a time: the
        requests waiting meanwhile find the mirror fresh."""
        async with self._catching_up:
            if not self._stale():
                return
            try:
                async with asyncio.timeout(self.max_staleness):
                    while await self._read(None) >= READ_BATCH:
                        pass
            except (RedisError, OSError, TimeoutError) as exc:
                SYNC_FAILURES.inc()
                raise Unavailable(
                    "session revocations cannot be read; try again", retry_after=1.0
                ) from exc
            self._mark_synced()

    async def ready(self) -> None:
        """Readiness check: the mirror is current."""
        if self._task is None:
            await self.start()
        self.fresh()

    async def start(self) -> None:
        """Load the stream and follow it; waits (up to `max_staleness`) for the first read.
        Idempotent: tiles-auth starts it on first use, inside the server's event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="session-revocations")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._synced.wait(), max(self.max_staleness, 0.5))

    async def close(self) -> None:
        """Stop following and close the client (the adapter's own, see the class)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.redis.aclose()

    async def _write(self, kind: str, name: str, at: float, ttl_ms: int) -> None:
        record = f"{self.prefix}session:revoked:{name}"
        if kind == "user":
            record = f"{self.prefix}session:not-before:{name}"
        oldest = int((self.clock() - self.lifetime - 60) * 1000)
        args: list[str | int | float] = [int(at * 1000), ttl_ms, kind, name, at, f"{oldest}-0"]
        try:
            await self.record(keys=[record, self.stream], args=args)
        except (RedisError, OSError) as exc:
            raise Unavailable("the session could not be ended; try again") from exc

    async def _follow(self) -> None:
        failing = False
        while True:
            try:
                # Returns at once with what is there (a backlog, a new revocation), else
                # after `block`: either way the mirror is current when it returns.
                if await self._read(self.block_ms) < READ_BATCH:
                    self._mark_synced()
                if failing:
                    log.info("session revocations readable again")
                    failing = False
            except (RedisError, OSError) as exc:
                SYNC_FAILURES.inc()
                if not failing:
                    log.warning("session revocations unreadable", extra={"error": repr(exc)})
                    failing = True
                await asyncio.sleep(0.1)

    async def _read(self, block_ms: int | None) -> int:
        # block_ms None: return at once with what is there (a catch-up).
        response: Any = await self.redis.xread(
            {self.stream: self.last_id}, count=READ_BATCH, block=block_ms
        )
        read = 0
        for _, entries in response or []:
            for entry_id, fields in entries:
                self._apply({_text(k): _text(v) for k, v in fields.items()})
                self.last_id = _text(entry_id)
                read += 1
        return read

    def _apply(self, fields: Mapping[str, str]) -> None:
        try:
            kind, name, at = fields["kind"], fields["id"], float(fields["at"])
        except (KeyError, ValueError):
            log.warning("malformed session revocation ignored", extra={"entry": dict(fields)})
            return
        if kind == "token":
            self.mirror.revoke_token(name, at)
        elif kind == "user":
            self.mirror.revoke_user(name, at)

    def _mark_synced(self) -> None:
        self.synced_at = time.monotonic()
        self._synced.set()
        now = self.clock()
        if now - self._pruned > PRUNE_EVERY:
            self.mirror.prune(now)
            self._pruned = now


def connect_revocations(
    url: str, prefix: str = "", max_staleness: float = 1.0, block: float = 0.25
) -> RedisSessionRevocations:
    """The adapter over a Redis client of its own (its reads block for `block` seconds,
    longer than the services' usual 0.25 s socket timeout)."""
    redis = Redis.from_url(url, socket_timeout=block + 1.0, socket_connect_timeout=0.5)
    return RedisSessionRevocations(redis, prefix, block=block, max_staleness=max_staleness)
