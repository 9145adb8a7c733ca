"""Live walks' route and state in Redis, one hash per walk, expiring an hour after the
last position (the only place a walker's position is kept: docs/live-walk.md)."""

from __future__ import annotations

import dataclasses

import orjson
from redis.asyncio import Redis

from wildside_common.route import Route, route_from_bytes, route_to_bytes
from wildside_router.domain.guide import WalkState


class RedisWalkStore:
    def __init__(self, redis: Redis, prefix: str = "", ttl_seconds: int = 3600) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    def _key(self, request_id: str) -> str:
        return f"{self.prefix}walk:{request_id}"

    async def get(self, request_id: str) -> tuple[Route, WalkState] | None:
        raw = await self.redis.hmget(self._key(request_id), ["route", "state"])
        route, state = raw
        if not isinstance(route, bytes) or not isinstance(state, bytes):
            return None
        data = orjson.loads(state)
        data["tips_given"] = tuple(data["tips_given"])
        return route_from_bytes(route), WalkState(**data)

    async def put(self, request_id: str, route: Route, state: WalkState) -> None:
        key = self._key(request_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "route": route_to_bytes(route),
                    "state": orjson.dumps(dataclasses.asdict(state)),
                },
            )
            pipe.expire(key, self.ttl_seconds)
            await pipe.execute()
