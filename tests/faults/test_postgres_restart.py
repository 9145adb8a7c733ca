"""(i) PostgreSQL stopped (`pg_ctl stop -m fast`: every connection cut) for 8 s under load
and started again, on a PostgreSQL of the scenario's own (the machine's is shared:
tests/faults/postgres_server.py). Every service's readiness answers 503 while it is down
and 200 again after, without a service restarting (none exits: no crash loop); clients
see 503s, never a 500 nor a body naming SQL or the driver; the jobs in flight when the
connections dropped are retried, and every accepted request ends once."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.e2e import stack
from tests.faults.conftest import REPLICAS, fault_env, start
from tests.faults.load import base, check, run_load
from tests.faults.postgres_server import PostgresServer, private_postgres
from wildside_common.migrate import apply
from wildside_common.testing.demo_data import load_demo_extract
from wildside_common.testing.servers import unique_prefix

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]
DOWN = 8.0
# What a leaked database error would carry: the driver, the server's words, SQL.
SQL_WORDS = ("asyncpg", "psycopg", "postgres", "sqlstate", "select ", "insert ", "update ")


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with private_postgres() as server:
        url = server.create_database()
        apply(url)
        load_demo_extract(url)
        yield server


def probe(url: str, headers: dict[str, str] | None = None) -> tuple[int | str, str]:
    """The status code and body, or the error's name when there was no answer."""
    try:
        response = httpx.get(url, headers=headers, timeout=3)
    except httpx.HTTPError as exc:
        return type(exc).__name__, ""
    return response.status_code, response.text


def test_postgres_restart_answers_503_then_recovers_losing_nothing(
    postgres, cluster, redis_url, services
) -> None:
    env = fault_env(postgres.url(), cluster.url, redis_url, REPLICAS)
    gateways = [start(services, stack.gateway(env)) for _ in range(2)]
    routers = [
        start(services, stack.router({**env, "ROUTER_SIMULATED_WORK_SECONDS": "1"}))
        for _ in range(2)
    ]
    # No job of this load asks for enrichment; the enricher is here for its readiness.
    quiet = {"ENRICHER_REDIS_PREFIX": unique_prefix(), "OVERPASS_URLS": "http://127.0.0.1:9/"}
    enricher = start(services, stack.enricher({**env, **quiet}))
    everyone = [*gateways, *routers, enricher]
    pids = [service.process.pid for service in everyone if service.process is not None]
    since = datetime.now(UTC)
    readiness: dict[str, list[int | str]] = {}
    bodies: list[str] = []  # bodies of every answer >= 500 the probes saw
    recovered_in: list[float] = []

    async def ready_of_all() -> list[int | str]:
        answers = await asyncio.gather(
            *(asyncio.to_thread(probe, service.health_url) for service in everyone)
        )
        bodies.extend(body for code, body in answers if isinstance(code, int) and code >= 500)
        return [code for code, _ in answers]

    async def postgres_down_for_eight_seconds() -> None:
        await asyncio.sleep(8)
        readiness["before"] = await ready_of_all()
        await asyncio.to_thread(postgres.stop)
        await asyncio.sleep(2)
        readiness["down"] = await ready_of_all()
        me = stack.auth(gateways[0])
        pois = f"{base(gateways[1])}/api/v1/pois?bbox=24.93,60.16,24.95,60.17"
        for url in (f"{base(gateways[0])}/api/v1/users/me", pois):
            code, body = await asyncio.to_thread(probe, url, me)
            readiness.setdefault("api_down", []).append(code)
            if isinstance(code, int) and code >= 500:
                bodies.append(body)
        await asyncio.sleep(DOWN - 2)
        await asyncio.to_thread(postgres.start)
        restarted = time.monotonic()
        while time.monotonic() - restarted < 30:
            answers = await ready_of_all()
            if all(code == 200 for code in answers):
                recovered_in.append(time.monotonic() - restarted)
                readiness["after"] = answers
                return
            await asyncio.sleep(0.2)
        readiness["after"] = await ready_of_all()

    clients = asyncio.run(run_load(gateways, postgres_down_for_eight_seconds, rate=5, seconds=20))
    report = asyncio.run(check(clients, env["DATABASE_URL"], cluster.url, since))
    answers = [a for c in clients for a in c.answers]
    posts = [body for c in clients for body in c.errors]
    bodies.extend(posts)
    codes = Counter(json.loads(body).get("code") for body in posts)
    exited = [s.name for s in everyone if s.process is None or s.process.poll() is not None]
    alive = [s.process.pid for s in everyone if s.process is not None]
    print(report, readiness, f"recovered in {recovered_in}", f"503s {answers.count(503)}")
    print(f"answers {sorted(set(map(str, answers)))}, POST error codes {codes}")
    print(f"a POST's 503: {posts[:1]}")
    assert report.accepted == 100
    assert readiness["before"] == [200] * len(everyone)
    assert readiness["down"] == [503] * len(everyone), "a readiness missed the outage"
    assert readiness["after"] == [200] * len(everyone) and recovered_in, "not ready again"
    assert recovered_in[0] < 10.0
    assert exited == [] and alive == pids, f"a service exited: {exited}"
    assert 500 not in answers and 500 not in readiness["api_down"]
    assert answers.count(503) >= 10, "the outage refused no POST: nothing was tested"
    assert set(codes) == {"service_unavailable"}, f"POSTs answered {codes}"
    leaked = [body for body in bodies if any(word in body.lower() for word in SQL_WORDS)]
    assert leaked == [], f"an answer named the database: {leaked[:2]}"
    assert report.redelivered >= 1, "no job was in flight when the connections dropped"
