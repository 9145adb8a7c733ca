"""Cancelling route requests through the gateway composed by `bootstrap` over real
PostgreSQL, NATS and Redis, served by uvicorn: DELETE /api/v1/routes/{id} and the
WebSocket `cancel` frame, their refusals (another user's, unknown, ended, not a UUID),
strikes, and the `cancelled` event pushed through the bus to the request's subscribers.
No router runs: the requests stay queued until cancelled."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from test_gateway_browser_ws_contract import BODY, Running, exchange, gateway
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

pytestmark = pytest.mark.contract
__all__ = ["gateway"]  # the fixture, shared with the WebSocket contract suite


def bearer(gateway: Running, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway.tokens[who]}"}


async def submitted(gateway: Running, who: str = "alice") -> str:
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        response = await client.post("/api/v1/routes", json=BODY, headers=bearer(gateway, who))
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    return request_id


async def delete(gateway: Running, request_id: str, who: str = "alice") -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        return await client.delete(f"/api/v1/routes/{request_id}", headers=bearer(gateway, who))


async def socket_of(gateway: Running, who: str = "alice") -> ClientConnection:
    return await connect(
        gateway.ws,
        additional_headers={"Cookie": f"session={gateway.tokens[who]}"},
        subprotocols=[Subprotocol("wildside.v1")],
        open_timeout=5,
    )


async def subscribed(gateway: Running, request_id: str) -> ClientConnection:
    socket = await socket_of(gateway)
    frame = json.dumps({"type": "subscribe", "request_id": request_id})
    assert await exchange(socket, frame) == {"type": "subscribed", "request_id": request_id}
    latest = json.loads(await asyncio.wait_for(socket.recv(decode=True), 5))
    assert latest["status"] == "queued"
    return socket


async def next_frame(socket: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(decode=True), 5))
    return frame


async def test_delete_cancels_a_queued_request_and_subscribers_see_cancelled(
    gateway: Running,
) -> None:
    request_id = await submitted(gateway)
    listener = await subscribed(gateway, request_id)
    try:
        response = await delete(gateway, request_id.upper())  # either case names it
        assert response.status_code == 202, response.text
        assert response.json() == {"request_id": request_id, "status": "cancelled"}
        event = await next_frame(listener)  # through the bus and the status feed
        assert event["type"] == "route_generation_status"
        assert (event["request_id"], event["status"], event["progress"]) == (
            request_id,
            "cancelled",
            100,
        )
    finally:
        await listener.close()
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        state = await client.get(f"/api/v1/routes/{request_id}", headers=bearer(gateway, "alice"))
    assert state.status_code == 200 and state.json()["status"] == "cancelled"


async def test_delete_refusals_use_the_error_envelope(gateway: Running) -> None:
    request_id = await submitted(gateway)
    foreign = await delete(gateway, request_id, who="bob")
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    unknown = await delete(gateway, str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    for bad in ("not-a-uuid", uuid.UUID(request_id).hex, f"{{{request_id}}}"):
        invalid = await delete(gateway, bad)
        assert invalid.status_code == 400, bad
        assert invalid.json()["code"] == "invalid_request"
        assert invalid.json()["details"] == {"field": "request_id"}
    assert (await delete(gateway, request_id)).status_code == 202  # untouched until now
    again = await delete(gateway, request_id)
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "already_final" and body["details"] == {"status": "cancelled"}
    assert body["trace_id"] == again.headers["trace-id"]
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        unauthenticated = await client.delete(f"/api/v1/routes/{request_id}")
    assert unauthenticated.status_code == 401


async def test_a_ws_cancel_answers_with_the_cancelled_event_and_reaches_subscribers(
    gateway: Running,
) -> None:
    request_id = await submitted(gateway)
    listener = await subscribed(gateway, request_id)
    try:
        async with await socket_of(gateway) as canceller:
            frame = json.dumps({"type": "cancel", "request_id": request_id})
            answer = await exchange(canceller, frame)
            assert answer["type"] == "route_generation_status"
            assert (answer["request_id"], answer["status"]) == (request_id, "cancelled")
            pushed = await next_frame(listener)
            assert (pushed["request_id"], pushed["status"]) == (request_id, "cancelled")
            again = await exchange(canceller, frame)
            assert again == {
                "type": "error",
                "code": "already_final",
                "message": "the route request has already ended (cancelled)",
                "request_id": request_id,
            }
    finally:
        await listener.close()


async def test_a_subscribed_canceller_gets_the_event_once(gateway: Running) -> None:
    request_id = await submitted(gateway)
    socket = await subscribed(gateway, request_id)
    try:
        answer = await exchange(socket, json.dumps({"type": "cancel", "request_id": request_id}))
        assert answer["status"] == "cancelled"
        assert await exchange(socket, '{"type":"ping"}') == {"type": "pong"}
        with pytest.raises(TimeoutError):  # the feed's copy is not sent again
            await asyncio.wait_for(socket.recv(), 1.0)
    finally:
        await socket.close()


async def test_bad_ws_cancels_get_error_frames_and_are_strikes(gateway: Running) -> None:
    foreign = await submitted(gateway, who="bob")
    ended = await submitted(gateway)
    assert (await delete(gateway, ended)).status_code == 202
    async with await socket_of(gateway) as socket:
        cases = [
            (foreign, "not_found"),
            (str(uuid.uuid4()), "not_found"),
            (ended, "already_final"),
            ("not-a-uuid", "invalid_message"),
            (None, "invalid_message"),
        ]
        for attempt in range(10):
            request_id, code = cases[attempt % len(cases)]
            frame: dict[str, Any] = {"type": "cancel"}
            if request_id is not None:
                frame["request_id"] = request_id
            answer = await exchange(socket, json.dumps(frame))
            assert (answer["type"], answer["code"]) == ("error", code), request_id
        await socket.send(json.dumps({"type": "cancel", "request_id": foreign}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        state = await client.get(f"/api/v1/routes/{foreign}", headers=bearer(gateway, "bob"))
    assert state.json()["status"] == "queued"  # another user's request was left alone


async def test_a_cookie_delete_from_a_foreign_origin_is_csrf_rejected(gateway: Running) -> None:
    request_id = await submitted(gateway)
    cookie = {"Cookie": f"session={gateway.tokens['alice']}"}
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        refused = await client.delete(
            f"/api/v1/routes/{request_id}", headers={**cookie, "Origin": "https://evil.example"}
        )
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_rejected"
        state = await client.get(f"/api/v1/routes/{request_id}", headers=bearer(gateway, "alice"))
        assert state.json()["status"] == "queued"
        allowed = await client.delete(
            f"/api/v1/routes/{request_id}", headers={**cookie, "Origin": gateway.http}
        )
        assert allowed.status_code == 202


async def test_an_unsupported_method_is_405_naming_get_and_delete(gateway: Running) -> None:
    async with httpx.AsyncClient(base_url=gateway.http) as client:
        response = await client.put(
            f"/api/v1/routes/{uuid.uuid4()}", headers=bearer(gateway, "alice")
        )
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "DELETE"}
