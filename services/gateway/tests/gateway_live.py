"""The gateway built by its real bootstrap (PostgreSQL, Redis, NATS) and served by uvicorn
on a free port from a thread of the test process, with a user and an administrator.

Sync tests (hypothesis among them) drive it over real HTTP, and raw sockets reach the
same uvicorn as in production, while its logs and metrics stay in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import httpx

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.server import serve_http
from wildside_common.telemetry import configure_tracing
from wildside_common.testing.servers import free_port, unique_prefix, wait_for_port
from wildside_gateway.bootstrap import Gateway, bootstrap
from wildside_gateway.config import GatewaySettings
from wildside_gateway.identity.adapters.outbound.passwords import Argon2Passwords

PASSWORD = "live-gateway-password"


@dataclass
class LiveGateway:
    base_url: str
    port: int
    gateway: Gateway
    user: dict[str, str]  # Authorization headers of a user ...
    admin: dict[str, str]  # ... and of an administrator
    user_request_id: str  # a route request the user owns


async def _add_user(database_url: str, role: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        username = f"live-{role}-{uuid.uuid4().hex[:10]}"
        await conn.execute(
            "INSERT INTO users (username, display_name, password_hash, role) "
            "VALUES ($1, $2, $3, $4)",
            username,
            username,
            Argon2Passwords().hash(PASSWORD),
            role,
        )
        return username
    finally:
        await conn.close()


def _bearer(base_url: str, username: str) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD}
    response = httpx.post(f"{base_url}/api/v1/login", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.cookies['session']}"}


@contextlib.contextmanager
def live_gateway(database_url: str, nats_url: str, redis_url: str) -> Iterator[LiveGateway]:
    """The gateway serving on 127.0.0.1:<free port> until the block ends."""
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": unique_prefix(),
        "GATEWAY_PORT": str(port),
        "RATE_LIMIT_PER_MINUTE": "1000000",
    }
    settings = GatewaySettings.from_env(EnvReader(env))
    configure_tracing(CommonSettings.from_env(EnvReader({}), "gateway", 0))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    built: list[Gateway] = []
    failed: list[BaseException] = []

    async def serve() -> None:
        async with bootstrap(settings) as gateway:
            built.append(gateway)
            await serve_http(gateway.app, "127.0.0.1", port, stop, grace=1.0)

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # reported to the test thread below
            failed.append(exc)

    thread = threading.Thread(target=run, name="live-gateway", daemon=True)
    thread.start()
    try:
        wait_for_port(port, timeout=30)
    except TimeoutError:
        raise RuntimeError(f"the gateway did not start: {failed!r}") from None
    try:
        base = f"http://127.0.0.1:{port}"
        user = _bearer(base, asyncio.run(_add_user(database_url, "user")))
        admin = _bearer(base, asyncio.run(_add_user(database_url, "admin")))
        body = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}
        submitted = httpx.post(f"{base}/api/v1/routes", json=body, headers=user, timeout=10)
        assert submitted.status_code == 202, submitted.text
        yield LiveGateway(base, port, built[0], user, admin, submitted.json()["request_id"])
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
