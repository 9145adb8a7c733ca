"""One suite over both implementations of the SavedRoutes port: the in-memory fake and the
PostgreSQL adapter against a real database; and the cap under concurrent saves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import pytest
from gateway_route_fakes import FakeLimiter
from gateway_saved_fakes import FakeSavedRoutes

from wildside_common.errors import LimitReached
from wildside_common.messages import RouteStatus
from wildside_common.pagination import PageParams
from wildside_common.pg import create_pool
from wildside_common.route import Route, route_to_json
from wildside_common.testing.db import insert_user
from wildside_common.testing.routes import example_route
from wildside_gateway.routes.ports import IdempotencyClaim
from wildside_gateway.saved.adapters.outbound.postgres import PostgresSavedRoutes
from wildside_gateway.saved.app import SavedRouteService, SavePolicy
from wildside_gateway.saved.domain.saved import NewSavedRoute, SourceRequest
from wildside_gateway.shared.domain.principal import Principal

pytestmark = pytest.mark.contract
PAYLOAD = {
    "start": {"lat": 60.17, "lng": 24.94},
    "duration_minutes": 60,
    "preferences": ["history", "art"],
}

Seed = Callable[[str, RouteStatus, Route | None], Awaitable[str]]


@dataclass
class Setup:
    store: object
    seed: Seed  # a route request of `user` with this status (and route), its id
    user: str
    other: str


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, 8, stateless=True, custom_plans=True)
    yield pool
    await pool.close()


async def seed_row(pool: asyncpg.Pool, user: str, status: RouteStatus, route: Route | None) -> str:
    request_id = str(uuid.uuid4())
    error = "boom" if status is RouteStatus.FAILED else None
    await pool.execute(
        "INSERT INTO route_requests (id, user_id, status, progress, error, payload) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        uuid.UUID(request_id),
        uuid.UUID(user),
        status.value,
        100 if status.final else 0,
        error,
        PAYLOAD,
    )
    if route is not None:
        await pool.execute(
            "INSERT INTO route_results (request_id, route) VALUES ($1, $2)",
            uuid.UUID(request_id),
            route_to_json(route),
        )
    return request_id


@pytest.fixture(params=["fake", "postgres"])
async def setup(request, pool) -> Setup:
    user, other = await insert_user(pool, "saver"), await insert_user(pool, "other")
    if request.param == "postgres":

        async def seed(owner: str, status: RouteStatus, route: Route | None) -> str:
            return await seed_row(pool, owner, status, route)

        return Setup(PostgresSavedRoutes(pool), seed, user, other)
    fake = FakeSavedRoutes()

    async def seed_fake(owner: str, status: RouteStatus, route: Route | None) -> str:
        request_id = str(uuid.uuid4())
        fake.sources[request_id] = SourceRequest(request_id, owner, status, PAYLOAD, route)
        return request_id

    return Setup(fake, seed_fake, user, other)


async def save(setup: Setup, name: str = "Morning walk", owner: str | None = None):
    owner = owner or setup.user
    route = example_route()
    request_id = await setup.seed(owner, RouteStatus.SUCCEEDED, route)
    async with setup.store.saving(owner) as saving:
        source = await saving.source(request_id)
        return await saving.insert(
            NewSavedRoute(str(uuid.uuid4()), owner, request_id, name, source.payload, source.route)
        )


async def test_a_source_is_read_with_status_payload_and_route(setup: Setup) -> None:
    route = example_route()
    done = await setup.seed(setup.user, RouteStatus.SUCCEEDED, route)
    queued = await setup.seed(setup.user, RouteStatus.QUEUED, None)
    async with setup.store.saving(setup.user) as saving:
        found = await saving.source(done)
        pending = await saving.source(queued)
        unknown = await saving.source(str(uuid.uuid4()))
    assert found is not None and found.route == route and found.user_id == setup.user
    assert found.status is RouteStatus.SUCCEEDED and dict(found.payload) == PAYLOAD
    assert pending is not None and pending.status is RouteStatus.QUEUED and pending.route is None
    assert unknown is None


async def test_a_saved_route_reads_back_whole_for_its_owner_only(setup: Setup) -> None:
    saved = await save(setup)
    found = await setup.store.get(setup.user, saved.summary.saved_id)
    assert found == saved
    assert found.route == example_route()
    walk = found.summary.walk
    assert walk.distance_m == example_route().distance_m
    assert walk.stops == len(example_route().places)
    assert walk.themes == ("history", "art") and walk.duration_minutes == 60
    assert await setup.store.get(setup.other, saved.summary.saved_id) is None
    assert await setup.store.get(setup.user, str(uuid.uuid4())) is None


async def test_an_error_inside_the_block_saves_nothing_and_binds_no_key(setup: Setup) -> None:
    request_id = await setup.seed(setup.user, RouteStatus.SUCCEEDED, example_route())
    key, saved_id = str(uuid.uuid4()), str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        async with setup.store.saving(setup.user) as saving:
            source = await saving.source(request_id)
            new = NewSavedRoute(saved_id, setup.user, request_id, "x", PAYLOAD, source.route)
            saved = await saving.insert(new)
            claim = IdempotencyClaim(key, "a" * 64, 201, saved.summary.view(), timedelta(hours=1))
            await saving.claim(saved_id, claim)
            raise RuntimeError("changed my mind")
    assert await setup.store.get(setup.user, saved_id) is None
    async with setup.store.saving(setup.user) as saving:
        assert await saving.count() == 0
        assert await saving.stored_response(key) is None


async def test_a_claimed_key_is_read_back_by_its_user_only(setup: Setup) -> None:
    request_id = await setup.seed(setup.user, RouteStatus.SUCCEEDED, example_route())
    key = str(uuid.uuid4())
    async with setup.store.saving(setup.user) as saving:
        new = NewSavedRoute(
            str(uuid.uuid4()), setup.user, request_id, "x", PAYLOAD, example_route()
        )
        saved = await saving.insert(new)
        body = saved.summary.view()
        await saving.claim(
            saved.summary.saved_id, IdempotencyClaim(key, "b" * 64, 201, body, timedelta(hours=1))
        )
    async with setup.store.saving(setup.user) as saving:
        stored = await saving.stored_response(key)
    assert stored is not None
    assert (stored.fingerprint, stored.request_id, stored.status_code, stored.body) == (
        "b" * 64,
        saved.summary.saved_id,
        201,
        body,
    )
    async with setup.store.saving(setup.other) as saving:
        assert await saving.stored_response(key) is None


async def test_count_is_per_user(setup: Setup) -> None:
    await save(setup)
    await save(setup)
    await save(setup, owner=setup.other)
    async with setup.store.saving(setup.user) as saving:
        assert await saving.count() == 2
    async with setup.store.saving(setup.other) as saving:
        assert await saving.count() == 1


async def test_rename_and_delete_touch_the_owners_route_only(setup: Setup) -> None:
    saved = await save(setup)
    saved_id = saved.summary.saved_id
    assert await setup.store.rename(setup.other, saved_id, "Mine now") is None
    assert await setup.store.delete(setup.other, saved_id) is False
    renamed = await setup.store.rename(setup.user, saved_id, "Evening walk")
    assert renamed is not None and renamed.name == "Evening walk"
    assert renamed.updated_at >= renamed.created_at == saved.summary.created_at
    assert (await setup.store.get(setup.user, saved_id)).summary.name == "Evening walk"
    assert await setup.store.delete(setup.user, saved_id) is True
    assert await setup.store.delete(setup.user, saved_id) is False
    assert await setup.store.get(setup.user, saved_id) is None
    assert await setup.store.rename(setup.user, saved_id, "Gone") is None


async def test_pages_walk_newest_first_to_the_end_and_back(setup: Setup) -> None:
    ids = [(await save(setup, f"walk {i}")).summary.saved_id for i in range(5)]
    await save(setup, owner=setup.other)
    newest_first = list(reversed(ids))
    params, seen, windows = PageParams(limit=2), [], []
    while True:
        window = await setup.store.page(setup.user, params)
        windows.append(window)
        seen += [item.saved_id for item in window.items]
        if window.next_cursor is None:
            break
        params = PageParams(2, window.next_cursor)
    assert seen == newest_first and len(windows) == 3
    back = await setup.store.page(setup.user, PageParams(2, windows[-1].prev_cursor))
    assert [item.saved_id for item in back.items] == newest_first[2:4]
    first = await setup.store.page(setup.user, PageParams(2, back.prev_cursor))
    assert [item.saved_id for item in first.items] == newest_first[:2]
    assert first.prev_cursor is None


@pytest.mark.parametrize("kind", ["fake", "postgres"])
async def test_concurrent_saves_never_pass_the_cap(kind: str, pool) -> None:
    user = await insert_user(pool, "racer")
    store = FakeSavedRoutes() if kind == "fake" else PostgresSavedRoutes(pool)
    service = SavedRouteService(store, FakeLimiter(), SavePolicy(cap=3))
    request_ids = []
    for _ in range(8):
        if kind == "fake":
            request_id = str(uuid.uuid4())
            store.sources[request_id] = SourceRequest(
                request_id, user, RouteStatus.SUCCEEDED, PAYLOAD, example_route()
            )
        else:
            request_id = await seed_row(pool, user, RouteStatus.SUCCEEDED, example_route())
        request_ids.append(request_id)
    principal = Principal(user)
    outcomes = await asyncio.gather(
        *(service.save(principal, {"request_id": r, "name": "n"}) for r in request_ids),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(outcomes) - len(refused) == 3
    assert len(refused) == 5 and all(isinstance(o, LimitReached) for o in refused)
    window = await store.page(user, PageParams(limit=20))
    assert len(window.items) == 3


async def test_an_expired_request_is_no_source(pool) -> None:
    user = await insert_user(pool, "late")
    request_id = await seed_row(pool, user, RouteStatus.SUCCEEDED, example_route())
    await pool.execute(
        "UPDATE route_requests SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(request_id),
    )
    async with PostgresSavedRoutes(pool).saving(user) as saving:
        assert await saving.source(request_id) is None


async def test_deleting_the_user_deletes_their_saved_routes(pool) -> None:
    user = await insert_user(pool, "leaver")
    store = PostgresSavedRoutes(pool)
    setup = Setup(store, lambda o, s, r: seed_row(pool, o, s, r), user, user)
    saved = await save(setup)
    await pool.execute("DELETE FROM users WHERE id = $1", uuid.UUID(user))
    count = await pool.fetchval(
        "SELECT count(*) FROM saved_routes WHERE id = $1", uuid.UUID(saved.summary.saved_id)
    )
    assert count == 0
