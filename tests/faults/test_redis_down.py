"""(g) Redis crashed (SIGKILL) for 10 s under load and started again, on a Redis of the
scenario's own (the machine's is shared). The policy of docs/security.md and
docs/runbooks/redis-down.md: sessions fail closed (authenticated requests and logins
answer 503, never 500), the route cache is skipped (routers still solve and store, the
write to the cache counted `unavailable`), and everything recovers without restarting a
service. A session ended before the crash stays ended (Redis's append-only file), and
nothing accepted is lost.

The enricher's Overpass quota also lives in Redis; the fault harness runs no enricher,
so that part is not tested here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.e2e import stack
from tests.faults.conftest import REPLICAS, fault_env, start
from tests.faults.load import base, check, run_load
from tests.faults.redis_server import RedisServer, private_redis

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]
DOWN = 10.0


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with private_redis() as server:
        yield server


def answer(
    method: str, url: str, headers: dict[str, str] | None = None, body: object = None
) -> int | str:
    """The status code, or the error's name when there was no answer."""
    try:
        return httpx.request(method, url, headers=headers, json=body, timeout=5).status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__


def test_redis_down_fails_sessions_closed_then_recovers_losing_nothing(
    helsinki, cluster, redis, services
) -> None:
    env = fault_env(helsinki, cluster.url, redis.url, REPLICAS)
    gateways = [start(services, stack.gateway(env)) for _ in range(2)]
    routers = [
        start(services, stack.router({**env, "ROUTER_SIMULATED_WORK_SECONDS": "2"}))
        for _ in range(2)
    ]
    url = base(gateways[0])
    login = {"username": "demo", "password": "wildside-demo"}
    ended = stack.login(gateways[0])  # a session logged out before the crash
    bearer = {"Authorization": f"Bearer {ended}"}
    assert answer("POST", f"{url}/api/v1/logout", bearer) == 204
    since = datetime.now(UTC)
    during: dict[str, int | str] = {}
    recovered_in: list[float] = []

    async def redis_down_for_ten_seconds() -> None:
        await asyncio.sleep(8)
        redis.kill()
        await asyncio.sleep(3)  # past SESSION_REVOCATION_MAX_STALENESS_SECONDS (1 s)
        me = stack.auth(gateways[1])
        during["me"] = await asyncio.to_thread(answer, "GET", f"{url}/api/v1/users/me", me)
        during["login"] = await asyncio.to_thread(
            answer, "POST", f"{url}/api/v1/login", None, login
        )
        during["ready"] = await asyncio.to_thread(answer, "GET", gateways[1].health_url)
        await asyncio.sleep(DOWN - 3)
        redis.start()
        restarted = time.monotonic()
        while time.monotonic() - restarted < 15:
            if await asyncio.to_thread(answer, "GET", f"{url}/api/v1/users/me", me) == 200:
                recovered_in.append(time.monotonic() - restarted)
                return
            await asyncio.sleep(0.1)

    clients = asyncio.run(run_load(gateways, redis_down_for_ten_seconds, rate=5, seconds=25))
    report = asyncio.run(check(clients, env["DATABASE_URL"], cluster.url, since))
    answers = [a for c in clients for a in c.answers]
    unavailable = sum(
        stack.metric(router, "cache_route_writes_total", {"outcome": "unavailable"})
        for router in routers
    )
    print(report, during, f"recovered in {recovered_in}", f"503s {answers.count(503)}")
    print(f"cache writes unavailable {unavailable}")
    assert report.accepted == 125
    assert during == {"me": 503, "login": 503, "ready": 503}, "sessions did not fail closed"
    assert 500 not in answers
    assert answers.count(503) >= 20, "the outage refused no POST: nothing was tested"
    assert recovered_in and recovered_in[0] < 3.0, "sessions did not recover by themselves"
    assert unavailable >= 1, "no route was solved while Redis was down"
    # After the restart: the ended session is still refused, logging in works again.
    assert answer("GET", f"{url}/api/v1/users/me", bearer) == 401
    assert answer("POST", f"{url}/api/v1/login", None, login) == 200
