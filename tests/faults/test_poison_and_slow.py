"""(h) A poison message and a slow consumer on the cluster, under load. Mid-load a
malformed route job is published straight on the job subject (as anyone with access to
NATS could): it is dead-lettered once, on its first delivery, with its reason, and every
request of the load still ends. One of the two routers takes 8 s a job, over the 3 s
ack wait: its heartbeat (in-progress acks every 0.5 s) keeps each job its own, so no job
is delivered twice and none runs twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from nats.js.api import ConsumerInfo

from tests.e2e import stack
from tests.faults.conftest import start
from tests.faults.load import check, run_load
from wildside_common.bus import dlq
from wildside_common.bus.connection import connect
from wildside_common.bus.topology import (
    ROUTE_JOB_SUBJECT,
    ROUTE_JOBS_STREAM,
    ROUTER_CONSUMER,
    dead_letter_subject,
)
from wildside_common.testing.bus import dead_letters

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]
POISON = b"\x00\xc1\xff not a route job"
SLOW = 8.0  # seconds of simulated work a job on the slow router; the ack wait is 3 s


async def publish_poison(url: str) -> int:
    client = await connect(url, "wildside-faults-poison", attempts=5, wait=0.2)
    try:
        return (await client.jetstream().publish(ROUTE_JOB_SUBJECT, POISON)).seq
    finally:
        await client.close()


async def letters_and_consumer(url: str) -> tuple[list[dict[str, str]], ConsumerInfo]:
    """The headers of the route jobs' dead letters; the router consumer's state."""
    client = await connect(url, "wildside-faults-check", attempts=5, wait=0.2)
    try:
        js = client.jetstream()
        letters = await dead_letters(js, dead_letter_subject(ROUTE_JOBS_STREAM, ROUTER_CONSUMER))
        info = await js.consumer_info(ROUTE_JOBS_STREAM, ROUTER_CONSUMER)
    finally:
        await client.close()
    return [dict(letter.headers or {}) for letter in letters], info


def test_a_poison_job_is_dead_lettered_once_and_a_slow_solve_is_not_redelivered(
    env, services, cluster
) -> None:
    gateways = [start(services, stack.gateway(env)) for _ in range(2)]
    slow = start(services, stack.router({**env, "ROUTER_SIMULATED_WORK_SECONDS": str(SLOW)}))
    start(services, stack.router({**env, "ROUTER_SIMULATED_WORK_SECONDS": "0.5"}))
    since = datetime.now(UTC)
    poisoned: list[int] = []

    async def poison_mid_load() -> None:
        await asyncio.sleep(8)
        poisoned.append(await publish_poison(cluster.url))

    clients = asyncio.run(run_load(gateways, poison_mid_load, rate=5, seconds=20))
    report = asyncio.run(check(clients, env["DATABASE_URL"], cluster.url, since))
    letters, consumer = asyncio.run(letters_and_consumer(cluster.url))
    slow_jobs = stack.metric(slow, "wildside_jobs_total", {"consumer": "router", "outcome": "ack"})
    print(report, f"slow router acked {slow_jobs}", consumer.delivered, consumer.ack_floor)
    print(letters)
    assert report.accepted == 100

    # The poison: one dead letter, from the first delivery, with the decoder's reason.
    (headers,) = letters
    assert headers[dlq.ORIGIN_SEQ_HEADER] == str(poisoned[0])
    assert headers[dlq.REASON_HEADER] == "invalid_request: payload is not valid msgpack"
    assert headers[dlq.CODE_HEADER] == "invalid_request"
    assert headers[dlq.DELIVERIES_HEADER] == "1"

    # The slow consumer: its solves outlasted the ack wait, and nothing came back.
    assert consumer.config.ack_wait is not None and consumer.config.ack_wait < SLOW
    assert slow_jobs >= 5, "the slow router solved too few jobs: nothing was tested"
    assert report.redelivered == 0, "a job ran twice"
    # Every message of the stream (the jobs and the poison) was delivered exactly once:
    # a redelivery takes a consumer sequence of its own, not a stream sequence.
    delivered = consumer.delivered
    assert delivered is not None
    assert delivered.consumer_seq == delivered.stream_seq == report.accepted + 1
    assert consumer.num_ack_pending == 0
