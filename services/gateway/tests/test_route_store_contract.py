"""One suite over both implementations of the RouteRequests port: the in-memory fake
and the PostgreSQL adapter against a real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import asyncpg
import pytest
from gateway_route_fakes import FakeRouteRequests

from wildside_common.messages import RouteStatus
from wildside_common.pagination import PageParams
from wildside_common.pg import create_pool
from wildside_common.route import Route
from wildside_common.testing.db import insert_user
from wildside_common.testing.routes import example_route
from wildside_common.testing.servers import scratch_database
from wildside_gateway.routes.adapters.outbound.postgres import PostgresRouteRequests
from wildside_gateway.routes.ports import IdempotencyClaim, NewRouteRequest

pytestmark = pytest.mark.contract
PAYLOAD = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60, "preferences": []}


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, 4, stateless=True, custom_plans=True)
    yield pool
    await pool.close()


@pytest.fixture(params=["fake", "postgres"])
async def store_and_user(request, pool) -> tuple[object, str]:
    user_id = await insert_user(pool, "store")
    store = (
        FakeRouteRequests(users={user_id})
        if request.param == "fake"
        else PostgresRouteRequests(pool)
    )
    return store, user_id


def new(
    user_id: str, key: str | None = None, cached: Route | None = None, fingerprint: str = "a" * 64
) -> NewRouteRequest:
    request_id = str(uuid.uuid4())
    claim = None
    if key is not None:
        claim = IdempotencyClaim(
            key, fingerprint, 202, {"request_id": request_id}, timedelta(hours=24)
        )
    return NewRouteRequest(request_id, user_id, PAYLOAD, "route:v1:" + "0" * 64, claim, cached)


async def stored(store, user: str, key: str):
    return (await store.stored_responses([(user, key)])).get((user, key))


async def record(store, *batch: NewRouteRequest) -> frozenset[str]:
    async with store.recording(list(batch)) as recording:
        return recording.recorded


async def test_recorded_request_is_queued(store_and_user) -> None:
    store, user = store_and_user
    request = new(user)
    assert await record(store, request) == {request.request_id}
    state = await store.get(request.request_id)
    assert state is not None and state.status is RouteStatus.QUEUED
    assert state.user_id == user and state.result is None


async def test_a_request_of_a_user_without_account_is_left_out_not_the_batch(
    store_and_user,
) -> None:
    """An account deleted while its session lives on: its request is not recorded and is
    named as such; the other requests of the batch are recorded."""
    store, user = store_and_user
    ours, gone = new(user, key=str(uuid.uuid4())), new(str(uuid.uuid4()), key=str(uuid.uuid4()))
    async with store.recording([gone, ours]) as recording:
        assert recording.recorded == {ours.request_id}
        assert recording.unknown_user == {gone.request_id}
    assert await store.get(ours.request_id) is not None
    assert await store.get(gone.request_id) is None
    assert await stored(store, gone.user_id, gone.claim.key) is None


async def test_an_error_inside_the_block_records_nothing(store_and_user) -> None:
    store, user = store_and_user
    request = new(user, key=str(uuid.uuid4()))
    with pytest.raises(RuntimeError):
        async with store.recording([request]):
            raise RuntimeError("bus refused")
    assert await store.get(request.request_id) is None
    assert await stored(store, user, request.claim.key) is None


async def test_a_claimed_key_returns_its_response_and_refuses_a_second_claim(
    store_and_user,
) -> None:
    store, user = store_and_user
    key = str(uuid.uuid4())
    first = new(user, key, fingerprint="b" * 64)
    await record(store, first)
    found = await stored(store, user, key)
    assert found is not None
    assert (found.request_id, found.fingerprint, found.status_code) == (
        first.request_id,
        "b" * 64,
        202,
    )
    assert found.body == {"request_id": first.request_id}
    second = new(user, key)
    assert await record(store, second) == frozenset()
    assert await store.get(second.request_id) is None


async def test_a_batch_records_each_request_and_claims_each_key_once(store_and_user) -> None:
    store, user = store_and_user
    keyed, again, plain, hit = (
        new(user, "00000000-0000-4000-8000-000000000001"),
        new(user, "00000000-0000-4000-8000-000000000001", fingerprint="c" * 64),
        new(user),
        new(user, str(uuid.uuid4()), cached=example_route()),
    )
    recorded = await record(store, plain, keyed, hit, again)
    assert recorded == {keyed.request_id, plain.request_id, hit.request_id}
    assert (await stored(store, user, keyed.claim.key)).request_id == keyed.request_id
    assert (await store.get(hit.request_id)).status is RouteStatus.SUCCEEDED
    assert (await store.get(plain.request_id)).status is RouteStatus.QUEUED
    assert await store.get(again.request_id) is None


async def test_discarded_requests_leave_no_trace_and_the_rest_commit(store_and_user) -> None:
    store, user = store_and_user
    kept, dropped = new(user, str(uuid.uuid4())), new(user, str(uuid.uuid4()))
    async with store.recording([kept, dropped]) as recording:
        await recording.discard([dropped.request_id])
        assert recording.recorded == {kept.request_id}
    assert await store.get(kept.request_id) is not None
    assert await stored(store, user, kept.claim.key) is not None
    assert await store.get(dropped.request_id) is None
    assert await stored(store, user, dropped.claim.key) is None


async def test_stored_responses_answers_many_keys_at_once(store_and_user) -> None:
    store, user = store_and_user
    first, second = new(user, str(uuid.uuid4())), new(user, str(uuid.uuid4()))
    await record(store, first, second)
    unknown = str(uuid.uuid4())
    found = await store.stored_responses(
        [(user, first.claim.key), (user, unknown), (user, second.claim.key)]
    )
    assert set(found) == {(user, first.claim.key), (user, second.claim.key)}
    assert found[(user, second.claim.key)].request_id == second.request_id
    assert await store.stored_responses([]) == {}


async def test_a_cache_hit_is_recorded_succeeded_with_its_route(store_and_user) -> None:
    store, user = store_and_user
    route = example_route()
    request = new(user, cached=route)
    await record(store, request)
    state = await store.get(request.request_id)
    assert state.status is RouteStatus.SUCCEEDED and state.progress == 100
    assert state.result == route


async def test_unknown_request_and_key_are_none(store_and_user) -> None:
    store, user = store_and_user
    assert await store.get(str(uuid.uuid4())) is None
    assert await stored(store, user, str(uuid.uuid4())) is None


async def test_concurrent_claims_of_one_key_let_exactly_one_commit(pool) -> None:
    store = PostgresRouteRequests(pool)
    user = await insert_user(pool, "race")
    key = str(uuid.uuid4())

    async def attempt() -> str:
        async with store.recording([new(user, key)]) as recording:
            await asyncio.sleep(0.05)
            return "won" if recording.recorded else "lost"

    outcomes = await asyncio.gather(*(attempt() for _ in range(4)))
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM route_requests WHERE user_id = $1", uuid.UUID(user)
        )
        == 1
    )


async def test_batches_claiming_keys_in_opposite_orders_do_not_deadlock(pool) -> None:
    """Batch A waits on a key held by C after taking k1; B, given k2 before k1, must not
    hold k2 while waiting on A (claims go in key order), or A and B would deadlock."""
    store = PostgresRouteRequests(pool)
    user = await insert_user(pool, "order")
    k1, k2, k3 = (f"00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))
    holder = new(user, k3)
    first = [new(user, k1), new(user, k3), new(user, k2)]
    second = [new(user, k2), new(user, k1)]

    async def batch(items: list[NewRouteRequest]) -> frozenset[str]:
        async with store.recording(items) as recording:
            await asyncio.sleep(0.05)
            return recording.recorded

    async with store.recording([holder]):
        a = asyncio.create_task(batch(first))
        await asyncio.sleep(0.3)  # A has claimed what it could and waits on k3
        b = asyncio.create_task(batch(second))
        await asyncio.sleep(0.3)
    recorded_a, recorded_b = await asyncio.wait_for(asyncio.gather(a, b), 10)
    assert recorded_a == {first[0].request_id, first[2].request_id}
    assert recorded_b == frozenset()


async def test_expired_keys_are_ignored_and_purged(pool) -> None:
    from wildside_gateway.routes.adapters.outbound.postgres import PostgresMaintenance

    store = PostgresRouteRequests(pool)
    user = await insert_user(pool, "expiry")
    key = str(uuid.uuid4())
    first = new(user, key)
    await record(store, first)
    await pool.execute(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1",
        uuid.UUID(key),
    )
    await pool.execute(
        "UPDATE route_requests SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(first.request_id),
    )
    assert await stored(store, user, key) is None
    assert await store.get(first.request_id) is None
    again = new(user, key, fingerprint="d" * 64)  # the key's window passed: claimable
    assert await record(store, again) == {again.request_id}
    assert (await stored(store, user, key)).request_id == again.request_id
    await pool.execute(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1",
        uuid.UUID(key),
    )
    purged = await PostgresMaintenance(pool).purge_expired()
    assert purged["idempotency_keys"] >= 1 and purged["route_requests"] >= 1
    assert (
        await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", uuid.UUID(key))
        == 0
    )


async def test_key_lookups_keep_using_the_index_once_the_table_has_grown() -> None:
    """A statement first run on an empty table must not keep an empty-table plan: the
    lookup stays an index scan after the table grows (pg.create_pool custom plans)."""
    with scratch_database() as url:
        pool = await create_pool(url, 1, stateless=True, custom_plans=True)
        try:
            user = await insert_user(pool, "grow")
            store = PostgresRouteRequests(pool)
            probe = [(user, str(uuid.uuid4())) for _ in range(5)]
            for _ in range(8):  # enough runs for PostgreSQL to consider a generic plan
                await store.stored_responses(probe)
            await pool.execute(
                "INSERT INTO idempotency_keys (user_id, key, payload_sha256, request_id, "
                "response_status, response_body, expires_at) "
                "SELECT $1, gen_random_uuid(), repeat('a', 64), gen_random_uuid(), 202, "
                "'{}'::jsonb, now() + interval '1 day' FROM generate_series(1, 20000)",
                uuid.UUID(user),
            )
            before = await seq_scans(pool, url)
            for _ in range(20):
                await store.stored_responses(probe)
            assert await seq_scans(pool, url) - before < 5
        finally:
            await pool.close()


async def seq_scans(pool: asyncpg.Pool, url: str) -> int:
    """Sequential scans of idempotency_keys so far, the pool's own included (a backend
    publishes its counters when idle, at most once a second: ask it to, then wait)."""
    await pool.execute("SELECT pg_stat_force_next_flush()")
    await asyncio.sleep(1.2)
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'idempotency_keys'"
            )
        )
    finally:
        await conn.close()


async def set_status(store, request_id: str, status: RouteStatus) -> None:
    """The router's write (test set-up) on the store under test."""
    if isinstance(store, FakeRouteRequests):
        store.finish(request_id, status) if status.final else store.requests.update(
            {request_id: replace(store.requests[request_id], status=status)}
        )
        return
    await store.pool.execute(
        "UPDATE route_requests SET status = $2, error = CASE WHEN $2 = 'failed' THEN 'x' END "
        "WHERE id = $1",
        uuid.UUID(request_id),
        status.value,
    )


