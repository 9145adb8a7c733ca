"""The gateway's live walk feed on a real nats-server: a position goes out on the walk's
subject as the documented message (schemas/asyncapi.yaml `WalkPosition`); guidance on a
walk's subject reaches the listeners of that walk only, until they are forgotten; frames
that are not JSON objects of that walk are dropped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
import orjson
import pytest
from asyncapi_ws import inline, load
from jsonschema import Draft202012Validator
from nats.aio.client import Client

from wildside_common.bus.topology import walk_guidance_subject, walk_position_subject
from wildside_common.testing import servers
from wildside_gateway.routes.adapters.outbound.walk_feed import NatsWalkFeed

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def own_nats() -> Iterator[servers.NatsServer]:
    with servers.nats_server() as server:
        yield server


@pytest.fixture
async def feed_and_bus(own_nats: servers.NatsServer) -> AsyncIterator[tuple[NatsWalkFeed, Client]]:
    gateway_nc = await nats.connect(own_nats.url)
    bus = await nats.connect(own_nats.url)
    feed = NatsWalkFeed(gateway_nc)
    await feed.start()
    assert feed.running
    try:
        yield feed, bus
    finally:
        await feed.stop()
        assert not feed.running
        await gateway_nc.drain()
        await bus.drain()


def payload_validator(name: str) -> Draft202012Validator:
    document = load()
    return Draft202012Validator(
        inline(document, document["components"]["messages"][name])["payload"]
    )


async def test_a_position_goes_out_as_the_documented_message(
    feed_and_bus: tuple[NatsWalkFeed, Client],
) -> None:
    feed, bus = feed_and_bus
    request_id = str(uuid.uuid4())
    sub = await bus.subscribe(walk_position_subject(request_id))
    await bus.flush()
    await feed.publish_position(request_id, 60.1687, 24.9523, 8.0, 1_796_000_000.5)
    msg = await sub.next_msg(timeout=15)  # core NATS: seconds only on a loaded machine
    frame = orjson.loads(msg.data)
    payload_validator("WalkPosition").validate(frame)
    assert frame == {
        "request_id": request_id,
        "lat": 60.1687,
        "lng": 24.9523,
        "accuracy_m": 8.0,
        "timestamp": 1_796_000_000.5,
    }


async def test_guidance_reaches_the_walks_listeners_only_until_forgotten(
    feed_and_bus: tuple[NatsWalkFeed, Client],
) -> None:
    feed, bus = feed_and_bus
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    listener: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    bystander: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    feed.listen(mine, listener)
    feed.listen(other, bystander)
    guidance = {"type": "guidance", "request_id": mine, "off_route": False}
    await bus.publish(walk_guidance_subject(mine), b"not json")
    await bus.publish(walk_guidance_subject(mine), orjson.dumps(guidance | {"request_id": other}))
    await bus.publish(walk_guidance_subject(mine), orjson.dumps(guidance))
    assert await asyncio.wait_for(listener.get(), 5) == guidance
    await asyncio.sleep(0.2)
    assert listener.empty() and bystander.empty()
    feed.forget(mine, listener)
    await bus.publish(walk_guidance_subject(mine), orjson.dumps(guidance))
    await bus.flush()
    await asyncio.sleep(0.3)
    assert listener.empty()
