"""A user's cancel racing the router's own final write, on a real PostgreSQL: the
gateway's conditional cancel (`PostgresRouteRequests.cancel`) against the router's
conditional result and failure writes (`PostgresRouteStore`). Whatever the order,
exactly one of them moves the request and its status is the one stored; a route is
stored only when the result won."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from wildside_common.messages import GenerateRouteJob, GeoPoint, RouteStatus, utc_now
from wildside_common.pg import create_pool
from wildside_common.testing.db import insert_route_request, insert_user
from wildside_common.testing.routes import example_route
from wildside_gateway.routes.adapters.outbound.postgres import PostgresRouteRequests
from wildside_router.adapters.outbound.postgres import PostgresRouteStore

pytestmark = pytest.mark.contract


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, 6)
    yield pool
    await pool.close()


async def running_request(pool: asyncpg.Pool, router: PostgresRouteStore) -> tuple[str, str]:
    user_id = await insert_user(pool, "race")
    job = GenerateRouteJob(str(uuid.uuid4()), user_id, GeoPoint(60.17, 24.94), 30, (), utc_now())
    await insert_route_request(pool, job.request_id, user_id)
    assert await router.mark_running(job)
    return job.request_id, user_id


async def stored(pool: asyncpg.Pool, request_id: str) -> tuple[str, int]:
    row = await pool.fetchrow(
        "SELECT r.status, (SELECT count(*) FROM route_results s WHERE s.request_id = r.id) AS n "
        "FROM route_requests r WHERE r.id = $1",
        uuid.UUID(request_id),
    )
    return row["status"], row["n"]


async def router_write(router: PostgresRouteStore, request_id: str, kind: str) -> bool:
    if kind == "succeeded":
        return await router.save_result(request_id, example_route())
    return await router.mark_failed(request_id, "timeout")


@pytest.mark.parametrize("kind", ["succeeded", "failed"])
@pytest.mark.parametrize("first", ["cancel", "router"])
async def test_whoever_takes_the_row_first_wins_and_the_other_moves_nothing(
    pool: asyncpg.Pool, kind: str, first: str
) -> None:
    gateway, router = PostgresRouteRequests(pool), PostgresRouteStore(pool)
    request_id, user_id = await running_request(pool, router)
    holder = await pool.acquire()
    try:
        transaction = holder.transaction()
        await transaction.start()
        # Hold the row: both writers queue on its lock, in the order they are started.
        await holder.execute(
            "SELECT 1 FROM route_requests WHERE id = $1 FOR UPDATE", uuid.UUID(request_id)
        )
        cancel = lambda: gateway.cancel(request_id, user_id)  # noqa: E731
        write = lambda: router_write(router, request_id, kind)  # noqa: E731
        one, two = (cancel, write) if first == "cancel" else (write, cancel)
        task_one = asyncio.create_task(one())
        await asyncio.sleep(0.3)
        task_two = asyncio.create_task(two())
        await asyncio.sleep(0.3)
        assert not task_one.done() and not task_two.done()  # both wait on the lock
        await transaction.commit()
        results = await asyncio.gather(task_one, task_two)
    finally:
        await pool.release(holder)
    cancelled, written = (results[0], results[1]) if first == "cancel" else results[::-1]
    if first == "cancel":
        assert cancelled.previous is RouteStatus.RUNNING and written is False
        assert await stored(pool, request_id) == ("cancelled", 0)
    else:
        assert written is True and not cancelled.cancelled
        assert cancelled.status is RouteStatus(kind)
        assert await stored(pool, request_id) == (kind, 1 if kind == "succeeded" else 0)


async def test_concurrent_cancels_and_results_end_in_exactly_one_final_status(
    pool: asyncpg.Pool,
) -> None:
    gateway, router = PostgresRouteRequests(pool), PostgresRouteStore(pool)
    winners: dict[str, int] = {"cancel": 0, "router": 0}
    for _ in range(40):
        request_id, user_id = await running_request(pool, router)
        cancelled, saved = await asyncio.gather(
            gateway.cancel(request_id, user_id), router.save_result(request_id, example_route())
        )
        assert cancelled.cancelled != saved  # exactly one of them moved it
        status, routes = await stored(pool, request_id)
        if saved:
            winners["router"] += 1
            assert (status, routes) == ("succeeded", 1)
            assert cancelled.status is RouteStatus.SUCCEEDED
        else:
            winners["cancel"] += 1
            assert (status, routes) == ("cancelled", 0)
    assert sum(winners.values()) == 40
