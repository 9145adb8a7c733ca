"""Rate limiter and route cache: the same suites over the fakes and the Redis adapters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from gateway_route_fakes import FakeCache, FakeLimiter
from redis.asyncio import Redis

from wildside_common.errors import RateLimited
from wildside_common.testing.routes import example_route
from wildside_common.testing.servers import free_port
from wildside_gateway.routes.adapters.outbound.redis_store import (
    RedisGuard,
    RedisRateLimiter,
    RedisRouteCache,
    connect_redis,
)
from wildside_router.adapters.outbound.route_cache import RedisRouteCacheWriter

pytestmark = pytest.mark.contract


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(params=["fake", "redis"])
def limiter(request, redis, redis_prefix):
    if request.param == "fake":
        return FakeLimiter(limit=3)
    return RedisRateLimiter(redis, RedisGuard(), limit=3, prefix=redis_prefix)


async def test_limiter_allows_the_quota_then_refuses_with_retry_after(limiter) -> None:
    user = str(uuid.uuid4())
    assert await limiter.acquire_many([user, user]) == [None, None]
    verdicts = await limiter.acquire_many([user, user])
    assert verdicts[0] is None
    refused = verdicts[1]
    assert isinstance(refused, RateLimited)
    assert 1 <= refused.retry_after <= 60
    assert isinstance((await limiter.acquire_many([user]))[0], RateLimited)


async def test_limiter_counts_each_user_apart(limiter) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    verdicts = await limiter.acquire_many([first, first, second, first, first, second])
    assert [verdict is None for verdict in verdicts] == [True, True, True, True, False, True]
    assert await limiter.acquire_many([]) == []


async def test_named_limiters_keep_their_quotas_apart(redis, redis_prefix) -> None:
    """Cancels (`ratelimit-cancel`) spend nothing of the submissions' quota, and back."""
    routes = RedisRateLimiter(redis, RedisGuard(), limit=1, prefix=redis_prefix)
    cancels = RedisRateLimiter(
        redis, RedisGuard(), 1, prefix=redis_prefix, name="ratelimit-cancel", noun="route cancels"
    )
    assert await routes.acquire_many(["u"]) == [None]
    assert await cancels.acquire_many(["u"]) == [None]
    [refused] = await cancels.acquire_many(["u"])
    assert refused is not None and refused.message == "at most 1 route cancels per minute"
    [refused] = await routes.acquire_many(["u"])
    assert refused is not None and refused.message == "at most 1 route requests per minute"
    keys = [k.decode() async for k in redis.scan_iter(match=f"{redis_prefix}*")]
    assert {k.removeprefix(redis_prefix).split(":")[0] for k in keys} == {
        "ratelimit",
        "ratelimit-cancel",
    }


async def test_redis_limiter_survives_a_flushed_script_cache(redis, redis_prefix) -> None:
    limiter = RedisRateLimiter(redis, RedisGuard(), limit=3, prefix=redis_prefix)
    user = str(uuid.uuid4())
    assert await limiter.acquire_many([user]) == [None]  # the first call loads the script
    await redis.script_flush()
    assert await limiter.acquire_many([user, user]) == [None, None]
    assert isinstance((await limiter.acquire_many([user]))[0], RateLimited)


async def test_redis_limiter_lets_requests_through_when_redis_is_down() -> None:
    dead = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    guard = RedisGuard()
    limiter = RedisRateLimiter(dead, guard, limit=1)
    user = str(uuid.uuid4())
    assert await limiter.acquire_many([user, user, user]) == [None, None, None]
    assert not guard.available
    await dead.aclose()


@pytest.fixture(params=["fake", "redis"])
def cache_pair(request, redis, redis_prefix):
    if request.param == "fake":
        fake = FakeCache()

        async def put(key, route):
            fake.entries[key] = route

        return fake, put
    writer = RedisRouteCacheWriter(redis, prefix=redis_prefix)
    return RedisRouteCache(redis, RedisGuard(), redis_prefix), writer.store


async def test_cache_returns_what_was_stored_and_misses_otherwise(cache_pair) -> None:
    cache, put = cache_pair
    key, other = f"route:v1:{uuid.uuid4().hex}", f"route:v1:{uuid.uuid4().hex}"
    assert await cache.get_many([key]) == [None]
    route = example_route()
    await put(key, route)
    assert await cache.get_many([other, key, key]) == [None, route, route]
    assert await cache.get_many([]) == []


async def test_cached_routes_expire_after_a_jittered_day(redis, redis_prefix) -> None:
    writer = RedisRouteCacheWriter(redis, prefix=redis_prefix)
    ttls = []
    for _ in range(20):
        key = f"route:v1:{uuid.uuid4().hex}"
        await writer.store(key, example_route())
        ttls.append(await redis.ttl(redis_prefix + key))
    assert all(0.9 * 86400 - 1 <= ttl <= 1.1 * 86400 for ttl in ttls)
    assert len(set(ttls)) > 1


async def test_cache_misses_when_redis_is_down() -> None:
    dead = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    cache = RedisRouteCache(dead, RedisGuard())
    assert await cache.get_many(["route:v1:" + "0" * 64]) == [None]
    await RedisRouteCacheWriter(dead).store("route:v1:" + "0" * 64, example_route())
    await dead.aclose()
