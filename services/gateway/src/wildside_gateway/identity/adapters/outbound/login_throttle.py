"""The login throttle in Redis: one script call per attempt counts it for the client
address and the username and says whether it may go on (`domain.login_throttle`).

Keys (under REDIS_PREFIX): `login:addr:<address>` and `login:user:<username hash>`,
fixed windows starting at the first attempt counted, expiring with the window.

Redis unavailable: fail closed (Unavailable, HTTP 503). Unlimited guessing is the attack
this exists to stop, and with Redis down sessions cannot be checked either (see
`wildside_common.revocations_redis`), so a login could not be used anyway.
"""

from __future__ import annotations

import logging
import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from wildside_common.errors import Unavailable
from wildside_gateway.identity.domain.login_throttle import (
    Limit,
    Lockout,
    LoginAttempt,
    LoginLimits,
)

log = logging.getLogger(__name__)

# KEYS: address, username. ARGV: address limit, its window ms, username limit, its window
# ms. Returns {0} (go on) or {1 address | 2 username, ms left, attempts over the limit}.
# An attempt refused for its address is not counted against the username.
ATTEMPT = """
local function count(key, limit, window)
  local n = redis.call('INCR', key)
  local left = redis.call('PTTL', key)
  if n == 1 or left < 0 then
    redis.call('PEXPIRE', key, window)
    left = tonumber(window)
  end
  return n - tonumber(limit), left
end
local over, left = count(KEYS[1], ARGV[1], ARGV[2])
if over > 0 then return {1, left, over} end
over, left = count(KEYS[2], ARGV[3], ARGV[4])
if over > 0 then return {2, left, over} end
return {0, 0, 0}
"""


class RedisLoginThrottle:
    def __init__(self, redis: Redis, limits: LoginLimits, prefix: str = "") -> None:
        self.redis = redis
        self.limits = limits
        self.prefix = prefix
        self.script = redis.register_script(ATTEMPT)

    def _keys(self, attempt: LoginAttempt) -> list[str]:
        return [
            f"{self.prefix}login:addr:{attempt.address}",
            f"{self.prefix}login:user:{attempt.username}",
        ]

    async def attempt(self, attempt: LoginAttempt) -> Lockout | None:
        limits = self.limits
        args = [
            limits.address_attempts,
            limits.address_window * 1000,
            limits.max_failures,
            limits.failure_window * 1000,
        ]
        try:
            verdict, left_ms, over = await self.script(keys=self._keys(attempt), args=args)
        except (RedisError, OSError) as exc:
            raise Unavailable("login is unavailable; try again shortly") from exc
        if verdict == 0:
            return None
        limit = Limit.ADDRESS if verdict == 1 else Limit.USERNAME
        return Lockout(limit, max(1, math.ceil(int(left_ms) / 1000)), began=int(over) == 1)

    async def succeeded(self, attempt: LoginAttempt) -> None:
        try:
            await self.redis.delete(self._keys(attempt)[1])
        except (RedisError, OSError) as exc:  # the count then simply runs out with its window
            log.warning("login count not reset", extra={"error": repr(exc)})
