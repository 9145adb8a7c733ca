"""Attack suite, the bus: poison messages published straight to the running stack's job
subjects, as a client with access to NATS would. Each is dead-lettered once, on its first
delivery, with its real reason; a route request it names ends `failed` (the owner reads
why over HTTP); the workers stay healthy and keep working.

The whole module runs twice: on the pinned nats-server and on Debian's 2.9.10 (which
ignores a `+TERM` carrying a reason), each with its own gateway, router and enricher.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import msgpack
import nats
import pytest

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import base, submit, wait_final
from wildside_common.bus import dead_letter
from wildside_common.bus.topology import (
    ENRICHER_CONSUMER,
    ENRICHMENT_JOB_SUBJECT,
    ENRICHMENT_JOBS_STREAM,
    ROUTE_JOB_SUBJECT,
    ROUTE_JOBS_STREAM,
    ROUTER_CONSUMER,
    dead_letter_subject,
)
from wildside_common.codec import encode
from wildside_common.messages import (
    BoundingBox,
    EnrichmentJob,
    GenerateRouteJob,
    GeoPoint,
    utc_now,
)
from wildside_common.testing.bus import dead_letters
from wildside_common.testing.servers import NatsServer, unique_prefix

pytestmark = pytest.mark.e2e
ROUTE_DLQ = dead_letter_subject(ROUTE_JOBS_STREAM, ROUTER_CONSUMER)
ENRICHMENT_DLQ = dead_letter_subject(ENRICHMENT_JOBS_STREAM, ENRICHER_CONSUMER)
ACK_WAIT = 3.0  # conftest's ROUTER_ACK_WAIT_SECONDS: a redelivery would come this soon


@pytest.fixture(scope="module")
def nats_url(each_nats_server: NatsServer) -> str:
    """This module's stack (conftest's `stack_env`) runs on each supported nats-server."""
    return each_nats_server.url


@pytest.fixture(scope="module")
def enricher(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    # Nothing answers on the Overpass URL: no poison message may get that far.
    env = {**stack_env, "OVERPASS_URLS": "http://127.0.0.1:9/api/interpreter",
           "ENRICHER_REDIS_PREFIX": unique_prefix(), "ENRICHER_ACK_WAIT_SECONDS": "3"}  # fmt: skip
    with stack.running(stack.enricher(env)) as (service,):
        yield service


async def publish_raw(nats_url: str, messages: list[tuple[str, bytes]]) -> list[int]:
    """Publish payloads as they are (no codec, no schema headers); their sequences."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        acks = [await js.publish(subject, payload) for subject, payload in messages]
        return [ack.seq for ack in acks]
    finally:
        await client.close()


async def letters_by_sequence(nats_url: str, subject: str) -> dict[int, list[dict[str, str]]]:
    """The headers of every dead letter on `subject`, by original sequence."""
    client = await nats.connect(nats_url)
    try:
        found: dict[int, list[dict[str, str]]] = {}
        for letter in await dead_letters(client.jetstream(), subject):
            headers = dict(letter.headers or {})
            found.setdefault(int(headers[dead_letter.ORIGIN_SEQ_HEADER]), []).append(headers)
        return found
    finally:
        await client.close()


def wait_for_letters(
    nats_url: str, subject: str, sequences: list[int], timeout: float = 10.0
) -> dict[int, list[dict[str, str]]]:
    deadline = time.monotonic() + timeout
    while True:
        letters = asyncio.run(letters_by_sequence(nats_url, subject))
        if all(seq in letters for seq in sequences):
            return letters
        missing = [seq for seq in sequences if seq not in letters]
        assert time.monotonic() < deadline, f"no dead letter for sequences {missing}"
        time.sleep(0.1)


async def queued_request_of(database_url: str, username: str) -> tuple[str, str]:
    """A route request the user has waiting (as the gateway records one): its id and the
    user's."""
    conn = await asyncpg.connect(database_url)
    try:
        user_id = await conn.fetchval("SELECT id FROM users WHERE username = $1", username)
        request_id = uuid.uuid4()
        payload = '{"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 30}'
        await conn.execute(
            "INSERT INTO route_requests (id, user_id, payload) VALUES ($1, $2, $3::jsonb)",
            request_id,
            user_id,
            payload,
        )
        return str(request_id), str(user_id)
    finally:
        await conn.close()


def route_job(request_id: str, user_id: str) -> GenerateRouteJob:
    return GenerateRouteJob(request_id, user_id, GeoPoint(60.17, 24.94), 30, (), utc_now())


