"""The gateway composed by `bootstrap` over real PostgreSQL, NATS and Redis, served by
uvicorn as `__main__` serves it: the WebSocket handshake's origin check, frames outside
the protocol, strikes, and /metrics on the metrics port only."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from gateway_live import serving
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

from wildside_common.testing.servers import free_port

pytestmark = pytest.mark.contract
APP_ORIGIN = "https://app.wildside.test"
EVIL = "https://evil.example"
BODY = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}


@dataclass
class Running:
    port: int
    metrics_port: int
    tokens: dict[str, str]

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


@pytest.fixture
async def gateway(
    database_url: str, nats_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[Running]:
    port = free_port()
    origins = {"ALLOWED_ORIGINS": f"http://127.0.0.1:{port},{APP_ORIGIN}"}
    async with serving(
        database_url, nats_url, redis_url, redis_prefix, origins, ops=True, port=port
    ) as s:
        assert s.metrics_port is not None
        yield Running(s.port, s.metrics_port, s.tokens)


async def raw_handshake(port: int, headers: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """An upgrade request over a bare TCP socket: the status line, headers and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /ws HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode()
    status, *header_lines = head.strip().split("\r\n")
    answer = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    length = int(answer.get("content-length", "0"))
    body = (await reader.readexactly(length)).decode() if length else ""
    writer.close()
    return status, answer, body


async def test_a_cookie_handshake_from_a_foreign_origin_is_403_before_the_upgrade(
    gateway: Running,
) -> None:
    cookie = {"Cookie": f"session={gateway.tokens['alice']}"}
    for origin in (EVIL, "null"):
        status, headers, body = await raw_handshake(gateway.port, {**cookie, "Origin": origin})
        assert status.startswith("HTTP/1.1 403"), status
        assert "upgrade" not in headers.get("connection", "").lower()
        envelope = json.loads(body)
        assert envelope["code"] == "csrf_rejected"
        assert envelope["trace_id"] == headers["trace-id"]
        assert headers["x-content-type-options"] == "nosniff"
    # Even when a bearer subprotocol is offered too: the cookie is what would authenticate.
    offer = {"Sec-WebSocket-Protocol": "wildside.v1, bearer.x", "Origin": EVIL, **cookie}
    status, _, _ = await raw_handshake(gateway.port, offer)
    assert status.startswith("HTTP/1.1 403"), status


async def open_socket(
    gateway: Running, origin: str | None = None, cookie: bool = True, bearer: bool = False
) -> ClientConnection:
    token = gateway.tokens["alice"]
    protocols = [Subprotocol("wildside.v1")]
    if bearer:
        protocols.append(Subprotocol(f"bearer.{token}"))
    return await connect(
        gateway.ws,
        origin=Origin(origin) if origin else None,
        additional_headers={"Cookie": f"session={token}"} if cookie else None,
        subprotocols=protocols,
        open_timeout=5,
    )


async def test_allowed_origins_non_browsers_and_bearer_subprotocols_are_upgraded(
    gateway: Running,
) -> None:
    for origin, cookie, bearer in (
        (APP_ORIGIN, True, False),
        (gateway.http, True, False),
        (None, True, False),  # no Origin: not a browser
        (EVIL, False, True),  # a token the page holds itself: no ambient credential
    ):
        async with await open_socket(gateway, origin, cookie, bearer) as socket:
            await socket.send(json.dumps({"type": "ping"}))
            assert json.loads(await socket.recv(decode=True)) == {"type": "pong"}
    with pytest.raises(InvalidStatus) as refused:
        await open_socket(gateway, EVIL)
    assert refused.value.response.status_code == 403


async def exchange(socket: ClientConnection, frame: str | bytes) -> dict[str, object]:
    await socket.send(frame)
    answer: dict[str, object] = json.loads(await asyncio.wait_for(socket.recv(decode=True), 5))
    return answer


