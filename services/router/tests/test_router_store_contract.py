"""One suite over the router's RouteStore: the in-memory fake and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest
from router_fakes import FakeRouteStore

from wildside_common.errors import InvalidInput
from wildside_common.messages import GenerateRouteJob, GeoPoint, RouteStatus, utc_now
from wildside_common.pg import create_pool
from wildside_common.testing.db import insert_route_request, insert_user
from wildside_common.testing.routes import example_route
from wildside_common.transport.jetstream import Action, disposition_for
from wildside_router.adapters.outbound.postgres import PostgresRouteStore
from wildside_router.ports import RequestNotRecorded

pytestmark = pytest.mark.contract


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, 2)
    yield pool
    await pool.close()


@pytest.fixture(params=["fake", "postgres"])
async def store_and_job(request, pool):
    user_id = await insert_user(pool, "router")
    job = GenerateRouteJob(str(uuid.uuid4()), user_id, GeoPoint(60.1, 24.9), 30, (), utc_now())
    if request.param == "fake":
        store: FakeRouteStore | PostgresRouteStore = FakeRouteStore()
        store.queue(job.request_id)
    else:
        store = PostgresRouteStore(pool)
        await insert_route_request(pool, job.request_id, user_id)
    return store, job


async def test_unknown_request_has_no_status(store_and_job) -> None:
    store, job = store_and_job
    assert await store.status_of(str(uuid.uuid4())) is None
    assert await store.status_of(job.request_id) == (RouteStatus.QUEUED, None)


async def test_a_job_whose_request_was_never_recorded_is_refused_and_leaves_no_row(
    store_and_job,
) -> None:
    # The gateway published the job, then its transaction rolled back: no row to move.
    store, recorded = store_and_job
    job = replace(recorded, request_id=str(uuid.uuid4()))
    with pytest.raises(RequestNotRecorded) as caught:
        await store.mark_running(job)
    assert isinstance(caught.value, InvalidInput)
    assert disposition_for(caught.value, 1).action is Action.TERM  # dead-lettered at once
    assert await store.status_of(job.request_id) is None
    assert not await store.mark_failed(job.request_id, "dead-lettered")
    assert await store.status_of(job.request_id) is None


async def test_running_then_result_stored_once(store_and_job) -> None:
    store, job = store_and_job
    assert await store.mark_running(job)
    assert (await store.status_of(job.request_id))[0] is RouteStatus.RUNNING
    assert await store.save_result(job.request_id, example_route())
    assert not await store.save_result(job.request_id, example_route(distance_m=2.0))
    assert await store.status_of(job.request_id) == (RouteStatus.SUCCEEDED, None)
    assert not await store.mark_running(job)
    assert not await store.mark_failed(job.request_id, "late")


async def test_failure_is_final_and_keeps_its_error(store_and_job) -> None:
    store, job = store_and_job
    await store.mark_running(job)
    await store.set_progress(job.request_id, 40)
    assert await store.mark_failed(job.request_id, "timeout")
    assert await store.status_of(job.request_id) == (RouteStatus.FAILED, "timeout")
    assert not await store.save_result(job.request_id, example_route())


async def test_the_postgres_store_keeps_one_result_row(pool) -> None:
    store = PostgresRouteStore(pool)
    user_id = await insert_user(pool, "router")
    job = GenerateRouteJob(str(uuid.uuid4()), user_id, GeoPoint(60.1, 24.9), 30, (), utc_now())
    await insert_route_request(pool, job.request_id, user_id)
    await store.mark_running(job)
    await store.mark_running(job)
    await store.save_result(job.request_id, example_route())
    row = await pool.fetchrow(
        "SELECT attempts, progress FROM route_requests WHERE id = $1", uuid.UUID(job.request_id)
    )
    assert (row["attempts"], row["progress"]) == (2, 100)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM route_results WHERE request_id = $1", uuid.UUID(job.request_id)
        )
        == 1
    )


async def test_a_job_for_an_unknown_user_is_invalid_input_so_the_worker_terms_it(pool) -> None:
    # A foreign-key violation fails the same way on every redelivery: InvalidInput, which
    # the JetStream mapping answers with term (dead letter), not nak.
    store = PostgresRouteStore(pool)
    job = GenerateRouteJob(
        str(uuid.uuid4()), str(uuid.uuid4()), GeoPoint(60.1, 24.9), 30, (), utc_now()
    )
    with pytest.raises(InvalidInput) as caught:
        await store.mark_running(job)
    assert caught.value.details == {"reason": "reference"}
    assert disposition_for(caught.value, 1).action is Action.TERM
    assert await store.status_of(job.request_id) is None


async def cancelled(store, pool, request_id: str) -> None:
    """The gateway's cancel (its own conditional UPDATE), on the store under test."""
    if isinstance(store, FakeRouteStore):
        assert store.cancel(request_id)
        return
    moved = await pool.fetchval(
        "UPDATE route_requests SET status = 'cancelled' "
        "WHERE id = $1 AND status IN ('queued', 'running') RETURNING id",
        uuid.UUID(request_id),
    )
    assert moved is not None


async def test_a_cancelled_request_is_final_for_every_router_write(store_and_job) -> None:
    store, job = store_and_job
    assert await store.mark_running(job)
    assert await store.set_progress(job.request_id, 30)
    await cancelled(store, getattr(store, "pool", None), job.request_id)
    assert await store.status_of(job.request_id) == (RouteStatus.CANCELLED, None)
    assert not await store.set_progress(job.request_id, 40)  # the cancel checkpoint
    assert not await store.mark_running(job)  # a redelivery never starts it again
    assert not await store.save_result(job.request_id, example_route())
    assert not await store.mark_failed(job.request_id, "timeout")
    assert await store.status_of(job.request_id) == (RouteStatus.CANCELLED, None)


async def test_progress_reports_whether_the_request_still_runs(store_and_job) -> None:
    store, job = store_and_job
    assert await store.mark_running(job)
    assert await store.set_progress(job.request_id, 50)
    assert await store.set_progress(job.request_id, 20)  # never lowered, still running
    assert await store.save_result(job.request_id, example_route())
    assert not await store.set_progress(job.request_id, 60)
