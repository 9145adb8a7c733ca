"""Messages no consumer can ever handle, on each real nats-server (the pinned one and
Debian's 2.9.10): dead-lettered on their first delivery with their real reason, payload
and headers, exactly once, never delivered again. A transient failure is still retried.

Before the worker wrote dead letters itself, 2.9.10 ignored its `+TERM <reason>`: each
poison message came back after every ack wait until max_deliver, then was dead-lettered
as `max_deliveries`; on 2.10+ the copy came from the terminated advisory, reason
`InvalidInput: ...` and no error code.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import msgpack
import pytest
from bus_helpers import FAST, MakeQueue, a_job
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from wildside_common import codec
from wildside_common.bus import dead_letter
from wildside_common.bus.dead_letter import DeadLetterForwarder
from wildside_common.bus.publisher import message_headers
from wildside_common.bus.topology import ADVISORIES_STREAM, WorkerPolicy, dead_letter_subject
from wildside_common.bus.worker import PullWorker, WorkerOptions, attempt_of
from wildside_common.errors import DomainError, InvalidInput, NotFound, Unavailable
from wildside_common.messages import EnrichmentJob
from wildside_common.testing.bus import JobQueue, dead_letters, running, wait_for_dead_letter

pytestmark = pytest.mark.contract

# ack_wait 1 s and max_deliver 3: a message the server redelivers shows within seconds.
POLICY = WorkerPolicy(ack_wait=1.0, max_deliver=3)


class Recorder:
    """The owner's dead-letter hook: what it was told, optionally failing at first."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[tuple[bytes, str]] = []
        self.failures = failures

    async def __call__(self, payload: bytes, reason: str) -> None:
        self.calls.append((payload, reason))
        if len(self.calls) <= self.failures:
            raise Unavailable("the owner's database is down", retry_after=0.1)


class Decoding:
    """A job handler that decodes the payload (as the router's and enricher's do), then
    raises `error` if one is given; records the delivery attempts it saw."""

    def __init__(self, error: DomainError | None = None) -> None:
        self.attempts: list[int] = []
        self.error = error

    async def __call__(self, msg: Msg) -> None:
        self.attempts.append(attempt_of(msg))
        codec.decode(EnrichmentJob, msg.data)
        if self.error is not None:
            raise self.error


async def advisories(js: JetStreamContext, queue: JobQueue) -> dict[str, int]:
    """Advisories (terminated, max-deliveries) JetStream raised for this queue's consumer."""
    info = await js.stream_info(ADVISORIES_STREAM, subjects_filter=f"*.*.*.*.*.{queue.stream}.>")
    return dict(info.state.subjects or {})


async def settled_once(js: JetStreamContext, queue: JobQueue) -> None:
    info = await js.consumer_info(queue.stream, queue.durable)
    assert info.ack_floor is not None and info.ack_floor.stream_seq == 1
    assert (info.num_ack_pending, info.num_redelivered, info.num_pending) == (0, 0, 0)


def wire(**changes: object) -> bytes:
    return msgpack.packb({**a_job().to_wire(), **changes})


POISON = {
    "garbage bytes": (b"\xc1\xff\x00 not msgpack", "payload is not valid msgpack"),
    "msgpack list": (msgpack.packb([1, 2, 3]), "payload must be a map"),
    "map of no job": (msgpack.packb({"hello": "world"}), "job_id: must be a UUID"),
    "bbox of wrong type": (wire(bbox="north"), "bbox: must be an object"),
    "themes of wrong type": (wire(themes=42), "themes: must be a list of theme ids"),
    "job_id of wrong type": (wire(job_id=12345), "job_id: must be a UUID"),
}


@pytest.mark.parametrize(("payload", "problem"), POISON.values(), ids=POISON.keys())
async def test_an_undecodable_message_is_dead_lettered_on_its_first_delivery(
    bus: Client, make_queue: MakeQueue, payload: bytes, problem: str
) -> None:
    js = bus.jetstream()
    queue = await make_queue(POLICY)
    handler, hook = Decoding(), Recorder()
    headers = message_headers(a_job(), "poison-1", {"X-Wildside-Test": "kept"})
    await js.publish(queue.subject, payload, headers=headers)
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handler, FAST, hook)
    forwarder = DeadLetterForwarder(js, queue.stream, queue.durable, hook)
    await forwarder.provision()
    subject = dead_letter_subject(queue.stream, queue.durable)
    async with running(worker, forwarder.worker(FAST)):
        copy = await wait_for_dead_letter(js, subject, timeout=10)
        await asyncio.sleep(2.5)  # past two ack waits: nothing comes back, no second copy
    reason = f"invalid_request: {problem}"
    copied = copy.headers or {}
    assert handler.attempts == [1]
    assert copy.data == payload
    assert {k: v for k, v in headers.items() if k != "Nats-Msg-Id"}.items() <= copied.items()
    assert copied[dead_letter.REASON_HEADER] == reason
    assert copied[dead_letter.CODE_HEADER] == "invalid_request"
    assert copied[dead_letter.DELIVERIES_HEADER] == "1"
    assert copied[dead_letter.ORIGIN_MSG_ID_HEADER] == "poison-1"
    assert copied["Nats-Msg-Id"] == f"dlq:{queue.stream}:1"
    assert len(await dead_letters(js, subject)) == 1
    assert hook.calls == [(payload, reason)]
    assert await advisories(js, queue) == {}  # acknowledged: nothing for the forwarder
    await settled_once(js, queue)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            InvalidInput("the input refers to a record that does not exist"),
            "invalid_request: the input refers to a record that does not exist",
        ),
        (NotFound("no such area"), "not_found: no such area"),
    ],
)
async def test_a_handler_that_refuses_the_message_dead_letters_it_with_the_code_and_message(
    bus: Client, make_queue: MakeQueue, error: DomainError, reason: str
) -> None:
    js = bus.jetstream()
    queue = await make_queue(POLICY)
    handler = Decoding(error)
    job = a_job()
    await js.publish(queue.subject, codec.encode(job), headers=message_headers(job, job.job_id))
    # No forwarder runs: the worker alone writes the dead letter.
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handler, FAST)
    subject = dead_letter_subject(queue.stream, queue.durable)
    async with running(worker):
        copy = await wait_for_dead_letter(js, subject, timeout=10)
        await asyncio.sleep(1.5)
    copied = copy.headers or {}
    assert handler.attempts == [1]
    assert copy.data == codec.encode(job)
    assert copied[dead_letter.REASON_HEADER] == reason
    assert copied[dead_letter.CODE_HEADER] == error.code
    assert "Traceback" not in str(copied)
    await settled_once(js, queue)


