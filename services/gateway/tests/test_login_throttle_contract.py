"""Login throttle: the same suite over the in-memory fake and the Redis adapter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from gateway_identity_fakes import FakeLoginThrottle
from redis.asyncio import Redis

from wildside_common.errors import Unavailable
from wildside_common.testing.servers import free_port
from wildside_gateway.identity.adapters.outbound.login_throttle import RedisLoginThrottle
from wildside_gateway.identity.domain.login_throttle import Limit, LoginAttempt, LoginLimits
from wildside_gateway.routes.adapters.outbound.redis_store import connect_redis

pytestmark = pytest.mark.contract
LIMITS = LoginLimits(max_failures=3, failure_window=60, address_attempts=5, address_window=60)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


def throttle_of(kind: str, redis: Redis, prefix: str, limits: LoginLimits = LIMITS):
    if kind == "fake":
        return FakeLoginThrottle(limits)
    return RedisLoginThrottle(redis, limits, prefix)


@pytest.fixture(params=["fake", "redis"])
def throttle(request, redis, redis_prefix):
    return throttle_of(request.param, redis, redis_prefix)


def attempt(username: str | None = None, address: str | None = None) -> LoginAttempt:
    return LoginAttempt.of(username or f"u-{uuid.uuid4().hex}", address or uuid.uuid4().hex)


async def test_the_attempt_after_the_limit_is_refused_until_the_window_ends(throttle) -> None:
    guess = attempt()
    assert [await throttle.attempt(guess) for _ in range(3)] == [None, None, None]
    first, second = await throttle.attempt(guess), await throttle.attempt(guess)
    assert first is not None and second is not None
    assert first.limit is Limit.USERNAME and 1 <= first.retry_after <= 60
    assert first.began and not second.began  # a lockout begins once
    error = first.error()
    assert error.code == "too_many_attempts" and error.retry_after == first.retry_after


async def test_a_success_clears_the_username_count(throttle) -> None:
    name = f"u-{uuid.uuid4().hex}"  # from a new address each time: only the username counts
    for _ in range(3):
        assert await throttle.attempt(attempt(name)) is None
    await throttle.succeeded(attempt(name))
    for _ in range(3):
        assert await throttle.attempt(attempt(name)) is None
    assert await throttle.attempt(attempt(name)) is not None


async def test_usernames_and_addresses_are_counted_apart(throttle) -> None:
    address = uuid.uuid4().hex
    for index in range(5):  # five usernames, one address: the address's quota
        assert await throttle.attempt(attempt(f"name-{index}-{address}", address)) is None
    refused = await throttle.attempt(attempt(None, address))
    assert refused is not None and refused.limit is Limit.ADDRESS and refused.began
    assert await throttle.attempt(attempt()) is None  # another address


async def test_an_attempt_refused_for_its_address_does_not_count_for_its_username(
    throttle,
) -> None:
    address, name = uuid.uuid4().hex, f"victim-{uuid.uuid4().hex}"
    for index in range(5):
        await throttle.attempt(attempt(f"other-{index}-{address}", address))
    for _ in range(4):
        refused = await throttle.attempt(LoginAttempt.of(name, address))
        assert refused is not None and refused.limit is Limit.ADDRESS
    assert await throttle.attempt(LoginAttempt.of(name, uuid.uuid4().hex)) is None


@pytest.mark.parametrize("kind", ["fake", "redis"])
async def test_counts_expire_with_their_window(kind: str, redis, redis_prefix) -> None:
    short = LoginLimits(max_failures=1, failure_window=1, address_attempts=100)
    throttle = throttle_of(kind, redis, redis_prefix, short)
    guess = attempt()
    assert await throttle.attempt(guess) is None
    refused = await throttle.attempt(guess)
    assert refused is not None and refused.retry_after == 1
    await asyncio.sleep(1.1)
    assert await throttle.attempt(guess) is None


async def test_redis_throttle_fails_closed_when_redis_is_down() -> None:
    dead = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    throttle = RedisLoginThrottle(dead, LIMITS)
    with pytest.raises(Unavailable):
        await throttle.attempt(attempt())
    await throttle.succeeded(attempt())  # best effort: never fails a login
    await dead.aclose()


async def test_redis_keys_hold_no_username(redis, redis_prefix) -> None:
    throttle = RedisLoginThrottle(redis, LIMITS, redis_prefix)
    await throttle.attempt(LoginAttempt.of("Secret.Name@example.org", "198.51.100.4"))
    keys = sorted(key.decode() for key in await redis.keys(f"{redis_prefix}login:*"))
    assert keys[0] == f"{redis_prefix}login:addr:198.51.100.4"
    assert keys[1].startswith(f"{redis_prefix}login:user:") and "secret" not in keys[1].lower()
    assert 59_000 < await redis.pttl(keys[1]) <= 60_000
