"""Fixtures of the bus contract tests: a private nats-server per module, a client per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from wildside_common.bus.topology import WorkerPolicy, ensure_consumer, ensure_streams, job_consumer
from wildside_common.testing.servers import NatsServer


@pytest.fixture(scope="module")
def bus_server() -> Iterator[NatsServer]:
    """A nats-server of this module's own: the real topology's stream names stay private."""
    server = NatsServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def bus(bus_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(bus_server.url, name="wildside-tests", connect_timeout=2)
    try:
        await ensure_streams(client.jetstream())
        yield client
    finally:
        await client.close()


@dataclass(frozen=True)
class JobQueue:
    """A job stream and durable consumer of one test (unique names, limits retention)."""

    stream: str
    subject: str
    durable: str


MakeQueue = Callable[[WorkerPolicy], Awaitable[JobQueue]]


@pytest.fixture
def make_queue(bus: Client) -> MakeQueue:
    """Create a job stream and consumer with the given policy, named for this test only."""

    async def make(policy: WorkerPolicy) -> JobQueue:
        return await _job_queue(bus.jetstream(), policy)

    return make


async def _job_queue(js: JetStreamContext, policy: WorkerPolicy) -> JobQueue:
    tag = uuid.uuid4().hex[:10]
    queue = JobQueue(stream=f"TEST_JOBS_{tag}", subject=f"test.jobs.{tag}", durable=f"w{tag}")
    await js.add_stream(
        StreamConfig(
            name=queue.stream,
            subjects=[queue.subject],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.MEMORY,
            duplicate_window=60.0,
        )
    )
    await ensure_consumer(js, queue.stream, job_consumer(queue.durable, queue.subject, policy))
    return queue
