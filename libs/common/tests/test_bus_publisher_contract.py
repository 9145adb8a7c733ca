"""Publishing against a real nats-server: de-duplication, headers, an unreachable bus."""

from __future__ import annotations

import asyncio
import contextvars
import time
import uuid
from datetime import UTC, datetime

import pytest
from bus_helpers import MakeQueue
from nats.aio.client import Client
from opentelemetry.sdk.trace import TracerProvider

from wildside_common import codec
from wildside_common.bus.connection import connect
from wildside_common.bus.publisher import Outgoing, publish, publish_many, publish_many_nowait
from wildside_common.bus.topology import (
    ROUTE_STATUS_STREAM,
    WorkerPolicy,
    ensure_streams,
    status_subject,
)
from wildside_common.errors import Unavailable
from wildside_common.messages import RouteGenerationStatus, RouteStatus
from wildside_common.testing.servers import NatsServer, free_port

pytestmark = pytest.mark.contract


TRACER = TracerProvider().get_tracer("wildside.test.publisher")


def a_status(request_id: str, progress: int = 0) -> RouteGenerationStatus:
    status = RouteStatus.QUEUED if progress == 0 else RouteStatus.RUNNING
    return RouteGenerationStatus(request_id, status, progress, datetime.now(UTC))


async def count(bus: Client, stream: str, subject: str) -> int:
    info = await bus.jetstream().stream_info(stream, subjects_filter=subject)
    return int((info.state.subjects or {}).get(subject, 0))


async def test_the_same_msg_id_twice_is_one_message(bus: Client, make_queue: MakeQueue) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy())
    job_id = str(uuid.uuid4())
    first = await publish(js, queue.subject, a_status(job_id), msg_id=job_id)
    again = await publish(js, queue.subject, a_status(job_id, 50), msg_id=job_id)
    other = await publish(js, queue.subject, a_status(job_id, 60), msg_id=str(uuid.uuid4()))
    assert again == first
    assert other == first + 1
    assert await count(bus, queue.stream, queue.subject) == 2
    stored = await js.get_msg(queue.stream, first)
    assert codec.decode(RouteGenerationStatus, stored.data or b"").progress == 0


async def test_without_msg_id_every_publish_is_kept(bus: Client) -> None:
    request_id = str(uuid.uuid4())
    subject = status_subject(request_id)
    for progress in (0, 10, 20):
        await publish(bus.jetstream(), subject, a_status(request_id, progress))
    assert await count(bus, ROUTE_STATUS_STREAM, subject) == 3


async def test_headers_carry_msg_id_schema_and_trace(bus: Client) -> None:
    js = bus.jetstream()
    request_id = str(uuid.uuid4())
    with TRACER.start_as_current_span("POST /api/v1/routes") as span:
        seq = await publish(js, status_subject(request_id), a_status(request_id), msg_id="m-1")
        trace_id = format(span.get_span_context().trace_id, "032x")
    headers = (await js.get_msg(ROUTE_STATUS_STREAM, seq)).headers or {}
    assert headers["Nats-Msg-Id"] == "m-1"
    assert headers[codec.SCHEMA_HEADER] == "RouteGenerationStatus"
    assert headers[codec.SCHEMA_VERSION_HEADER] == "1"
    assert headers["traceparent"].split("-")[1] == trace_id


async def test_connecting_to_nothing_raises_unavailable_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await connect(f"nats://127.0.0.1:{free_port()}", "wildside-test", attempts=2, wait=0.05)
    assert time.monotonic() - started < 5.0


async def test_publishing_to_a_stopped_server_raises_unavailable_quickly() -> None:
    server = NatsServer()
    server.start()
    client = await connect(server.url, "wildside-test", attempts=1)
    try:
        js = client.jetstream()
        await ensure_streams(js)
        request_id = str(uuid.uuid4())
        await publish(js, status_subject(request_id), a_status(request_id), timeout=1.0)
        server.stop()
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await publish(js, status_subject(request_id), a_status(request_id, 5), timeout=0.5)
        assert time.monotonic() - started < 2.0
    finally:
        await client.close()
        server.close()


