"""Cancelled route requests through the router's real bootstrap (pull worker, PostgreSQL
store, JetStream status publisher) on a nats-server of its own: a job whose request was
cancelled while queued is acknowledged without being solved; a running solve stops at
its next progress report once the request is cancelled, and the job is acknowledged.
The planner is a stand-in that reports progress from a worker thread, as the solver does.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from nats.js import JetStreamContext

from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import (
    ROUTE_JOB_SUBJECT,
    ROUTE_JOBS_STREAM,
    ROUTE_STATUS_STREAM,
    ROUTER_CONSUMER,
    status_subject,
)
from wildside_common.codec import decode
from wildside_common.config import EnvReader
from wildside_common.messages import (
    GenerateRouteJob,
    GeoPoint,
    RouteGenerationStatus,
    RouteStatus,
    utc_now,
)
from wildside_common.route import Route
from wildside_common.testing import servers
from wildside_common.testing.db import insert_route_request, insert_user
from wildside_common.testing.routes import example_route
from wildside_common.testing.servers import unique_prefix
from wildside_router.app import JobCancelled
from wildside_router.bootstrap import Router, bootstrap
from wildside_router.config import RouterSettings
from wildside_router.ports import Progress

pytestmark = pytest.mark.contract
CANCEL = (
    "UPDATE route_requests SET status = 'cancelled', updated_at = now() "
    "WHERE id = $1 AND status IN ('queued', 'running') RETURNING id"
)


class ThreadedPlanner:
    """Reports progress every 5 ms for `seconds` from a worker thread, then a route."""

    def __init__(self, seconds: float = 6.0) -> None:
        self.seconds = seconds
        self.started: dict[str, threading.Event] = {}
        self.outcome: dict[str, str] = {}

    def started_event(self, request_id: str) -> threading.Event:
        return self.started.setdefault(request_id, threading.Event())

    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Route:
        def solve() -> Route:
            self.started_event(job.request_id).set()
            began = time.monotonic()
            try:
                while (spent := time.monotonic() - began) < self.seconds:
                    progress(spent / self.seconds)
                    time.sleep(0.005)
            except JobCancelled:
                self.outcome[job.request_id] = f"stopped after {time.monotonic() - began:.2f}s"
                raise
            self.outcome[job.request_id] = "finished"
            return example_route()

        return await asyncio.to_thread(solve)


@pytest.fixture(scope="module")
def own_nats() -> Iterator[servers.NatsServer]:
    with servers.nats_server() as server:
        yield server


@pytest.fixture
async def router_and_planner(
    own_nats: servers.NatsServer, database_url: str, redis_url: str
) -> AsyncIterator[tuple[Router, ThreadedPlanner]]:
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": own_nats.url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": unique_prefix(),
        "ROUTER_JOB_TIMEOUT_SECONDS": "30",
        "ROUTER_ACK_WAIT_SECONDS": "5",
    }
    planner = ThreadedPlanner()
    async with bootstrap(RouterSettings.from_env(EnvReader(env)), planner=planner) as router:
        stop = asyncio.Event()
        task = asyncio.create_task(router.jobs.run(stop))
        try:
            yield router, planner
        finally:
            stop.set()
            await asyncio.wait_for(task, 40)


async def queued_request(router: Router) -> GenerateRouteJob:
    user_id = await insert_user(router.pool, "cancel")
    job = GenerateRouteJob(str(uuid.uuid4()), user_id, GeoPoint(60.17, 24.94), 30, (), utc_now())
    await insert_route_request(router.pool, job.request_id, user_id)
    return job


async def statuses(js: JetStreamContext, request_id: str) -> list[RouteGenerationStatus]:
    """Every event on the request's status subject, in order."""
    sub = await js.subscribe(status_subject(request_id), stream=ROUTE_STATUS_STREAM)
    found: list[RouteGenerationStatus] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except TimeoutError:
                return found
            found.append(decode(RouteGenerationStatus, msg.data))
    finally:
        await sub.unsubscribe()


async def settled(js: JetStreamContext, timeout: float = 15.0) -> None:
    """Every job delivered and acknowledged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = await js.consumer_info(ROUTE_JOBS_STREAM, ROUTER_CONSUMER)
        if (info.num_pending, info.num_ack_pending) == (0, 0):
            assert info.num_redelivered == 0
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the job was not acknowledged")


async def test_a_job_cancelled_while_queued_is_acked_without_solving(
    router_and_planner: tuple[Router, ThreadedPlanner],
) -> None:
    router, planner = router_and_planner
    js = router.nats.jetstream()
    job = await queued_request(router)
    assert await router.pool.fetchval(CANCEL, uuid.UUID(job.request_id)) is not None
    await publish(js, ROUTE_JOB_SUBJECT, job, msg_id=f"route-job:{job.request_id}")
    await settled(js)
    assert job.request_id not in planner.started  # never started
    row = await router.pool.fetchrow(
        "SELECT status, attempts FROM route_requests WHERE id = $1", uuid.UUID(job.request_id)
    )
    assert (row["status"], row["attempts"]) == ("cancelled", 0)
    events = await statuses(js, job.request_id)
    assert [(e.status, e.progress) for e in events] == [(RouteStatus.CANCELLED, 100)]


async def test_a_running_solve_stops_once_cancelled_and_the_job_is_acked(
    router_and_planner: tuple[Router, ThreadedPlanner],
) -> None:
    router, planner = router_and_planner
    js = router.nats.jetstream()
    job = await queued_request(router)
    started = planner.started_event(job.request_id)
    await publish(js, ROUTE_JOB_SUBJECT, job, msg_id=f"route-job:{job.request_id}")
    assert await asyncio.to_thread(started.wait, 10)
    await asyncio.sleep(0.3)
    cancelled_at = time.monotonic()
    assert await router.pool.fetchval(CANCEL, uuid.UUID(job.request_id)) is not None
    await settled(js)
    # stopped long before its 6 s: at the first progress write after the cancel
    assert time.monotonic() - cancelled_at < 3.0
    assert planner.outcome[job.request_id].startswith("stopped after")
    row = await router.pool.fetchrow(
        "SELECT r.status, s.request_id AS result FROM route_requests r "
        "LEFT JOIN route_results s ON s.request_id = r.id WHERE r.id = $1",
        uuid.UUID(job.request_id),
    )
    assert (row["status"], row["result"]) == ("cancelled", None)
    events = [e.status for e in await statuses(js, job.request_id)]
    assert events[0] is RouteStatus.RUNNING and events[-1] is RouteStatus.CANCELLED
    assert events.count(RouteStatus.CANCELLED) == 1
    assert RouteStatus.SUCCEEDED not in events
