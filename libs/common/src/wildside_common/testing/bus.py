"""Bus helpers for tests: a job stream and consumer of one test, and reading what reached
the dead-letter stream."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from wildside_common.bus.dlq import ORIGIN_SEQ_HEADER
from wildside_common.bus.topology import (
    DEAD_LETTER_STREAM,
    WorkerPolicy,
    ensure_consumer,
    job_consumer,
)
from wildside_common.bus.worker import PullWorker


@dataclass(frozen=True)
class JobQueue:
    """A job stream and durable consumer of one test (unique names, limits retention)."""

    stream: str
    subject: str
    durable: str


async def job_queue(js: JetStreamContext, policy: WorkerPolicy) -> JobQueue:
    """Create a job stream and consumer with `policy`, named for one test only."""
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


async def dead_letters(js: JetStreamContext, subject: str) -> list[RawStreamMsg]:
    """Every copy on one dead-letter subject, oldest first."""
    info = await js.stream_info(DEAD_LETTER_STREAM)
    found: list[RawStreamMsg] = []
    if not info.state.messages:
        return found
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            message = await js.get_msg(DEAD_LETTER_STREAM, seq)
        except NotFoundError:
            continue
        if message.subject == subject:
            found.append(message)
    return found


async def wait_for_dead_letter(
    js: JetStreamContext, subject: str, timeout: float, sequence: int | None = None
) -> RawStreamMsg:
    """The first dead letter on `subject` (of original `sequence`, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        for message in await dead_letters(js, subject):
            origin = (message.headers or {}).get(ORIGIN_SEQ_HEADER)
            if sequence is None or origin == str(sequence):
                return message
        assert time.monotonic() < deadline, f"no dead letter on {subject} in {timeout} s"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(*workers: PullWorker) -> AsyncIterator[None]:
    """Runs `workers` for the body of the `async with`, then stops them (10 s at most)."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
