"""`/ws` as `schemas/asyncapi.yaml` documents it: the gateway composed by `bootstrap` over
real PostgreSQL, NATS and Redis, served by uvicorn, driven through subscribe, unsubscribe,
cancel, ping, bad frames, status events from the bus and strikes; every frame it sends
must be one of the documented server messages, and the close codes documented ones."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asyncapi_ws import client_messages, load, server_messages, violations
from gateway_live import serving
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from wildside_common.bus.topology import walk_guidance_subject, walk_position_subject
from wildside_common.errors import (
    InvalidInput,
    InvalidMessage,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from wildside_common.messages import RouteGenerationStatus, RouteStatus, utc_now
from wildside_common.route import route_to_json
from wildside_common.testing.routes import example_route
from wildside_common.transport import ws as ws_codes
from wildside_gateway.bootstrap import Gateway
from wildside_gateway.routes.adapters.outbound.jetstream import JetStreamStatusAnnouncer

BODY = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}
DOCUMENT = load()
SERVER = server_messages(DOCUMENT)
CLIENT = client_messages(DOCUMENT)


@dataclass
class Running:
    port: int
    gateway: Gateway
    tokens: dict[str, str]

    async def submit(self, user: str) -> str:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
            response = await client.post("/api/v1/routes", json=BODY, headers=headers)
        assert response.status_code == 202, response.text
        request_id: str = response.json()["request_id"]
        return request_id

    async def save(self, user: str, request_id: str) -> str:
        """Save a succeeded request's route as `user`; the saved route's id."""
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        body = {"request_id": request_id, "name": "A walk to keep"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
            response = await client.post("/api/v1/saved-routes", json=body, headers=headers)
        assert response.status_code == 201, response.text
        saved_id: str = response.json()["id"]
        return saved_id

    async def succeed(self, request_id: str) -> None:
        """The router's part: the request succeeded with a stored route."""
        async with self.gateway.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE route_requests SET status = 'succeeded', progress = 100 WHERE id = $1",
                uuid.UUID(request_id),
            )
            await conn.execute(
                "INSERT INTO route_results (request_id, route, expires_at) "
                "SELECT id, $2, expires_at FROM route_requests WHERE id = $1",
                uuid.UUID(request_id),
                route_to_json(example_route()),
            )


