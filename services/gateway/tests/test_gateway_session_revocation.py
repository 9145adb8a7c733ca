"""Sessions that can be ended: logout, the end of every session of a user, and sockets
closed (4401) when their session ends; built through `wire_identity` with fakes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from gateway_identity_fakes import BASE_URL, KEY, FakeUsers, identity_app
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from wildside_common.server import serve_http
from wildside_common.sessions import Keyring, SessionCodec
from wildside_common.testing.revocations import MemoryRevocations
from wildside_common.testing.servers import free_port
from wildside_gateway.bootstrap import IdentityWiring
from wildside_gateway.routes.adapters.inbound.ws import StatusSocketEndpoint
from wildside_gateway.shared.domain.origins import AllowedOrigins
from wildside_gateway.shared.domain.principal import Role

pytestmark = pytest.mark.unit


@pytest.fixture
def users() -> FakeUsers:
    fake = FakeUsers()
    fake.add("walker", "right-password")
    fake.add("boss", "boss-password", Role.ADMIN)
    return fake


@pytest.fixture
def revocations() -> MemoryRevocations:
    return MemoryRevocations()


@pytest.fixture
async def app(
    users: FakeUsers, revocations: MemoryRevocations
) -> AsyncIterator[tuple[httpx.AsyncClient, IdentityWiring]]:
    client, wiring = identity_app(users, revocations=revocations)
    async with client:
        yield client, wiring


async def login(client: httpx.AsyncClient, username: str = "walker") -> dict[str, str]:
    password = "boss-password" if username == "boss" else "right-password"
    response = await client.post("/api/v1/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # each session is used as a Bearer token only
    return {"Authorization": f"Bearer {response.cookies['session']}"}


async def test_a_token_is_refused_after_logout_as_bearer_and_as_cookie(app) -> None:
    client, _ = app
    response = await client.post(
        "/api/v1/login", json={"username": "walker", "password": "right-password"}
    )
    token = response.cookies["session"]
    assert (await client.post("/api/v1/logout")).status_code == 204  # by cookie
    client.cookies.clear()
    for headers in ({"Authorization": f"Bearer {token}"}, {"Cookie": f"session={token}"}):
        again = await client.get("/api/v1/users/me", headers=headers)
        assert again.status_code == 401 and again.json()["code"] == "unauthorized"
        assert "ended" in again.json()["message"]
        assert (await client.post("/api/v1/logout", headers=headers)).status_code == 401


async def test_logout_ends_that_session_only(app) -> None:
    client, _ = app
    first, second = await login(client), await login(client)
    assert (await client.post("/api/v1/logout", headers=first)).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=first)).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=second)).status_code == 200


async def test_ending_a_users_sessions_refuses_them_all_and_a_new_login_works(
    app, users: FakeUsers
) -> None:
    client, wiring = app
    walker = next(uid for uid, (user, _) in users.rows.items() if user.username == "walker")
    sessions = [await login(client), await login(client)]
    boss = await login(client, "boss")
    await wiring.service.end_sessions(walker, "account deleted")  # what deletion will call
    for headers in sessions:
        assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=boss)).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=await login(client))).status_code == 200


async def test_a_demoted_admin_is_refused_on_the_next_request(app, users: FakeUsers) -> None:
    client, wiring = app
    boss = next(uid for uid, (user, _) in users.rows.items() if user.username == "boss")
    admin = await login(client, "boss")
    assert (await client.get("/api/v1/users", headers=admin)).status_code == 200
    await wiring.service.end_sessions(boss, "role change")  # as revoke-admin does
    assert (await client.get("/api/v1/users", headers=admin)).status_code == 401


async def test_sessions_fail_closed_when_revocations_cannot_be_read(
    app, revocations: MemoryRevocations
) -> None:
    client, _ = app
    headers = await login(client)
    revocations.available = False
    for method, path in (("GET", "/api/v1/users/me"), ("POST", "/api/v1/logout")):
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 503, path
        assert response.json()["code"] == "service_unavailable"
        assert "set-cookie" not in response.headers
    revocations.available = True
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200


@contextlib.asynccontextmanager
async def serving_ws(wiring: IdentityWiring) -> AsyncIterator[str]:
    """/ws alone on a real server (uvicorn, as in production) on a free port; its route
    service and status feed are never reached by these tests."""
    origins = AllowedOrigins.parse([BASE_URL])
    endpoint = StatusSocketEndpoint(None, wiring.ws_auth, None, origins)  # type: ignore[arg-type]
    app = Starlette(routes=[WebSocketRoute("/ws", endpoint.handle)])
    port, stop = free_port(), asyncio.Event()
    server = asyncio.create_task(serve_http(app, "127.0.0.1", port, stop, websockets=True))
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.05)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        stop.set()
        await server


async def closed_code(socket: ClientConnection, limit: float) -> int | None:
    """The close code the server sends within `limit` seconds (frames before it skipped)."""
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(limit):
            while True:
                await socket.recv()
    return socket.close_code


async def test_an_open_socket_is_closed_4401_within_a_second_of_logout(
    users: FakeUsers, revocations: MemoryRevocations
) -> None:
    _, wiring = identity_app(users, revocations=revocations)
    token, claims = wiring.service.sessions.issue(next(iter(users.rows)), "user")
    async with (
        serving_ws(wiring) as url,
        ws_connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as socket,
    ):
        await socket.send('{"type": "ping"}')
        assert await socket.recv() == '{"type":"pong"}'
        await revocations.revoke(claims.token_id, claims.expires_at)
        assert await closed_code(socket, 1.0) == 4401


async def test_an_open_socket_is_closed_4401_when_its_token_expires(users: FakeUsers) -> None:
    _, wiring = identity_app(users)
    almost_over = datetime.now(UTC) - timedelta(hours=2) + timedelta(seconds=1.5)
    codec = SessionCodec(Keyring((KEY,)), clock=lambda: almost_over)
    token, claims = codec.issue(next(iter(users.rows)), "user")
    async with (
        serving_ws(wiring) as url,
        ws_connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as socket,
    ):
        assert await closed_code(socket, 3.0) == 4401
    assert datetime.now(UTC) >= claims.expires_at


async def test_open_sockets_are_closed_1013_when_revocations_cannot_be_read(
    users: FakeUsers, revocations: MemoryRevocations
) -> None:
    _, wiring = identity_app(users, revocations=revocations)
    token, _ = wiring.service.sessions.issue(next(iter(users.rows)), "user")
    async with (
        serving_ws(wiring) as url,
        ws_connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as socket,
    ):
        revocations.available = False
        assert await closed_code(socket, 1.0) == 1013