async def test_a_connected_client_keeps_reconnecting_after_an_outage() -> None:
    server = NatsServer()
    server.start()
    client = await connect(server.url, "wildside-test", attempts=1)
    try:
        server.stop()
        # Longer than the bounded first-connection retries (2 tries, 1 s apart) would last.
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            assert not client.is_closed
            await asyncio.sleep(0.1)
        server.start()
        for _ in range(100):
            if client.is_connected:
                break
            await asyncio.sleep(0.1)
        assert client.is_connected
        await ensure_streams(client.jetstream())
        request_id = str(uuid.uuid4())
        assert await publish(client.jetstream(), status_subject(request_id), a_status(request_id))
    finally:
        await client.close()
        server.close()


def traced_statuses(id_prefix: str) -> tuple[list[str], list[str], list[Outgoing]]:
    """Status events of three requests, each published in its own trace, plus a repeat of
    the first (same message id: de-duplicated); the ids, the trace ids, the messages."""
    ids = [str(uuid.uuid4()) for _ in range(3)]
    contexts, trace_ids = [], []
    for request_id in ids:
        with TRACER.start_as_current_span(f"POST {request_id}") as span:
            contexts.append(contextvars.copy_context())
            trace_ids.append(format(span.get_span_context().trace_id, "032x"))
    messages = [
        Outgoing(status_subject(rid), a_status(rid), f"{id_prefix}-{rid}", ctx)
        for rid, ctx in zip(ids, contexts, strict=True)
    ]
    repeat = f"{id_prefix}-{ids[0]}"
    messages.append(Outgoing(status_subject(ids[0]), a_status(ids[0]), repeat, contexts[0]))
    return ids, trace_ids, messages


async def test_publish_many_acks_each_message_with_its_own_trace(bus: Client) -> None:
    js = bus.jetstream()
    ids, trace_ids, messages = traced_statuses("m")
    assert await publish_many(js, messages, timeout=2.0) == [None] * 4
    for rid, trace_id in zip(ids, trace_ids, strict=True):
        assert await count(bus, ROUTE_STATUS_STREAM, status_subject(rid)) == 1  # de-duplicated
        last = await js.get_last_msg(ROUTE_STATUS_STREAM, status_subject(rid))
        assert (last.headers or {})["traceparent"].split("-")[1] == trace_id
        assert (last.headers or {})["Nats-Msg-Id"] == f"m-{rid}"


async def test_publish_many_reports_unacknowledged_messages_as_unavailable(bus: Client) -> None:
    js = bus.jetstream()
    request_id = str(uuid.uuid4())
    context = contextvars.copy_context()
    messages = [
        Outgoing(status_subject(request_id), a_status(request_id), None, context),
        Outgoing(f"no.stream.here.{request_id}", a_status(request_id), None, context),
    ]
    started = time.monotonic()
    outcomes = await publish_many(js, messages, timeout=0.5)
    assert outcomes[0] is None
    assert isinstance(outcomes[1], Unavailable)
    assert time.monotonic() - started < 2.0


async def test_publish_many_nowait_stores_each_message_with_its_own_trace(bus: Client) -> None:
    js = bus.jetstream()
    ids, trace_ids, messages = traced_statuses("n")
    assert await publish_many_nowait(bus, messages) == 0
    await bus.flush(timeout=2)  # the server has them; JetStream stores them just after
    for rid, trace_id in zip(ids, trace_ids, strict=True):
        deadline = time.monotonic() + 5
        while await count(bus, ROUTE_STATUS_STREAM, status_subject(rid)) == 0:
            assert time.monotonic() < deadline, f"{rid} was never stored"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)  # a second copy, not de-duplicated, would be stored by now
        assert await count(bus, ROUTE_STATUS_STREAM, status_subject(rid)) == 1  # de-duplicated
        last = await js.get_last_msg(ROUTE_STATUS_STREAM, status_subject(rid))
        assert (last.headers or {})["traceparent"].split("-")[1] == trace_id
        assert (last.headers or {})["Nats-Msg-Id"] == f"n-{rid}"
        decoded = codec.decode(RouteGenerationStatus, last.data)
        assert (decoded.request_id, decoded.status, decoded.progress) == (
            rid,
            RouteStatus.QUEUED,
            0,
        )
