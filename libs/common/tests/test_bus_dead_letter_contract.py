"""DeadLetterForwarder against each real nats-server: messages that exhausted max_deliver
or that something other than a worker terminated. (What a worker rejects it dead-letters
itself: test_bus_poison_contract.py.)"""

from __future__ import annotations

import orjson
import pytest
from bus_helpers import FAST, MakeQueue, a_job
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from wildside_common import codec
from wildside_common.bus import dead_letter
from wildside_common.bus.dead_letter import DeadLetterForwarder, parse_advisory
from wildside_common.bus.publisher import message_headers
from wildside_common.bus.topology import (
    ADVISORIES_STREAM,
    DEAD_LETTER_STREAM,
    TERMINATED_ADVISORY,
    WorkerPolicy,
    dead_letter_subject,
)
from wildside_common.bus.worker import PullWorker
from wildside_common.errors import InvalidInput, RateLimited
from wildside_common.testing.bus import running, wait_for_dead_letter

pytestmark = pytest.mark.contract


async def dead_letter_count(js: JetStreamContext, subject: str) -> int:
    info = await js.stream_info(DEAD_LETTER_STREAM, subjects_filter=subject)
    return int((info.state.subjects or {}).get(subject, 0))


async def terminate_by_hand(js: JetStreamContext, stream: str, durable: str) -> None:
    """What an operator (or a worker of an older release) does: a plain `+TERM`, which
    every server understands and which raises a terminated advisory."""
    subscription = await js.pull_subscribe_bind(durable, stream=stream)
    (msg,) = await subscription.fetch(1, timeout=5)
    await msg.term()
    await subscription.unsubscribe()


class Recorder:
    """The forwarder's hook: what the owning service was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, str]] = []

    async def __call__(self, payload: bytes, reason: str) -> None:
        self.calls.append((payload, reason))


async def publish_original(js: JetStreamContext, subject: str) -> tuple[bytes, dict[str, str]]:
    job = a_job()
    payload = codec.encode(job)
    headers = message_headers(job, job.job_id, {"X-Wildside-Test": "kept"})
    await js.publish(subject, payload, headers=headers)
    return payload, headers


async def test_a_message_terminated_elsewhere_is_copied_with_its_payload_and_headers(
    bus: Client, make_queue: MakeQueue
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=2.0, max_deliver=5))
    hook = Recorder()
    forwarder = DeadLetterForwarder(js, queue.stream, queue.durable, hook)
    await forwarder.provision()
    payload, headers = await publish_original(js, queue.subject)
    await terminate_by_hand(js, queue.stream, queue.durable)
    subject = dead_letter_subject(queue.stream, queue.durable)
    async with running(forwarder.worker(FAST)):
        copy = await wait_for_dead_letter(js, subject, timeout=5)
    assert copy.data == payload
    copied = copy.headers or {}
    for name, value in headers.items():
        if name != "Nats-Msg-Id":
            assert copied[name] == value, name
    assert copied[dead_letter.REASON_HEADER] == "terminated"  # a plain +TERM has no reason
    assert dead_letter.CODE_HEADER not in copied
    assert copied[dead_letter.ORIGIN_STREAM_HEADER] == queue.stream
    assert copied[dead_letter.ORIGIN_SUBJECT_HEADER] == queue.subject
    assert copied[dead_letter.ORIGIN_SEQ_HEADER] == "1"
    assert copied[dead_letter.DELIVERIES_HEADER] == "1"
    assert copied["Nats-Msg-Id"] == f"dlq:{queue.stream}:1"
    assert copied[dead_letter.ORIGIN_MSG_ID_HEADER] == headers["Nats-Msg-Id"]
    assert hook.calls == [(payload, "terminated")]


async def test_a_message_that_exhausts_max_deliver_is_copied(
    bus: Client, make_queue: MakeQueue
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=5.0, max_deliver=2))
    forwarder = DeadLetterForwarder(js, queue.stream, queue.durable)
    await forwarder.provision()
    attempts = 0

    async def throttled(_: Msg) -> None:
        nonlocal attempts
        attempts += 1
        # nak(delay=1 s) each time; a crash would nak with backoff (1 s, then 5 s): slower.
        raise RateLimited("overpass quota", retry_after=1)

    payload, headers = await publish_original(js, queue.subject)
    worker = PullWorker(js, queue.stream, queue.durable, queue.subject, throttled, FAST)
    subject = dead_letter_subject(queue.stream, queue.durable)
    async with running(worker, forwarder.worker(FAST)):
        copy = await wait_for_dead_letter(js, subject, timeout=8)
    assert attempts == 2
    assert copy.data == payload
    copied = copy.headers or {}
    assert copied[dead_letter.REASON_HEADER] == "max_deliveries"
    assert copied[dead_letter.DELIVERIES_HEADER] == "2"
    assert {k: v for k, v in headers.items() if k != "Nats-Msg-Id"}.items() <= copied.items()


async def test_forwarding_twice_still_leaves_one_copy(bus: Client, make_queue: MakeQueue) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy(ack_wait=2.0, max_deliver=5))
    hook = Recorder()
    first = DeadLetterForwarder(js, queue.stream, queue.durable, hook)
    second = DeadLetterForwarder(js, queue.stream, queue.durable, hook)
    await first.provision()
    await second.provision()
    await publish_original(js, queue.subject)
    await terminate_by_hand(js, queue.stream, queue.durable)
    subject = dead_letter_subject(queue.stream, queue.durable)
    async with running(first.worker(FAST), second.worker(FAST)):
        await wait_for_dead_letter(js, subject, timeout=5)
    # The same advisory handled again (a redelivery, a second forwarder): no second copy.
    advisory_subject = f"{TERMINATED_ADVISORY}.{queue.stream}.{queue.durable}"
    advisory = await js.get_last_msg(ADVISORIES_STREAM, advisory_subject)
    replay = Msg(bus, subject=advisory.subject or "", data=advisory.data or b"")
    await second.handle(replay)
    await first.handle(replay)
    assert await dead_letter_count(js, subject) == 1
    assert len(hook.calls) == 3  # the hook is told each time: owners make it idempotent


async def test_other_consumers_advisories_are_left_alone(
    bus: Client, make_queue: MakeQueue
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy())
    await publish_original(js, queue.subject)
    forwarder = DeadLetterForwarder(js, queue.stream, "someone-else")
    advisory = orjson.dumps({"stream": queue.stream, "consumer": queue.durable, "stream_seq": 1})
    subject = f"{TERMINATED_ADVISORY}.{queue.stream}.{queue.durable}"
    await forwarder.handle(Msg(bus, subject=subject, data=advisory))
    assert await dead_letter_count(js, dead_letter_subject(queue.stream, queue.durable)) == 0
    assert await dead_letter_count(js, dead_letter_subject(queue.stream, "someone-else")) == 0


@pytest.mark.parametrize(
    "payload", [b"not json", b"[1, 2]", orjson.dumps({"stream": "S", "consumer": "c"})]
)
def test_malformed_advisories_are_invalid_input(payload: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_advisory(f"{TERMINATED_ADVISORY}.S.c", payload)


def test_advisory_kind_comes_from_the_subject() -> None:
    body = orjson.dumps({"stream": "S", "consumer": "c", "stream_seq": 3})
    assert parse_advisory(f"{TERMINATED_ADVISORY}.S.c", body)["kind"] == "terminated"
    max_subject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.c"
    assert parse_advisory(max_subject, body)["kind"] == "max_deliveries"
