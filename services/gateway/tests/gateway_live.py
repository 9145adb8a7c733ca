"""The gateway built by its real bootstrap (PostgreSQL, Redis, NATS) and served by uvicorn
on a free port, with users to log in as.

`live_gateway` serves it from a thread of the test process, so sync tests (hypothesis
among them) drive it over real HTTP; `serving` serves it on the test's own event loop
(WebSocket suites), optionally with the ops port (/metrics, /health). Either way raw
sockets reach the same uvicorn as in production, while its logs and metrics stay in
this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass

import asyncpg
import httpx

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.health import serve_ops
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


async def add_user(database_url: str, role: str = "user", prefix: str = "live") -> str:
    """A new user (password PASSWORD) with a unique username; the username."""
    conn = await asyncpg.connect(database_url)
    try:
        username = f"{prefix}-{role}-{uuid.uuid4().hex[:10]}"
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


# These suites check inputs, frames and documents, not how fresh the revocation mirror is
# (the revocation suites test that, and fail-closed on an unreadable Redis): on a loaded
# 2-core test machine the event loop can stall past the production second between two
# stream reads, and a request then gets an honest 503 that is not what is under test.
PATIENT_REVOCATIONS = {"SESSION_REVOCATION_MAX_STALENESS_SECONDS": "10"}


# Logging the fixtures' users in is not what these suites test: a 503 (the login throttle's
# Redis did not answer in time on a loaded machine; it fails closed) is asked again.
LOGIN_ATTEMPTS = 5


def _bearer(base_url: str, username: str) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD}
    for _ in range(LOGIN_ATTEMPTS):
        response = httpx.post(f"{base_url}/api/v1/login", json=body, timeout=10)
        if response.status_code != 503:
            break
        time.sleep(0.5)
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
        **PATIENT_REVOCATIONS,
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
        user = _bearer(base, asyncio.run(add_user(database_url, "user")))
        admin = _bearer(base, asyncio.run(add_user(database_url, "admin")))
        body = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}
        submitted = httpx.post(f"{base}/api/v1/routes", json=body, headers=user, timeout=10)
        assert submitted.status_code == 202, submitted.text
        yield LiveGateway(base, port, built[0], user, admin, submitted.json()["request_id"])
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


@dataclass
class Served:
    gateway: Gateway
    port: int
    metrics_port: int | None
    tokens: dict[str, str]  # session tokens of users "alice" and "bob"


@contextlib.asynccontextmanager
async def serving(
    database_url: str,
    nats_url: str,
    redis_url: str,
    redis_prefix: str,
    settings: Mapping[str, str] = {},
    ops: bool = False,
    port: int | None = None,
) -> AsyncIterator[Served]:
    """The gateway on this event loop (WebSockets on) on `port` (a free one by default),
    two users logged in; with `ops` its /metrics and /health on a port of their own, as
    `__main__` serves them."""
    port = port or free_port()
    metrics_port = free_port() if ops else None
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": redis_prefix,
        "GATEWAY_PORT": str(port),
        "PATH": os.environ.get("PATH", ""),
        **({"METRICS_PORT": str(metrics_port)} if metrics_port else {}),
        **PATIENT_REVOCATIONS,
        **settings,
    }
    stop = asyncio.Event()
    async with bootstrap(GatewaySettings.from_env(EnvReader(env))) as gateway:
        servers = [serve_http(gateway.app, "127.0.0.1", port, stop, websockets=True, grace=1)]
        if metrics_port is not None:
            servers.append(serve_ops("127.0.0.1", metrics_port, gateway.checks, stop, "gateway"))
        served = asyncio.gather(*servers)
        for bound in (port, metrics_port):
            if bound is not None:
                await asyncio.to_thread(wait_for_port, bound)
        tokens = {}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for name in ("alice", "bob"):
                credentials = {"username": await add_user(database_url), "password": PASSWORD}
                for _ in range(LOGIN_ATTEMPTS):
                    response = await client.post("/api/v1/login", json=credentials)
                    if response.status_code != 503:
                        break
                    await asyncio.sleep(0.5)
                assert response.status_code == 200, response.text
                tokens[name] = response.cookies["session"]
        try:
            yield Served(gateway, port, metrics_port, tokens)
        finally:
            stop.set()
            await served
