"""Redis budgets and collapse claims against the real Redis, under a per-test prefix."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest
import redis.asyncio as aioredis
from enricher_fakes import Reply, answer, node

from wildside_common.errors import Unavailable
from wildside_enricher.adapters.outbound.overpass import OverpassClient, OverpassSettings
from wildside_enricher.adapters.outbound.redis_state import (
    RedisBudget,
    RedisCollapser,
    seconds_to_midnight,
)
from wildside_enricher.domain.provenance import QuotaExhausted

pytestmark = pytest.mark.contract


@pytest.fixture
async def client(redis_url):
    connection = aioredis.from_url(redis_url)
    yield connection
    await connection.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 23, 59, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_requests_are_refused_once_the_daily_count_is_spent(client, redis_prefix):
    clock = Clock()
    budgets = [RedisBudget(client, redis_prefix, 5, 10**9, clock) for _ in range(2)]
    results = await asyncio.gather(
        *(budgets[n % 2].spend_request() for n in range(8)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, QuotaExhausted)]
    assert len(refused) == 3 and results.count(None) == 5
    assert refused[0].retry_after == 61  # until midnight UTC, plus a second
    assert await budgets[0].used() == (5, 0)
    clock.now = datetime(2026, 11, 23, 0, 0, 1, tzinfo=UTC)  # a new day: a new budget
    await budgets[1].spend_request()
    assert await budgets[1].used() == (1, 0)


async def test_bytes_count_against_the_transfer_budget(client, redis_prefix):
    budget = RedisBudget(client, redis_prefix, 100, 1000, Clock())
    await budget.spend_request()
    await budget.add_bytes(600)
    await budget.spend_request()
    await budget.add_bytes(600)  # the answer that crosses the line still counts
    with pytest.raises(QuotaExhausted):
        await budget.spend_request()
    assert await budget.used() == (2, 1200)
    ttl = await client.ttl(f"{redis_prefix}quota:2026-11-22:bytes")
    assert 0 < ttl <= 2 * 24 * 3600


async def test_the_first_claim_owns_the_area_until_released(client, redis_prefix):
    collapser = RedisCollapser(client, redis_prefix, 60)
    assert await collapser.claim("area", "job-1") == "job-1"
    assert await collapser.claim("area", "job-2") == "job-1"
    assert await collapser.claim("area", "job-1") == "job-1"  # a redelivery still owns it
    await collapser.release("area", "job-2")  # not the owner: no effect
    assert await collapser.claim("area", "job-3") == "job-1"
    await collapser.release("area", "job-1")
    assert await collapser.claim("area", "job-3") == "job-3"
    assert 0 < await client.ttl(f"{redis_prefix}collapse:area") <= 60


async def test_an_unreachable_redis_is_unavailable(redis_prefix):
    client = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        with pytest.raises(Unavailable):
            await RedisBudget(client, redis_prefix, 1, 1).spend_request()
    finally:
        await client.aclose()


@pytest.fixture
async def down():
    """A Redis client whose server is gone (nothing listens on port 1)."""
    connection = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    yield connection
    await connection.aclose()


async def test_with_redis_down_the_quota_fails_closed_and_overpass_is_not_called(
    down, redis_prefix, overpass
):
    overpass.default = Reply(body=answer([node(1, 60.1, 24.9, amenity="cafe")]))
    settings = OverpassSettings(
        endpoints=(overpass.url,), user_agent="wildside-enricher/test", contact="t@example.org",
        http_timeout=2.0, retry_base=0.0,
    )  # fmt: skip
    budget = RedisBudget(down, redis_prefix, 10_000, 10**9)
    async with aiohttp.ClientSession() as session:
        client = OverpassClient(session, settings, budget)
        for _ in range(5):
            with pytest.raises(Unavailable):
                await client.fetch("[out:json];nwr[amenity=cafe];out center tags;")
    assert overpass.requests == [], "a request went out that no budget had counted"
    assert client.breakers[0].state.level == 0  # Redis's fault, not the endpoint's


async def test_bytes_read_while_redis_is_down_are_owed_to_the_next_check(
    client, down, redis_prefix
):
    budget = RedisBudget(client, redis_prefix, 100, 1000, Clock())
    await budget.spend_request()  # counted; then Redis goes while the answer is read
    budget.client = down
    await budget.add_bytes(700)  # owed, not raised: the answer is kept, not fetched again
    await budget.add_bytes(400)
    with pytest.raises(Unavailable):
        await budget.spend_request()  # still down: no request, and nothing forgotten
    assert budget.owed == 1100
    budget.client = client  # Redis is back
    with pytest.raises(QuotaExhausted):
        await budget.spend_request()  # the owed bytes count before the decision
    assert budget.owed == 0
    assert await budget.used() == (1, 1100)


def test_seconds_to_midnight():
    assert seconds_to_midnight(datetime(2026, 1, 1, 12, 0, tzinfo=UTC)) == 12 * 3600 + 1
