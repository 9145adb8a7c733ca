"""PullWorker and topology against each real nats-server: ack, nak, heartbeats, drain,
and the publisher's trace continued in the handler. (Messages that can never be handled:
test_bus_poison_contract.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import nats
import pytest
from bus_helpers import FAST, MakeQueue, a_job
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from wildside_common import codec
from wildside_common.bus.provision import provision_all
from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import (
    ROUTE_JOB_SUBJECT,
    ROUTE_JOBS_STREAM,
    WorkerPolicy,
    ensure_consumer,
    ensure_streams,
    job_consumer,
    streams,
)
from wildside_common.bus.worker import PullWorker, WorkerOptions, attempt_of
from wildside_common.config import CommonSettings, EnvReader
from wildside_common.errors import Unavailable
from wildside_common.logs import current_trace_id
from wildside_common.messages import EnrichmentJob
from wildside_common.telemetry import configure_tracing
from wildside_common.testing.servers import NatsServer

pytestmark = pytest.mark.contract


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(worker: PullWorker) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def settled(js: JetStreamContext, stream: str, durable: str, count: int) -> bool:
    info = await js.consumer_info(stream, durable)
    acked = info.ack_floor.stream_seq if info.ack_floor else 0
    return bool(acked == count and info.num_ack_pending == 0)


async def test_ensure_streams_and_consumers_are_idempotent(bus: Client) -> None:
    js = bus.jetstream()
    before = [(await js.stream_info(c.name or "")).config.as_dict() for c in streams()]
    await ensure_streams(js)
    await provision_all(js)
    consumer = job_consumer("router", ROUTE_JOB_SUBJECT, WorkerPolicy())
    await ensure_consumer(js, ROUTE_JOBS_STREAM, consumer)
    first = (await js.consumer_info(ROUTE_JOBS_STREAM, "router")).config
    await ensure_consumer(js, ROUTE_JOBS_STREAM, consumer)
    await provision_all(js)
    after = [(await js.stream_info(c.name or "")).config.as_dict() for c in streams()]
    second = (await js.consumer_info(ROUTE_JOBS_STREAM, "router")).config
    assert after == before
    assert second.as_dict() == first.as_dict()
    assert (second.ack_wait, second.max_deliver, second.filter_subject) == (
        30.0,
        5,
        ROUTE_JOB_SUBJECT,
    )


async def test_ensure_streams_repairs_a_drifted_stream(bus: Client) -> None:
    js = bus.jetstream()
    config = (await js.stream_info(ROUTE_JOBS_STREAM)).config
    config.max_age = 3600.0
    await js.update_stream(config)
    await ensure_streams(js)
    assert (await js.stream_info(ROUTE_JOBS_STREAM)).config.max_age == 24 * 3600.0


async def test_success_is_acked_once(bus: Client, make_queue: MakeQueue) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=2.0))
    seen: list[EnrichmentJob] = []

    async def handle(msg: Msg) -> None:
        seen.append(codec.decode(EnrichmentJob, msg.data))

    job = a_job()
    await publish(js, queue.subject, job, msg_id=job.job_id)
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handle, FAST)
    async with running(worker):
        await eventually(lambda: settled(js, queue.stream, queue.durable, 1))
    assert seen == [job]
    info = await js.consumer_info(queue.stream, queue.durable)
    assert (info.num_redelivered, info.num_pending) == (0, 0)


async def test_unavailable_is_nakked_with_a_delay_then_redelivered(
    bus: Client, make_queue: MakeQueue
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=10.0, max_deliver=5))
    deliveries: list[tuple[int, float]] = []

    async def handle(msg: Msg) -> None:
        deliveries.append((attempt_of(msg), time.monotonic()))
        if len(deliveries) == 1:
            raise Unavailable("database down", retry_after=0.5)

    await publish(js, queue.subject, a_job())
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handle, FAST)
    async with running(worker):
        await eventually(lambda: settled(js, queue.stream, queue.durable, 1))
    assert [attempt for attempt, _ in deliveries] == [1, 2]
    gap = deliveries[1][1] - deliveries[0][1]
    # nak(delay = max(retry_after, backoff(1) = 1 s)); far below ack_wait (10 s).
    assert 0.8 <= gap < 5.0


async def test_concurrency_never_exceeds_the_limit(bus: Client, make_queue: MakeQueue) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=10.0))
    active = 0
    peak = 0
    handled = 0

    async def handle(_: Msg) -> None:
        nonlocal active, peak, handled
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.1)
        active -= 1
        handled += 1

    for _ in range(12):
        await publish(js, queue.subject, a_job())
    options = WorkerOptions(concurrency=3, fetch_timeout=0.2, heartbeat_interval=5.0)
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handle, options)
    async with running(worker):
        await eventually(lambda: settled(js, queue.stream, queue.durable, 12))
    assert handled == 12
    assert peak == 3


@pytest.mark.parametrize(("heartbeat", "deliveries"), [(0.3, 1), (10.0, 2)])
async def test_heartbeats_keep_a_slow_message_from_redelivery(
    bus: Client, make_queue: MakeQueue, heartbeat: float, deliveries: int
) -> None:
    # ack_wait 1 s, handler 2.5 s: only in_progress() heartbeats stop a redelivery
    # (the 10 s case is the control that shows the redelivery happens without them).
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=1.0, max_deliver=5))
    attempts: list[int] = []

    async def handle(msg: Msg) -> None:
        attempts.append(attempt_of(msg))
        await asyncio.sleep(2.5)

    await publish(js, queue.subject, a_job())
    options = WorkerOptions(concurrency=2, heartbeat_interval=heartbeat, fetch_timeout=0.2)
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handle, options)
    async with running(worker):
        await eventually(lambda: settled(js, queue.stream, queue.durable, 1), timeout=8)
        await asyncio.sleep(0.2)
    # With heartbeats: exactly one delivery. The control only has to show a redelivery: a
    # third can come too, when a slot frees before the server has the first ack.
    assert attempts[:deliveries] == list(range(1, deliveries + 1))
    assert len(attempts) == 1 if deliveries == 1 else len(attempts) >= deliveries


async def test_stop_drains_the_message_in_flight(
    bus: Client, bus_server: NatsServer, make_queue: MakeQueue
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=10.0))
    started = asyncio.Event()
    finished: list[str] = []

    async def handle(msg: Msg) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.append(codec.decode(EnrichmentJob, msg.data).job_id)

    job = a_job()
    await publish(js, queue.subject, job)
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handle, FAST)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert finished == [job.job_id]
    assert worker.running is False
    # A service exits right after the drain: the ack must survive closing the connection.
    await bus.close()
    fresh = await nats.connect(bus_server.url)
    try:
        fresh_js = fresh.jetstream()
        await eventually(lambda: settled(fresh_js, queue.stream, queue.durable, 1), timeout=3)
        info = await fresh_js.consumer_info(queue.stream, queue.durable)
        assert (info.num_redelivered, info.num_pending) == (0, 0)
    finally:
        await fresh.close()


async def test_the_handler_continues_the_publishers_trace(
    bus: Client, make_queue: MakeQueue
) -> None:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        configure_tracing(CommonSettings.from_env(EnvReader({}), "bus-test", 0))
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=5.0))
    seen: list[tuple[str | None, str | None]] = []

    async def handle(msg: Msg) -> None:
        span = trace.get_current_span()
        parent = getattr(span, "parent", None)
        seen.append((current_trace_id(), format(parent.span_id, "016x") if parent else None))

    publisher = TracerProvider().get_tracer("wildside.test.publisher")
    with publisher.start_as_current_span("POST /api/v1/routes") as span:
        await publish(js, queue.subject, a_job())
        context = span.get_span_context()
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handle, FAST)
    async with running(worker):
        await eventually(lambda: settled(js, queue.stream, queue.durable, 1))
    assert seen == [(format(context.trace_id, "032x"), format(context.span_id, "016x"))]