@pytest.mark.parametrize("status", [RouteStatus.QUEUED, RouteStatus.RUNNING])
async def test_an_open_request_is_cancelled_once(store_and_user, status: RouteStatus) -> None:
    store, user = store_and_user
    request = new(user)
    await record(store, request)
    await set_status(store, request.request_id, status)
    first = await store.cancel(request.request_id, user)
    assert (first.found, first.status, first.previous) == (True, RouteStatus.CANCELLED, status)
    assert first.cancelled
    state = await store.get(request.request_id)
    assert state is not None and state.status is RouteStatus.CANCELLED
    again = await store.cancel(request.request_id, user)
    assert (again.found, again.status, again.previous) == (True, RouteStatus.CANCELLED, None)


@pytest.mark.parametrize("status", [RouteStatus.SUCCEEDED, RouteStatus.FAILED])
async def test_an_ended_request_is_not_cancelled(store_and_user, status: RouteStatus) -> None:
    store, user = store_and_user
    request = new(user)
    await record(store, request)
    await set_status(store, request.request_id, status)
    found = await store.cancel(request.request_id, user)
    assert (found.found, found.status, found.cancelled) == (True, status, False)
    state = await store.get(request.request_id)
    assert state is not None and state.status is status


async def test_another_users_or_an_unknown_request_is_not_found_and_not_moved(
    store_and_user, pool
) -> None:
    store, user = store_and_user
    request = new(user)
    await record(store, request)
    other = await insert_user(pool, "other")
    assert not (await store.cancel(request.request_id, other)).found
    assert not (await store.cancel(str(uuid.uuid4()), user)).found
    state = await store.get(request.request_id)
    assert state is not None and state.status is RouteStatus.QUEUED


