"""The sign-up throttle in Redis: at most `attempts` sign-ups per client address per
`window` seconds, a fixed window from the first attempt (`signup:addr:<address>` under
REDIS_PREFIX, expiring with the window).

Redis unavailable: fail closed (Unavailable, HTTP 503), as the login throttle does: the
limit is what stops one address from filling the users table, and without Redis no
session could be checked anyway.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from wildside_common.errors import Unavailable

# KEYS: the address's key. ARGV: limit, window ms. Returns {0, 0} (go on) or {1, ms left}.
ATTEMPT = """
local n = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if n == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
if n > tonumber(ARGV[1]) then return {1, left} end
return {0, 0}
"""


class RedisSignupThrottle:
    def __init__(self, redis: Redis, attempts: int, window: int = 3600, prefix: str = "") -> None:
        if attempts < 1 or window < 1:
            raise ValueError("attempts and window must be at least 1")
        self.redis = redis
        self.attempts = attempts
        self.window = window
        self.prefix = prefix
        self.script = redis.register_script(ATTEMPT)

    async def attempt(self, address: str) -> int | None:
        key = f"{self.prefix}signup:addr:{address}"
        try:
            refused, left_ms = await self.script(
                keys=[key], args=[self.attempts, self.window * 1000]
            )
        except (RedisError, OSError) as exc:
            raise Unavailable("sign-up is unavailable; try again shortly") from exc
        if not refused:
            return None
        return max(1, math.ceil(int(left_ms) / 1000))