async def test_a_reason_cannot_inject_headers(bus: Client, make_queue: MakeQueue) -> None:
    js = bus.jetstream()
    queue = await make_queue(POLICY)
    handler = Decoding(InvalidInput("bad\r\nX-Injected: yes\r\n\r\nbody"))
    await js.publish(queue.subject, codec.encode(a_job()))
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handler, FAST)
    async with running(worker):
        copy = await wait_for_dead_letter(
            js, dead_letter_subject(queue.stream, queue.durable), timeout=10
        )
    copied = copy.headers or {}
    assert "X-Injected" not in copied
    assert copied[dead_letter.REASON_HEADER] == "invalid_request: bad  X-Injected: yes    body"


async def test_a_dead_letter_whose_hook_fails_is_retried_and_still_copied_once(
    bus: Client, make_queue: MakeQueue
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=5.0, max_deliver=3))
    handler, hook = Decoding(), Recorder(failures=1)
    await js.publish(queue.subject, b"\xc1")
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handler, FAST, hook)
    subject = dead_letter_subject(queue.stream, queue.durable)
    async with running(worker):
        deadline = time.monotonic() + 10
        while len(hook.calls) < 2:  # nak'ed with backoff (1 s), delivered and told again
            assert time.monotonic() < deadline, "the hook was not retried"
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)
    reason = "invalid_request: payload is not valid msgpack"
    assert handler.attempts == [1, 2]
    assert hook.calls == [(b"\xc1", reason), (b"\xc1", reason)]
    assert len(await dead_letters(js, subject)) == 1
    info = await js.consumer_info(queue.stream, queue.durable)
    assert (info.num_ack_pending, info.num_pending) == (0, 0)


class SlowRecorder(Recorder):
    """An owner whose hook takes longer than the ack wait (a loaded database, say)."""

    async def __call__(self, payload: bytes, reason: str) -> None:
        await super().__call__(payload, reason)
        await asyncio.sleep(2.5)


async def test_a_dead_letter_slower_than_the_ack_wait_is_kept_by_the_heartbeat(
    bus: Client, make_queue: MakeQueue
) -> None:
    # ack_wait 1 s, the hook 2.5 s: only the heartbeat running through the dead-lettering
    # (not just the handler) keeps the poison from being delivered again meanwhile.
    js = bus.jetstream()
    queue = await make_queue(POLICY)
    handler, hook = Decoding(), SlowRecorder()
    await js.publish(queue.subject, b"\xc1")
    options = WorkerOptions(concurrency=2, heartbeat_interval=0.3, fetch_timeout=0.2)
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, handler, options, hook)
    subject = dead_letter_subject(queue.stream, queue.durable)
    async with running(worker):
        deadline = time.monotonic() + 10
        while not hook.calls:
            assert time.monotonic() < deadline, "the poison was not dead-lettered"
            await asyncio.sleep(0.05)
        await asyncio.sleep(4.0)  # the hook's 2.5 s and past another ack wait
    assert handler.attempts == [1]
    assert len(hook.calls) == 1
    assert len(await dead_letters(js, subject)) == 1
    await settled_once(js, queue)


async def test_a_transient_failure_is_retried_with_backoff_not_dead_lettered(
    bus: Client, make_queue: MakeQueue
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=10.0, max_deliver=5))
    seen: list[float] = []

    async def flaky(msg: Msg) -> None:
        seen.append(time.monotonic())
        codec.decode(EnrichmentJob, msg.data)
        if len(seen) < 3:
            raise Unavailable("database down", retry_after=0.5)

    await js.publish(queue.subject, codec.encode(a_job()))
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, flaky, FAST)
    async with running(worker):
        deadline = time.monotonic() + 15
        while len(seen) < 3:
            assert time.monotonic() < deadline, f"delivered {len(seen)} times"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    gaps = [later - earlier for earlier, later in itertools.pairwise(seen)]
    # nak(delay = max(retry_after, backoff)): 1 s, then 5 s; far below ack_wait (10 s).
    assert len(seen) == 3
    assert 0.8 <= gaps[0] < 3.0 and 4.5 <= gaps[1] < 8.0, gaps
    assert await dead_letters(js, dead_letter_subject(queue.stream, queue.durable)) == []
    info = await js.consumer_info(queue.stream, queue.durable)
    assert info.ack_floor is not None and info.ack_floor.stream_seq == 1  # then it succeeded
