"""The Route schema's example through every adapter that stores or sends a route, on real
PostgreSQL and Redis: the router's result store -> the gateway's read -> its HTTP
response; the router's cache writer -> the gateway's cache reader -> the request it
records as a cache hit -> its HTTP response. Every body validates against
schemas/Route.schema.json and is the example, field for field."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg
import httpx
import pytest
from gateway_route_fakes import FakeAnnouncer, FakeLimiter, FakeQueue, FakeThemes
from jsonschema import Draft202012Validator
from redis.asyncio import Redis
from starlette.applications import Starlette

from wildside_common.messages import GenerateRouteJob, GeoPoint, utc_now
from wildside_common.pg import create_pool
from wildside_common.route import Route
from wildside_common.testing.db import insert_route_request, insert_user
from wildside_common.testing.routes import example_json, example_route, route_schema
from wildside_gateway.routes.adapters.inbound.http import RouteEndpoints
from wildside_gateway.routes.adapters.outbound.postgres import PostgresRouteRequests
from wildside_gateway.routes.adapters.outbound.redis_store import (
    RedisGuard,
    RedisRouteCache,
    connect_redis,
)
from wildside_gateway.routes.app import RouteService, SubmissionPolicy
from wildside_gateway.routes.domain.canonical import cache_key
from wildside_gateway.routes.domain.routes import DurationBounds, parse_route_request
from wildside_gateway.shared.domain.principal import Principal
from wildside_router.adapters.outbound.postgres import PostgresRouteStore
from wildside_router.adapters.outbound.route_cache import RedisRouteCacheWriter

pytestmark = pytest.mark.contract
BODY = {"start": {"lat": 60.1695, "lng": 24.9522}, "duration_minutes": 60, "preferences": []}
POLICY = SubmissionPolicy(DurationBounds(10, 480))


class OneUser:
    """`Authenticator`: every request is this user's."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id

    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> Principal:
        return Principal(self.user_id)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, 2)
    yield pool
    await pool.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def gateway(pool, redis, redis_prefix):
    """The gateway's route endpoints over its PostgreSQL store and Redis cache, as a user."""
    user_id = await insert_user(pool, "route-format")
    cache = RedisRouteCache(redis, RedisGuard(), redis_prefix)
    service = RouteService(
        PostgresRouteRequests(pool), FakeQueue(), FakeAnnouncer(), FakeThemes(), POLICY, cache,
        FakeLimiter(),
    )  # fmt: skip
    endpoints = RouteEndpoints(service, OneUser(user_id), max_body=16_384, retry_after=1)
    app = Starlette(routes=endpoints.routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client, user_id, cache


def sent_route(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    errors = [e.message for e in Draft202012Validator(route_schema()).iter_errors(body["route"])]
    assert errors == []
    return body["route"]


async def test_a_stored_route_is_read_and_sent_as_the_router_stored_it(pool, gateway) -> None:
    client, user_id, _ = gateway
    route = example_route()
    job = GenerateRouteJob(str(uuid.uuid4()), user_id, GeoPoint(60.1695, 24.9522), 60, (),
                           utc_now())  # fmt: skip
    store = PostgresRouteStore(pool)
    await insert_route_request(pool, job.request_id, user_id)
    assert await store.mark_running(job)
    assert await store.save_result(job.request_id, route)
    state = await PostgresRouteRequests(pool).get(job.request_id)
    assert state is not None and state.result == route
    response = await client.get(f"/api/v1/routes/{job.request_id}")
    assert sent_route(response) == example_json()


async def test_a_cached_route_is_read_recorded_and_sent_as_the_router_cached_it(
    redis, redis_prefix, gateway
) -> None:
    client, _, cache = gateway
    route: Route = example_route(sparse_area=True)  # not the default: the flag travels too
    request = parse_route_request(BODY, await FakeThemes().theme_ids(), POLICY.bounds)
    key = cache_key(request, POLICY.cache_namespace, POLICY.engine_version)
    await RedisRouteCacheWriter(redis, prefix=redis_prefix).store(key, route)
    assert await cache.get_many([key]) == [route]
    accepted = await client.post("/api/v1/routes", json=BODY)
    assert accepted.status_code == 202, accepted.text
    response = await client.get(f"/api/v1/routes/{accepted.json()['request_id']}")
    assert sent_route(response) == {**example_json(), "sparse_area": True}


async def test_an_unreadable_cache_entry_is_a_miss(redis, redis_prefix, gateway) -> None:
    _, _, cache = gateway
    key = f"route:v1:{uuid.uuid4().hex}"
    await redis.set(redis_prefix + key, b'{"points": []}')
    assert await cache.get_many([key]) == [None]


async def test_a_stored_route_that_is_not_one_is_a_server_error(pool, gateway) -> None:
    client, user_id, _ = gateway
    job = GenerateRouteJob(str(uuid.uuid4()), user_id, GeoPoint(60.1, 24.9), 60, (), utc_now())
    await insert_route_request(pool, job.request_id, user_id)
    assert await PostgresRouteStore(pool).mark_running(job)
    await pool.execute(
        "INSERT INTO route_results (request_id, route, expires_at) "
        "VALUES ($1, $2, now() + interval '1 hour')",
        uuid.UUID(job.request_id),
        {"points": []},
    )
    response = await client.get(f"/api/v1/routes/{job.request_id}")
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
