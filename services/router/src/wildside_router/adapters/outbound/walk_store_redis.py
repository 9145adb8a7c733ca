"""Live walks' route, request and state in Redis, one hash per walk, expiring an hour after
the last position (the only place a walker's position is kept: docs/live-walk.md)."""

from __future__ import annotations

import dataclasses

import orjson
from redis.asyncio import Redis

from wildside_common.route import Route, route_from_bytes, route_to_bytes
from wildside_router.domain.guide import WalkRequest, WalkState


class RedisWalkStore:
    def __init__(self, redis: Redis, prefix: str = "", ttl_seconds: int = 3600) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    def _key(self, walk_id: str) -> str:
        return f"{self.prefix}walk:{walk_id}"

    async def get(self, walk_id: str) -> tuple[Route, WalkRequest, WalkState] | None:
        route, request, state = await self.redis.hmget(
            self._key(walk_id), ["route", "request", "state"]
        )
        if not (
            isinstance(route, bytes) and isinstance(request, bytes) and isinstance(state, bytes)
        ):
            return None
        wanted = orjson.loads(request)
        end = wanted["end"]
        data = orjson.loads(state)
        data["tips_given"] = tuple(data["tips_given"])
        return (
            route_from_bytes(route),
            WalkRequest(
                tuple(wanted["themes"]),
                wanted["duration_minutes"],
                None if end is None else (end[0], end[1]),
            ),
            WalkState(**data),
        )

    async def claim_tip(self, walk_id: str, poi_id: str) -> bool:
        # a field of the walk's own hash: it expires with the walk
        return bool(await self.redis.hsetnx(self._key(walk_id), f"tip:{poi_id}", 1))

    async def put(self, walk_id: str, route: Route, request: WalkRequest, state: WalkState) -> None:
        key = self._key(walk_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "route": route_to_bytes(route),
                    "request": orjson.dumps(dataclasses.asdict(request)),
                    "state": orjson.dumps(dataclasses.asdict(state)),
                },
            )
            pipe.expire(key, self.ttl_seconds)
            await pipe.execute()
