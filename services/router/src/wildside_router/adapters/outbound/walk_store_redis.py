"""Live walks' route, request and state in Redis, one hash per walk, expiring an hour after
the last position (the only place a walker's position is kept: docs/live-walk.md)."""

from __future__ import annotations

import hashlib

import orjson
from redis.asyncio import Redis

from wildside_common.route import Route, route_from_bytes, route_to_bytes
from wildside_router.domain.guide import WalkRequest, WalkState


def encode_request(request: WalkRequest) -> bytes:
    return orjson.dumps(request)  # orjson encodes dataclasses as dataclasses.asdict does


def decode_request(raw: bytes) -> WalkRequest:
    wanted = orjson.loads(raw)
    end = wanted["end"]
    return WalkRequest(
        tuple(wanted["themes"]),
        wanted["duration_minutes"],
        None if end is None else (end[0], end[1]),
    )


def encode_state(state: WalkState) -> bytes:
    return orjson.dumps(state)


def decode_state(raw: bytes) -> WalkState:
    data = orjson.loads(raw)
    data["tips_given"] = tuple(data["tips_given"])
    return WalkState(**data)


def route_rev(raw_route: bytes) -> str:
    """A short hash of the stored route: names the route a cached plan was made from."""
    return hashlib.blake2b(raw_route, digest_size=8).hexdigest()


# The state of a walk still stored, and its hour renewed, in one atomic command: a walk that
# expired between reading and writing its state is not brought back without a TTL.
PUT_STATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class RedisWalkStore:
    def __init__(self, redis: Redis, prefix: str = "", ttl_seconds: int = 3600) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self._put_state = redis.register_script(PUT_STATE)

    def _key(self, walk_id: str) -> str:
        return f"{self.prefix}walk:{walk_id}"

    async def get(self, walk_id: str) -> tuple[str, WalkRequest, WalkState] | None:
        rev, request, state = await self.redis.hmget(
            self._key(walk_id), ["rev", "request", "state"]
        )
        if not (isinstance(request, bytes) and isinstance(state, bytes)):
            return None
        # a walk stored before routes had a revision: its plan is cached under ""
        return (
            (rev.decode() if isinstance(rev, bytes) else ""),
            decode_request(request),
            (decode_state(state)),
        )

    async def route(self, walk_id: str) -> Route | None:
        raw = await self.redis.hget(self._key(walk_id), "route")
        return route_from_bytes(raw) if isinstance(raw, bytes) else None

    async def claim_tip(self, walk_id: str, poi_id: str) -> bool:
        # a field of the walk's own hash: it expires with the walk
        return bool(await self.redis.hsetnx(self._key(walk_id), f"tip:{poi_id}", 1))

    async def start(
        self, walk_id: str, route: Route, request: WalkRequest, state: WalkState
    ) -> str:
        key = self._key(walk_id)
        raw = route_to_bytes(route)
        rev = route_rev(raw)
        # one transaction: the walk never exists without its TTL
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "route": raw,
                    "rev": rev,
                    "request": encode_request(request),
                    "state": encode_state(state),
                },
            )
            pipe.expire(key, self.ttl_seconds)
            await pipe.execute()
        return rev

    async def put_state(self, walk_id: str, state: WalkState) -> bool:
        key = self._key(walk_id)
        return bool(await self._put_state(keys=[key], args=[encode_state(state), self.ttl_seconds]))