@pytest.fixture
async def running(
    database_url: str, nats_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[Running]:
    limits = {"RATE_LIMIT_PER_MINUTE": "100000"}
    async with serving(database_url, nats_url, redis_url, redis_prefix, limits) as s:
        yield Running(s.port, s.gateway, s.tokens)


class Recorder:
    """A client socket that keeps every frame the server sent."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.frames: list[Any] = []

    async def send(self, frame: str | bytes | dict[str, Any]) -> None:
        await self.socket.send(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def receive(self, count: int = 1) -> list[dict[str, Any]]:
        got = []
        for _ in range(count):
            text = await asyncio.wait_for(self.socket.recv(decode=True), 5)
            got.append(json.loads(text))
        self.frames.extend(got)
        return got

    async def exchange(self, frame: str | bytes | dict[str, Any]) -> dict[str, Any]:
        await self.send(frame)
        (answer,) = await self.receive()
        return answer


async def open_socket(running: Running, user: str = "alice") -> ClientConnection:
    token = running.tokens[user]
    offer = [Subprotocol("wildside.v1"), Subprotocol(f"bearer.{token}")]
    return await connect(f"ws://127.0.0.1:{running.port}/ws", subprotocols=offer, open_timeout=5)


def assert_documented(frames: list[Any]) -> None:
    for frame in frames:
        assert violations(SERVER, frame) == [], frame


@pytest.mark.contract
async def test_every_frame_the_gateway_sends_is_a_documented_message(running: Running) -> None:
    mine, foreign = await running.submit("alice"), await running.submit("bob")
    announcer = JetStreamStatusAnnouncer(running.gateway.nats)
    async with await open_socket(running) as socket:
        assert (
            socket.subprotocol
            == DOCUMENT["channels"]["statusSocket"]["x-wildside-subprotocols"]["selected"]
        )
        client = Recorder(socket)
        assert (await client.exchange({"type": "ping"}))["type"] == "pong"
        await client.send({"type": "subscribe", "request_id": mine.upper()})
        subscribed, latest = await client.receive(2)
        assert subscribed == {"type": "subscribed", "request_id": mine}
        assert latest["type"] == "route_generation_status" and latest["status"] == "queued"
        # The router's part, through the real bus: progress, then a failure.
        await announcer.announce(RouteGenerationStatus(mine, RouteStatus.RUNNING, 40, utc_now()))
        failed = RouteGenerationStatus(mine, RouteStatus.FAILED, 40, utc_now(), "timeout")
        await announcer.announce(failed)
        running_event, failed_event = await client.receive(2)
        assert (running_event["status"], failed_event["status"]) == ("running", "failed")
        for frame in (
            {"type": "subscribe", "request_id": foreign},
            {"type": "subscribe", "request_id": str(uuid.uuid4())},
            {"type": "cancel", "request_id": str(uuid.uuid4())},
            b"\x00binary",
            "{not json",
            "[]",
            {"type": "shout"},
            {"type": "subscribe"},
            {"type": "unsubscribe", "request_id": "{" + mine + "}"},
        ):
            assert (await client.exchange(frame))["type"] == "error", frame
        assert await client.exchange({"type": "unsubscribe", "request_id": mine}) == {
            "type": "unsubscribed",
            "request_id": mine,
        }
    async with await open_socket(running) as second:  # strikes are counted per socket
        walker = Recorder(second)
        await walk(running, walker, foreign)
    client.frames.extend(walker.frames)
    assert_documented(client.frames)
    assert {frame["type"] for frame in client.frames} == set(SERVER), "a message went unseen"
    codes = {frame["code"] for frame in client.frames if frame["type"] == "error"}
    assert {"not_found", "invalid_message"} <= codes


async def walk(running: Running, client: Recorder, foreign: str) -> None:
    """A live walk: start, positions out to the bus, guidance back, the refusals, stop."""
    walked, queued = await running.submit("alice"), await running.submit("alice")
    await running.succeed(walked)
    await running.succeed(foreign)
    nats = running.gateway.nats
    positions = await nats.subscribe(walk_position_subject(walked))
    await nats.flush()
    start = {"type": "walk.start", "request_id": walked}
    assert await client.exchange(start) == {"type": "walk.started", "request_id": walked}
    for frame, code in (
        ({"type": "walk.start", "request_id": foreign}, "not_found"),  # bob's
        ({"type": "walk.start", "request_id": queued}, "invalid_request"),  # not succeeded
        ({"type": "position", "request_id": queued, "lat": 60.17, "lng": 24.95}, "not_found"),
        ({"type": "position", "request_id": walked, "lat": "north"}, "invalid_message"),
    ):
        answer = await client.exchange(frame)
        assert (answer["type"], answer["code"]) == ("error", code), frame
    point = {"lat": 60.1695, "lng": 24.9522, "accuracy_m": 5, "timestamp": 1_796_000_000_500}
    await client.send({"type": "position", "request_id": walked} | point)
    published = json.loads((await positions.next_msg(timeout=5)).data)
    assert published == {"request_id": walked, **point, "timestamp": 1_796_000_000.5}
    # The guide's part, through the real bus: guidance for this walk reaches the socket.
    guidance = DOCUMENT["components"]["messages"]["WalkGuidance"]["examples"][0]["payload"]
    guidance = guidance | {"request_id": walked}
    await nats.publish(walk_guidance_subject(walked), json.dumps(guidance).encode())
    assert (await client.receive())[0] == guidance
    tip = DOCUMENT["components"]["messages"]["WalkTip"]["examples"][0]["payload"]
    tip = tip | {"request_id": walked}
    await nats.publish(walk_guidance_subject(walked), json.dumps(tip).encode())
    assert (await client.receive())[0] == tip
    await reroute(running, client, walked)
    await client.send({"type": "position", "request_id": walked} | point)
    limited = await client.exchange({"type": "position", "request_id": walked} | point)
    assert (limited["type"], limited["code"]) == ("error", "rate_limited")
    stop = {"type": "walk.stop", "request_id": walked}
    assert await client.exchange(stop) == {"type": "walk.stopped", "request_id": walked}
    await positions.unsubscribe()
    await walk_saved(running, client, walked, foreign)


async def walk_saved(running: Running, client: Recorder, walked: str, foreign: str) -> None:
    """`walk.start` of a saved route: the caller's only; the walk's id is the saved route's."""
    saved, bobs = await running.save("alice", walked), await running.save("bob", foreign)
    nats = running.gateway.nats
    positions = await nats.subscribe(walk_position_subject(saved))
    await nats.flush()
    start = {"type": "walk.start", "saved_route_id": saved.upper()}
    started = {"type": "walk.started", "request_id": saved, "saved_route_id": saved}
    assert await client.exchange(start) == started
    for frame, code in (
        ({"type": "walk.start", "saved_route_id": bobs}, "not_found"),
        ({"type": "walk.start", "saved_route_id": str(uuid.uuid4())}, "not_found"),
        ({"type": "walk.start", "saved_route_id": "nope"}, "invalid_message"),
    ):
        answer = await client.exchange(frame)
        assert (answer["type"], answer["code"]) == ("error", code), frame
    await asyncio.sleep(1.0)  # the position rate: 2 a second
    point = {"lat": 60.1695, "lng": 24.9522, "accuracy_m": 5, "timestamp": 1_796_000_001_500}
    await client.send({"type": "position", "request_id": saved} | point)
    published = json.loads((await positions.next_msg(timeout=5)).data)
    assert published["request_id"] == saved
    stop = {"type": "walk.stop", "request_id": saved}
    assert await client.exchange(stop) == {"type": "walk.stopped", "request_id": saved}
    await positions.unsubscribe()


async def reroute(running: Running, client: Recorder, walked: str) -> None:
    """The guide's `reroute.wanted`: submitted for the walker as a route request of theirs
    (linked to the walk), answered `reroute`, the socket subscribed to it; asked again
    while it is queued, nothing (one in flight per walk)."""
    wanted = DOCUMENT["components"]["messages"]["WalkRerouteWanted"]["examples"][0]["payload"]
    wanted = wanted | {"request_id": walked}
    subject = walk_guidance_subject(walked)
    await running.gateway.nats.publish(subject, json.dumps(wanted).encode())
    answer, subscribed, status = await client.receive(3)
    new_id = answer["new_request_id"]
    assert answer == {"type": "reroute", "request_id": walked, "new_request_id": new_id}
    assert new_id != walked
    assert subscribed == {"type": "subscribed", "request_id": new_id}
    assert (status["request_id"], status["status"]) == (new_id, "queued")
    headers = {"Authorization": f"Bearer {running.tokens['alice']}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as http:
        state = (await http.get(f"/api/v1/routes/{new_id}", headers=headers)).json()
        listed = (await http.get("/api/v1/routes", headers=headers)).json()
    assert state["rerouted_from"] == walked and state["status"] == "queued"
    mine = next(item for item in listed["data"] if item["request_id"] == new_id)
    asked = wanted["route_request"]
    assert mine["summary"]["start"] == asked["start"]
    assert mine["summary"]["duration_minutes"] == asked["duration_minutes"]
    again = wanted | {"reroute": 2}
    await running.gateway.nats.publish(subject, json.dumps(again).encode())
    await asyncio.sleep(0.3)
    assert await client.exchange({"type": "ping"}) == {"type": "pong"}  # nothing came between


@pytest.mark.contract
async def test_strikes_end_in_a_documented_close_code(running: Running) -> None:
    channel = DOCUMENT["channels"]["statusSocket"]
    limit = channel["x-wildside-max-strikes"]
    async with await open_socket(running) as socket:
        client = Recorder(socket)
        for _ in range(limit):
            assert (await client.exchange("{not json"))["code"] == "invalid_message"
        await client.send({"type": "subscribe", "request_id": str(uuid.uuid4())})
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await client.receive()
    assert_documented(client.frames)
    assert len(client.frames) == limit + 1  # the last strike is answered, then closed
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.code in channel["x-wildside-close-codes"]


@pytest.mark.unit
def test_the_documented_examples_are_valid_messages() -> None:
    assert set(CLIENT) == {
        "subscribe",
        "unsubscribe",
        "cancel",
        "ping",
        "walk.start",
        "position",
        "walk.stop",
    }
    assert set(SERVER) == {
        "subscribed",
        "unsubscribed",
        "route_generation_status",
        "pong",
        "error",
        "walk.started",
        "walk.stopped",
        "guidance",
        "tip",
        "reroute",
    }
    for messages in (CLIENT, SERVER):
        for message in messages.values():
            assert message.examples, message.name
            for example in message.examples:
                assert violations(messages, example) == [], (message.name, example)


@pytest.mark.unit
def test_the_close_codes_the_gateway_uses_are_documented() -> None:
    documented = set(DOCUMENT["channels"]["statusSocket"]["x-wildside-close-codes"])
    used = {
        ws_codes.POLICY_VIOLATION,  # strikes
        ws_codes.close_code_for(Unauthorized("ended")),  # SessionWatch: session ended
        ws_codes.close_code_for(Unavailable("redis")),  # SessionWatch: cannot know
        1011,  # uvicorn: keepalive ping timeout
        1012,  # uvicorn: shutting down
    }
    assert used == documented


@pytest.mark.unit
def test_an_error_frame_of_each_code_the_socket_can_send_is_documented() -> None:
    for error in (
        InvalidMessage("frames must be JSON"),
        InvalidInput("at most 100 subscriptions per socket"),
        NotFound("no such route request"),
        RateLimited("at most 2 positions a second", 1),
        Unavailable("database"),
    ):
        frame = ws_codes.error_message(error, str(uuid.uuid4()))
        assert violations(SERVER, frame) == [], frame


@pytest.mark.unit
def test_a_drifted_frame_is_refused() -> None:
    """The validators are not vacuous: each kind of drift is caught."""
    good = {"type": "subscribed", "request_id": str(uuid.uuid4())}
    assert violations(SERVER, good) == []
    for bad in (
        {**good, "extra": 1},
        {"type": "subscribed"},
        {**good, "request_id": "not-a-uuid"},
        {"type": "subscribe", "request_id": good["request_id"]},  # a client message
        {"type": "error", "code": "teapot", "message": "x"},
        {"type": "route_generation_status", "request_id": good["request_id"], "status": "x"},
        {"type": "route_generation_status", "request_id": good["request_id"], "progress": 1}
        | {"status": "failed"},  # failed without its error
    ):
        assert violations(SERVER, bad), bad