async def test_binary_and_non_object_frames_get_invalid_message_and_the_socket_stays(
    gateway: Running,
) -> None:
    frames: list[str | bytes] = [b"\x00\x01binary", b'{"type":"ping"}', "[]", '"x"', "1", "null"]
    frames += ["{not json", '{"type":"shout"}', '{"type":"subscribe"}']
    async with await open_socket(gateway) as socket:
        for frame in frames:
            answer = await exchange(socket, frame)
            assert answer["type"] == "error" and answer["code"] == "invalid_message", frame
        assert await exchange(socket, '{"type":"ping"}') == {"type": "pong"}
        # A ping takes no request id: whatever rides along is ignored, not a strike.
        assert await exchange(socket, '{"type":"ping","request_id":"x"}') == {"type": "pong"}


ONE = uuid.UUID(int=1)
NOT_PLAIN_UUIDS: list[object] = [
    f"{{{ONE}}}",  # uuid.UUID() takes these three; PostgreSQL does not
    f"urn:uuid:{ONE}",
    ONE.hex,
    "not-a-uuid",
    "' OR 1=1 --",
    12345,
    {"$ne": None},
]


async def test_a_request_id_that_is_not_a_plain_uuid_gets_an_error_frame(
    gateway: Running,
) -> None:
    async with await open_socket(gateway) as socket:
        for request_id in NOT_PLAIN_UUIDS[:5]:  # ten strikes at most: the socket stays
            for kind in ("subscribe", "unsubscribe"):
                frame = json.dumps({"type": kind, "request_id": request_id})
                answer = await exchange(socket, frame)
                assert answer["code"] == "invalid_message", request_id
                assert "request_id" not in answer
        assert await exchange(socket, '{"type":"ping"}') == {"type": "pong"}
    async with await open_socket(gateway) as socket:
        for request_id in NOT_PLAIN_UUIDS[5:]:
            frame = json.dumps({"type": "subscribe", "request_id": request_id})
            assert (await exchange(socket, frame))["code"] == "invalid_message"


async def test_an_upper_case_uuid_is_the_same_request(gateway: Running) -> None:
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        headers = {"Authorization": f"Bearer {gateway.tokens['alice']}"}
        submitted = await client.post("/api/v1/routes", json=BODY, headers=headers)
    request_id = submitted.json()["request_id"]
    async with await open_socket(gateway) as socket:
        frame = json.dumps({"type": "subscribe", "request_id": request_id.upper()})
        assert await exchange(socket, frame) == {"type": "subscribed", "request_id": request_id}


async def test_foreign_and_unknown_request_ids_are_strikes(gateway: Running) -> None:
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        headers = {"Authorization": f"Bearer {gateway.tokens['bob']}"}
        submitted = await client.post("/api/v1/routes", json=BODY, headers=headers)
    assert submitted.status_code == 202, submitted.text
    foreign = submitted.json()["request_id"]
    async with await open_socket(gateway) as socket:
        for attempt in range(10):
            request_id = foreign if attempt % 2 else str(uuid.uuid4())
            frame = json.dumps({"type": "subscribe", "request_id": request_id})
            answer = await exchange(socket, frame)
            assert answer["code"] == "not_found"
        await socket.send(json.dumps({"type": "subscribe", "request_id": foreign}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_metrics_are_served_on_the_metrics_port_only(gateway: Running) -> None:
    async with httpx.AsyncClient() as client:
        public = await client.get(f"{gateway.http}/metrics")
        ops = await client.get(f"http://127.0.0.1:{gateway.metrics_port}/metrics")
        ready = await client.get(f"http://127.0.0.1:{gateway.metrics_port}/health/ready")
    assert public.status_code == 404 and public.json()["code"] == "not_found"
    assert ops.status_code == 200 and "wildside_ws_connections" in ops.text
    assert ops.headers["x-content-type-options"] == "nosniff"
    assert ready.status_code == 200 and ready.json()["checks"]["status_feed"] == "ok"