def check_once_each(
    letters: dict[int, list[dict[str, str]]], expected: dict[int, str], stream: str
) -> None:
    for seq, reason in expected.items():
        assert len(letters[seq]) == 1, (seq, letters[seq])
        (headers,) = letters[seq]
        assert headers[dead_letter.REASON_HEADER] == reason, seq
        assert headers[dead_letter.CODE_HEADER] == "invalid_request"
        assert headers[dead_letter.DELIVERIES_HEADER] == "1"
        assert "Traceback" not in headers[dead_letter.REASON_HEADER]
        assert headers[dead_letter.ORIGIN_STREAM_HEADER] == stream
        assert headers["Nats-Msg-Id"] == f"dlq:{stream}:{seq}"


def test_poison_route_jobs_are_dead_lettered_once_each_with_their_reason(
    gateway: stack.Service, router: stack.Service, stack_env: dict[str, str]
) -> None:
    nats_url, database_url = stack_env["NATS_URL"], stack_env["DATABASE_URL"]
    waiting, demo = asyncio.run(queued_request_of(database_url, "demo"))
    demo_job = route_job(waiting, str(uuid.uuid4()))
    stranger = route_job(str(uuid.uuid4()), str(uuid.uuid4()))  # a user_id not in users
    unrecorded = route_job(str(uuid.uuid4()), demo)  # the gateway rolled back after publishing
    poison: list[tuple[bytes, str]] = [
        (b"\x00\xc1\xff garbage", "invalid_request: payload is not valid msgpack"),
        (msgpack.packb([1, 2, 3]), "invalid_request: payload must be a map"),
        (
            msgpack.packb({**demo_job.to_wire(), "duration_minutes": "thirty"}),
            "invalid_request: duration_minutes: must be an integer",
        ),
        (
            encode(stranger),
            "invalid_request: the input refers to a record that does not exist",
        ),
        (encode(unrecorded), "invalid_request: the request was never recorded"),
    ]
    sequences = asyncio.run(
        publish_raw(nats_url, [(ROUTE_JOB_SUBJECT, payload) for payload, _ in poison])
    )
    wait_for_letters(nats_url, ROUTE_DLQ, sequences)
    time.sleep(ACK_WAIT + 1.0)  # past the ack wait: a redelivery would have come by now
    letters = asyncio.run(letters_by_sequence(nats_url, ROUTE_DLQ))
    expected = dict(zip(sequences, (reason for _, reason in poison), strict=True))
    check_once_each(letters, expected, ROUTE_JOBS_STREAM)

    # The request the malformed job named ends failed, and its owner reads why.
    failed = wait_final(gateway, waiting).json()
    reason = "dead-lettered: invalid_request: duration_minutes: must be an integer"
    assert (failed["status"], failed["error"]) == ("failed", reason)
    # The unknown user's job and the unrecorded request's left nothing behind.
    for job in (stranger, unrecorded):
        url = f"{base(gateway)}/api/v1/routes/{job.request_id}"
        assert httpx.get(url, headers=stack.auth(gateway), timeout=5).status_code == 404


def test_poison_enrichment_jobs_are_dead_lettered_once_each_with_their_reason(
    enricher: stack.Service, stack_env: dict[str, str]
) -> None:
    nats_url = stack_env["NATS_URL"]
    box = BoundingBox(60.15, 24.87, 60.16, 24.88)
    job = EnrichmentJob(str(uuid.uuid4()), box, ("food",), utc_now())
    wire = job.to_wire()
    poison: list[tuple[bytes, str]] = [
        (b"\xc1 not msgpack", "invalid_request: payload is not valid msgpack"),
        (msgpack.packb({**wire, "bbox": "everywhere"}), "invalid_request: bbox: must be an object"),
        (msgpack.packb({**wire, "themes": [1]}), "invalid_request: themes[0]: must be a theme id"),
    ]
    sequences = asyncio.run(
        publish_raw(nats_url, [(ENRICHMENT_JOB_SUBJECT, payload) for payload, _ in poison])
    )
    wait_for_letters(nats_url, ENRICHMENT_DLQ, sequences)
    time.sleep(ACK_WAIT + 1.0)
    letters = asyncio.run(letters_by_sequence(nats_url, ENRICHMENT_DLQ))
    expected = dict(zip(sequences, (reason for _, reason in poison), strict=True))
    check_once_each(letters, expected, ENRICHMENT_JOBS_STREAM)


def test_the_workers_stay_healthy_and_keep_working_after_the_poison(
    gateway: stack.Service, router: stack.Service, enricher: stack.Service
) -> None:
    for service in (gateway, router, enricher):
        assert httpx.get(service.health_url, timeout=5).status_code == 200, service.name
    rejected = {"stream": ROUTE_JOBS_STREAM, "reason": "rejected"}
    assert stack.metric(router, "wildside_dead_letters_total", rejected) >= 4
    assert (
        stack.metric(router, "wildside_dead_letters_total", {**rejected, "reason": "terminated"})
        == 0
    )
    request_id = submit(gateway)
    final: dict[str, Any] = wait_final(gateway, request_id).json()
    assert final["status"] == "succeeded", final
