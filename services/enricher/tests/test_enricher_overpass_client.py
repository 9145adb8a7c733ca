"""The aiohttp Overpass adapter against a local fake server (no other servers needed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from enricher_fakes import Reply, answer, node

from wildside_common.errors import InvalidInput, RateLimited, Timeout, Unavailable
from wildside_enricher.adapters.outbound.overpass import (
    OverpassClient,
    OverpassSettings,
    parse_retry_after,
)
from wildside_enricher.domain.breaker import BreakerState
from wildside_enricher.domain.provenance import CircuitOpen, QuotaExhausted

pytestmark = pytest.mark.unit
QL = "[out:json][timeout:5];nwr[amenity=cafe];out center tags;"


class MemoryBudget:
    def __init__(self, requests: int = 1000) -> None:
        self.left = requests
        self.bytes = 0

    async def spend_request(self) -> None:
        if self.left <= 0:
            raise QuotaExhausted("spent", 3600)
        self.left -= 1

    async def add_bytes(self, size: int) -> None:
        self.bytes += size


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as client:
        yield client


def client_for(session, *urls, budget=None, sleeps=None, **overrides):
    settings = OverpassSettings(
        endpoints=tuple(urls), user_agent="wildside-enricher/test (contact: ops@example.org)",
        contact="ops@example.org", http_timeout=2.0, retry_base=1.0, retry_cap=30.0,
        breaker_failures=3, breaker_cooldown=30.0,
    )  # fmt: skip
    fields = {name: getattr(settings, name) for name in settings.__slots__}
    fields.update(overrides)
    return OverpassClient(
        session, OverpassSettings(**fields), budget or MemoryBudget(),
        sleep=sleeps or Sleeps(), jitter=lambda: 1.0,
    )  # fmt: skip


async def test_posts_the_query_politely_and_returns_the_body(session, overpass):
    body = answer([node(1, 60.1, 24.9, amenity="cafe")])
    overpass.default = Reply(body=body)
    budget = MemoryBudget()
    fetched = await client_for(session, overpass.url, budget=budget).fetch(QL)
    assert fetched.body == body and fetched.source_url == overpass.url
    assert fetched.fetched_at.tzinfo is not None
    (seen,) = overpass.requests
    assert seen.data == QL
    assert seen.headers["User-Agent"] == "wildside-enricher/test (contact: ops@example.org)"
    assert seen.headers["Contact"] == "ops@example.org"
    assert (budget.left, budget.bytes) == (999, len(body))


async def test_429_is_retried_after_retry_after(session, overpass):
    overpass.script = [Reply(429, headers={"Retry-After": "7"}), Reply(429)]
    overpass.default = Reply(body=answer([]))
    sleeps = Sleeps()
    fetched = await client_for(session, overpass.url, sleeps=sleeps).fetch(QL)
    assert fetched.body == answer([])
    # Retry-After (7 s) beats the first backoff step; then exponential (2 s with full jitter).
    assert sleeps.delays == [7.0, 2.0]
    assert len(overpass.requests) == 3


async def test_429_beyond_the_cap_goes_back_to_the_bus(session, overpass):
    overpass.default = Reply(429, headers={"Retry-After": "120"})
    client = client_for(session, overpass.url)
    with pytest.raises(RateLimited) as caught:
        await client.fetch(QL)
    assert caught.value.retry_after == 120
    assert len(overpass.requests) == 1
    assert client.breakers[0].state is BreakerState.CLOSED  # being told to wait is no failure


async def test_504_is_retried_then_counts_as_a_failure(session, overpass):
    overpass.default = Reply(504)
    sleeps = Sleeps()
    client = client_for(session, overpass.url, sleeps=sleeps, retry_attempts=3)
    with pytest.raises(Unavailable, match="gateway timeout"):
        await client.fetch(QL)
    assert len(overpass.requests) == 3 and sleeps.delays == [1.0, 2.0]


async def test_server_errors_open_the_breaker_and_then_no_request_goes_out(session, overpass):
    overpass.default = Reply(500)
    client = client_for(session, overpass.url, breaker_failures=3)
    for _ in range(2):
        with pytest.raises(Unavailable, match="answered 500"):
            await client.fetch(QL)
    # The third failure opens the breaker: the job is told to come back after the cooldown.
    with pytest.raises(CircuitOpen) as caught:
        await client.fetch(QL)
    assert caught.value.retry_after == 30
    assert client.breakers[0].state is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        await client.fetch(QL)
    assert len(overpass.requests) == 3


async def test_a_failing_primary_fails_over_to_the_mirror(session, overpass, mirror):
    overpass.default = Reply(503)
    mirror.default = Reply(body=answer([]))
    client = client_for(session, overpass.url, mirror.url, breaker_failures=2)
    for _ in range(4):
        fetched = await client.fetch(QL)
        assert fetched.source_url == mirror.url
    assert len(overpass.requests) == 2  # its breaker opened after two failures
    assert len(mirror.requests) == 4


async def test_a_slow_answer_is_a_timeout(session, overpass):
    overpass.default = Reply(body=answer([]), delay=1.0)
    with pytest.raises(Timeout):
        await client_for(session, overpass.url, http_timeout=0.2).fetch(QL)


async def test_a_refused_query_or_an_oversized_answer_is_invalid(session, overpass):
    overpass.script = [Reply(400, body=b"Error: line 1: parse error")]
    with pytest.raises(InvalidInput, match="refused the query"):
        await client_for(session, overpass.url).fetch(QL)
    overpass.default = Reply(body=b"x" * 5000)
    budget = MemoryBudget()
    with pytest.raises(InvalidInput, match="maxsize"):
        await client_for(session, overpass.url, budget=budget, maxsize_bytes=2048).fetch(QL)
    assert budget.bytes > 2048  # what was read still counts


async def test_a_spent_budget_stops_the_request(session, overpass):
    with pytest.raises(QuotaExhausted):
        await client_for(session, overpass.url, budget=MemoryBudget(0)).fetch(QL)
    assert overpass.requests == []


async def test_concurrent_requests_never_exceed_the_semaphore(session, overpass):
    overpass.default = Reply(body=answer([]), delay=0.1)
    client = client_for(session, overpass.url, max_concurrent=2)
    await asyncio.gather(*(client.fetch(QL) for _ in range(6)))
    assert overpass.max_active == 2 and len(overpass.requests) == 6


async def test_an_unreachable_endpoint_is_unavailable(session):
    with pytest.raises(Unavailable, match="cannot reach"):
        await client_for(session, "http://127.0.0.1:9/api/interpreter").fetch(QL)


def test_retry_after_reads_seconds_and_dates():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    later = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(later, now) == 90.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
