"""One suite over both implementations of the RouteRequests port: the in-memory fake
and the PostgreSQL adapter against a real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from gateway_route_fakes import FakeRouteRequests

from wildside_common.messages import RouteStatus
from wildside_gateway.adapters.outbound.postgres import PostgresRouteRequests, create_pool
from wildside_gateway.domain.idempotency import KeyClaimedConcurrently
from wildside_gateway.ports import IdempotencyClaim, NewRouteRequest

pytestmark = pytest.mark.contract
PAYLOAD = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60, "preferences": []}


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, 4)
    yield pool
    await pool.close()


@pytest.fixture(params=["fake", "postgres"])
async def store_and_user(request, pool) -> tuple[object, str]:
    user_id = str(
        await pool.fetchval(
            "INSERT INTO users (username, display_name, password_hash) VALUES ($1, 'T', 'x') "
            "RETURNING id",
            f"store-{uuid.uuid4().hex[:12]}",
        )
    )
    store = FakeRouteRequests() if request.param == "fake" else PostgresRouteRequests(pool)
    return store, user_id


def new(
    user_id: str, key: str | None = None, cached: dict | None = None, fingerprint: str = "a" * 64
) -> NewRouteRequest:
    request_id = str(uuid.uuid4())
    claim = None
    if key is not None:
        claim = IdempotencyClaim(
            key, fingerprint, 202, {"request_id": request_id}, timedelta(hours=24)
        )
    return NewRouteRequest(request_id, user_id, PAYLOAD, "route:v1:" + "0" * 64, claim, cached)


async def test_recorded_request_is_queued(store_and_user) -> None:
    store, user = store_and_user
    request = new(user)
    async with store.recording(request):
        pass
    state = await store.get(request.request_id)
    assert state is not None and state.status is RouteStatus.QUEUED
    assert state.user_id == user and state.result is None


async def test_an_error_inside_the_block_records_nothing(store_and_user) -> None:
    store, user = store_and_user
    request = new(user, key=str(uuid.uuid4()))
    with pytest.raises(RuntimeError):
        async with store.recording(request):
            raise RuntimeError("bus refused")
    assert await store.get(request.request_id) is None
    assert await store.stored_response(user, request.claim.key) is None


async def test_a_claimed_key_returns_its_response_and_refuses_a_second_claim(
    store_and_user,
) -> None:
    store, user = store_and_user
    key = str(uuid.uuid4())
    first = new(user, key, fingerprint="b" * 64)
    async with store.recording(first):
        pass
    stored = await store.stored_response(user, key)
    assert stored is not None
    assert (stored.request_id, stored.fingerprint, stored.status_code) == (
        first.request_id,
        "b" * 64,
        202,
    )
    assert stored.body == {"request_id": first.request_id}
    with pytest.raises(KeyClaimedConcurrently):
        async with store.recording(new(user, key)):
            pass


async def test_a_cache_hit_is_recorded_succeeded_with_its_route(store_and_user) -> None:
    store, user = store_and_user
    request = new(user, cached={"points": [{"lat": 1.0, "lng": 2.0, "name": "X"}]})
    async with store.recording(request):
        pass
    state = await store.get(request.request_id)
    assert state.status is RouteStatus.SUCCEEDED and state.progress == 100
    assert state.result == {"points": [{"lat": 1.0, "lng": 2.0, "name": "X"}]}


async def test_unknown_request_and_key_are_none(store_and_user) -> None:
    store, user = store_and_user
    assert await store.get(str(uuid.uuid4())) is None
    assert await store.stored_response(user, str(uuid.uuid4())) is None


async def test_concurrent_claims_of_one_key_let_exactly_one_commit(pool) -> None:
    store = PostgresRouteRequests(pool)
    user = str(
        await pool.fetchval(
            "INSERT INTO users (username, display_name, password_hash) VALUES ($1, 'T', 'x') "
            "RETURNING id",
            f"race-{uuid.uuid4().hex[:12]}",
        )
    )
    key = str(uuid.uuid4())

    async def attempt() -> str:
        request = new(user, key)
        try:
            async with store.recording(request):
                await asyncio.sleep(0.05)
        except KeyClaimedConcurrently:
            return "lost"
        return "won"

    outcomes = await asyncio.gather(*(attempt() for _ in range(4)))
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM route_requests WHERE user_id = $1", uuid.UUID(user)
        )
        == 1
    )


async def test_expired_keys_are_ignored_and_purged(pool) -> None:
    from wildside_gateway.adapters.outbound.postgres import PostgresMaintenance

    store = PostgresRouteRequests(pool)
    user = str(
        await pool.fetchval(
            "INSERT INTO users (username, display_name, password_hash) VALUES ($1, 'T', 'x') "
            "RETURNING id",
            f"expiry-{uuid.uuid4().hex[:12]}",
        )
    )
    key = str(uuid.uuid4())
    first = new(user, key)
    async with store.recording(first):
        pass
    await pool.execute(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1",
        uuid.UUID(key),
    )
    await pool.execute(
        "UPDATE route_requests SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(first.request_id),
    )
    assert await store.stored_response(user, key) is None
    assert await store.get(first.request_id) is None
    purged = await PostgresMaintenance(pool).purge_expired()
    assert purged["idempotency_keys"] >= 1 and purged["route_requests"] >= 1
    assert (
        await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", uuid.UUID(key))
        == 0
    )