@pytest.fixture(params=["fake", "postgres"])
async def listing(request, pool):
    """(store, user, other user, expire(request_id)) over both implementations."""
    user, other = await insert_user(pool, "lister"), await insert_user(pool, "other")
    if request.param == "fake":
        fake = FakeRouteRequests()

        async def expire_fake(request_id: str) -> None:
            fake.created[request_id] -= timedelta(hours=25)

        return fake, user, other, expire_fake

    async def expire(request_id: str) -> None:
        await pool.execute(
            "UPDATE route_requests SET expires_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(request_id),
        )

    return PostgresRouteRequests(pool), user, other, expire


async def test_the_listing_is_the_users_unexpired_requests_with_summaries(listing) -> None:
    store, user, other, expire = listing
    queued, done, gone = new(user), new(user, cached=example_route()), new(user)
    await record(store, queued)
    await record(store, done)
    await record(store, gone)
    await record(store, new(other))
    await expire(gone.request_id)
    window = await store.page(user, PageParams(limit=10))
    assert [item.request_id for item in window.items] == [done.request_id, queued.request_id]
    assert window.next_cursor is None and window.prev_cursor is None
    finished, waiting = window.items
    assert finished.status is RouteStatus.SUCCEEDED and finished.progress == 100
    assert finished.walk.distance_m == example_route().distance_m
    assert finished.walk.stops == len(example_route().places)
    assert finished.walk.duration_minutes == 60 and finished.walk.themes == ()
    assert finished.walk.start.lat == 60.17 and finished.walk.start.lng == 24.94
    assert waiting.status is RouteStatus.QUEUED
    assert waiting.walk.distance_m is None and waiting.walk.stops is None
    assert finished.created_at >= waiting.created_at


async def test_the_listing_pages_newest_first_through_ties_and_back(listing) -> None:
    store, user, _, _ = listing
    batch = [new(user) for _ in range(5)]
    await record(store, *batch)  # one transaction: every row shares its created_at
    params, seen, windows = PageParams(limit=2), [], []
    while True:
        window = await store.page(user, params)
        windows.append(window)
        seen += [item.request_id for item in window.items]
        if window.next_cursor is None:
            break
        params = PageParams(2, window.next_cursor)
    assert sorted(seen) == sorted(b.request_id for b in batch) and len(seen) == 5
    assert len(windows) == 3
    back = await store.page(user, PageParams(2, windows[-1].prev_cursor))
    assert [item.request_id for item in back.items] == seen[2:4]
