"""Route jobs the router can never handle, through its real bootstrap (workers, hook,
PostgreSQL store) on each real nats-server (the pinned one and Debian's 2.9.10): dead-
lettered on the first delivery with the real reason, the request `failed` where it exists.
A database that is down is transient: the job is nak'ed with its backoff and delivered
again, never dead-lettered."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import msgpack
import nats
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from wildside_common.bus import dead_letter
from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import (
    ROUTE_JOB_SUBJECT,
    ROUTE_JOBS_STREAM,
    ROUTE_STATUS_STREAM,
    ROUTER_CONSUMER,
    WorkerPolicy,
    dead_letter_subject,
    ensure_streams,
    status_subject,
)
from wildside_common.bus.worker import PullWorker, WorkerOptions
from wildside_common.codec import decode, encode
from wildside_common.config import EnvReader
from wildside_common.messages import (
    GenerateRouteJob,
    GeoPoint,
    RouteGenerationStatus,
    RouteStatus,
    utc_now,
)
from wildside_common.testing.bus import dead_letters, job_queue, wait_for_dead_letter
from wildside_common.testing.db import insert_user
from wildside_common.testing.servers import NatsServer, free_port, unique_prefix
from wildside_router.adapters.inbound.jobs import RouteJobHandler
from wildside_router.adapters.outbound.postgres import PostgresRouteStore
from wildside_router.adapters.outbound.status_publisher import JetStreamStatusPublisher
from wildside_router.app import GenerateRoute
from wildside_router.bootstrap import Router, bootstrap, engine_planner
from wildside_router.config import RouterSettings

pytestmark = pytest.mark.contract
DLQ = dead_letter_subject(ROUTE_JOBS_STREAM, ROUTER_CONSUMER)
UNKNOWN_USER = "invalid_request: the input refers to a record that does not exist"
NOT_RECORDED = "invalid_request: the request was never recorded"


def settings(nats_url: str, database_url: str, redis_url: str) -> RouterSettings:
    # ack wait 1 s, 3 deliveries: a job the server hands out again shows within seconds.
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": unique_prefix(),
        "ROUTER_ACK_WAIT_SECONDS": "1",
        "ROUTER_MAX_DELIVER": "3",
        "ROUTER_HEARTBEAT_SECONDS": "0.5",
    }
    return RouterSettings.from_env(EnvReader(env))


@pytest.fixture
async def router(
    each_nats_server: NatsServer, database_url: str, redis_url: str
) -> AsyncIterator[Router]:
    async with bootstrap(settings(each_nats_server.url, database_url, redis_url)) as router:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(w.run(stop)) for w in (router.jobs, router.dead_letters)]
        try:
            yield router
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 10)


def a_job(user_id: str, request_id: str | None = None) -> GenerateRouteJob:
    request = request_id or str(uuid.uuid4())
    return GenerateRouteJob(request, user_id, GeoPoint(60.17, 24.94), 30, (), utc_now())


async def copies_of(js: JetStreamContext, sequence: int) -> int:
    headers = [letter.headers or {} for letter in await dead_letters(js, DLQ)]
    return sum(h.get(dead_letter.ORIGIN_SEQ_HEADER) == str(sequence) for h in headers)


async def delivered_once(js: JetStreamContext, sequence: int) -> None:
    """Past two ack waits: one copy, nothing redelivered or pending."""
    await asyncio.sleep(2.5)
    assert await copies_of(js, sequence) == 1
    info = await js.consumer_info(ROUTE_JOBS_STREAM, ROUTER_CONSUMER)
    assert (info.num_ack_pending, info.num_redelivered, info.num_pending) == (0, 0, 0)


async def test_a_job_for_an_unknown_user_is_dead_lettered_at_once_with_its_reason(
    router: Router, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "wildside_common.bus.dlq")
    js = router.nats.jetstream()
    job = a_job(user_id=str(uuid.uuid4()))  # no such row in users: a foreign-key violation
    sequence = await publish(js, ROUTE_JOB_SUBJECT, job, msg_id=job.request_id)
    letter = await wait_for_dead_letter(js, DLQ, timeout=10, sequence=sequence)
    headers = letter.headers or {}
    assert letter.data == encode(job)
    assert headers[dead_letter.REASON_HEADER] == UNKNOWN_USER
    assert headers[dead_letter.CODE_HEADER] == "invalid_request"
    assert headers[dead_letter.DELIVERIES_HEADER] == "1"
    assert headers[dead_letter.ORIGIN_MSG_ID_HEADER] == job.request_id
    await delivered_once(js, sequence)
    assert await router.pool.fetchval(
        "SELECT count(*) FROM route_requests WHERE id = $1", uuid.UUID(job.request_id)
    ) == 0  # fmt: skip
    lines = [r for r in caplog.records if r.getMessage() == "dead-lettered"]
    assert [getattr(r, "reason", None) for r in lines] == [UNKNOWN_USER]


async def test_a_job_whose_request_was_never_recorded_is_dead_lettered_and_never_announced(
    router: Router,
) -> None:
    # The gateway published the job, then rolled back its transaction: no row, no walker.
    js = router.nats.jetstream()
    job = a_job(await insert_user(router.pool, "poison"))
    sequence = await publish(js, ROUTE_JOB_SUBJECT, job, msg_id=job.request_id)
    letter = await wait_for_dead_letter(js, DLQ, timeout=10, sequence=sequence)
    headers = letter.headers or {}
    assert headers[dead_letter.REASON_HEADER] == NOT_RECORDED
    assert headers[dead_letter.DELIVERIES_HEADER] == "1"
    await delivered_once(js, sequence)
    assert await router.pool.fetchval(
        "SELECT count(*) FROM route_requests WHERE id = $1", uuid.UUID(job.request_id)
    ) == 0  # fmt: skip
    with pytest.raises(nats.js.errors.NotFoundError):
        await js.get_last_msg(ROUTE_STATUS_STREAM, status_subject(job.request_id))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"duration_minutes": "thirty"}, "duration_minutes: must be an integer"),
        ({"start": [60.17, 24.94]}, "start: must be an object"),
        ({"themes": "history"}, "themes: must be a list of theme ids"),
    ],
)
async def test_a_malformed_job_of_a_queued_request_ends_it_failed_at_once(
    router: Router, change: dict[str, object], problem: str
) -> None:
    js = router.nats.jetstream()
    user_id = await insert_user(router.pool, "poison")
    job = a_job(user_id)
    await router.pool.execute(
        "INSERT INTO route_requests (id, user_id, payload) VALUES ($1, $2, $3)",
        uuid.UUID(job.request_id),
        uuid.UUID(user_id),
        {"duration_minutes": 30},
    )
    payload = msgpack.packb({**job.to_wire(), **change})
    ack = await js.publish(ROUTE_JOB_SUBJECT, payload, headers={"Nats-Msg-Id": job.request_id})
    letter = await wait_for_dead_letter(js, DLQ, timeout=10, sequence=ack.seq)
    reason = f"invalid_request: {problem}"
    assert letter.data == payload
    assert (letter.headers or {})[dead_letter.REASON_HEADER] == reason
    await delivered_once(js, ack.seq)
    row = await router.pool.fetchrow(
        "SELECT status, error FROM route_requests WHERE id = $1", uuid.UUID(job.request_id)
    )
    assert (row["status"], row["error"]) == ("failed", f"dead-lettered: {reason}")
    event = await js.get_last_msg(ROUTE_STATUS_STREAM, status_subject(job.request_id))
    status = decode(RouteGenerationStatus, event.data or b"")
    assert (status.status, status.error) == (RouteStatus.FAILED, f"dead-lettered: {reason}")


async def test_garbage_on_the_route_subject_is_dead_lettered_at_once(router: Router) -> None:
    js = router.nats.jetstream()
    ack = await js.publish(ROUTE_JOB_SUBJECT, b"\x00\xc1 not a job")
    letter = await wait_for_dead_letter(js, DLQ, timeout=10, sequence=ack.seq)
    headers = letter.headers or {}
    assert headers[dead_letter.REASON_HEADER] == "invalid_request: payload is not valid msgpack"
    assert headers[dead_letter.DELIVERIES_HEADER] == "1"
    await delivered_once(js, ack.seq)


async def test_a_down_database_is_retried_with_backoff_not_dead_lettered(
    each_nats_server: NatsServer, database_url: str, redis_url: str
) -> None:
    config = settings(each_nats_server.url, database_url, redis_url)
    # The router's own store, on a database nothing answers for (a refused connection).
    down = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{free_port()}/x", min_size=0)
    client = await nats.connect(each_nats_server.url)
    try:
        js = client.jetstream()
        await ensure_streams(js)  # the dead-letter stream, as the bootstrap makes it
        queue = await job_queue(js, WorkerPolicy(ack_wait=30.0, max_deliver=5))
        use_case = GenerateRoute(
            PostgresRouteStore(down),
            JetStreamStatusPublisher(js),
            engine_planner(config, down, js),
            config.job_timeout,
            5,
        )
        seen: list[float] = []
        handler = RouteJobHandler(use_case)

        async def recording(msg: Msg) -> None:
            seen.append(time.monotonic())
            await handler(msg)

        options = WorkerOptions(concurrency=1, heartbeat_interval=5.0, fetch_timeout=0.2)
        worker = PullWorker(js, queue.stream, queue.durable, queue.subject, recording, options)
        await js.publish(queue.subject, encode(a_job(str(uuid.uuid4()))))
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        deadline = time.monotonic() + 15
        while len(seen) < 2:
            assert time.monotonic() < deadline, f"delivered {len(seen)} times"
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 10)
        # nak(delay = max(Unavailable's retry_after 5 s, backoff 1 s)), well below ack_wait.
        assert 4.5 <= seen[1] - seen[0] < 10.0
        subject = dead_letter_subject(queue.stream, queue.durable)
        assert await dead_letters(js, subject) == []
        info = await js.consumer_info(queue.stream, queue.durable)
        assert info.ack_floor is None or info.ack_floor.stream_seq == 0  # never acknowledged
    finally:
        await client.close()
        await down.close()
