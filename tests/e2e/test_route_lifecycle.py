"""The route request's life around the engine: idempotency, limits, cache, timeouts,
dead workers and a dead bus, against the real services as processes."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
import redis
from websockets.sync.client import connect as ws_connect

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import BODY, base, wait_final
from wildside_common.testing.servers import free_port

pytestmark = pytest.mark.e2e


def post(
    gateway: stack.Service, body: dict[str, object], key: str | None = None, **kwargs: object
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    headers.update(stack.auth(gateway))
    return httpx.post(f"{base(gateway)}/api/v1/routes", json=body, headers=headers, timeout=10)


def body_at(lat: float) -> dict[str, object]:
    return {**BODY, "start": {"lat": lat, "lng": 24.9384}}


async def count_rows(database_url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


@pytest.fixture
def fresh_redis_env(stack_env: dict[str, str], redis_prefix: str) -> dict[str, str]:
    """The module's environment with Redis keys of this test alone (fresh rate limits)."""
    return {**stack_env, "REDIS_PREFIX": redis_prefix}


@pytest.fixture
def own_gateway(fresh_redis_env: dict[str, str]) -> Iterator[stack.Service]:
    service = stack.gateway({**fresh_redis_env, "RATE_LIMIT_PER_MINUTE": "5"})
    service.start()
    service.wait_ready()
    yield service
    service.stop()


def test_same_key_same_payload_replays_even_after_a_gateway_restart(
    own_gateway, router, stack_env
) -> None:
    key = str(uuid.uuid4())
    first = post(own_gateway, body_at(60.16), key)
    assert first.status_code == 202
    own_gateway.stop()
    own_gateway.start()
    own_gateway.wait_ready()
    again = post(own_gateway, body_at(60.16), key)
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"


def test_same_key_other_payload_is_a_409_conflict(own_gateway) -> None:
    key = str(uuid.uuid4())
    assert post(own_gateway, body_at(60.161), key).status_code == 202
    conflict = post(own_gateway, body_at(60.162), key)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"
    assert conflict.json()["message"] == "Idempotency key conflict"


def test_a_key_that_is_not_a_uuid_is_400(own_gateway) -> None:
    response = post(own_gateway, BODY, "not-a-uuid")
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "Idempotency-Key"


def test_concurrent_requests_with_one_key_make_exactly_one_job(
    gateway, stack_env, nats_url
) -> None:
    key = str(uuid.uuid4())

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=20) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post(
                            f"{base(gateway)}/api/v1/routes",
                            json=body_at(60.163),
                            headers={"Idempotency-Key": key, **stack.auth(gateway)},
                        )
                        for _ in range(12)
                    )
                )
            )

    # The session's database is shared by every e2e module: another test may have asked
    # for a walk from the same latitude (test_gateway_workers does), so count what is new.
    at_lat = "SELECT count(*) FROM route_requests WHERE payload->'start'->>'lat' = '60.163'"
    before = asyncio.run(count_rows(stack_env["DATABASE_URL"], at_lat))
    responses = asyncio.run(burst())
    assert {r.status_code for r in responses} == {202}
    request_ids = {r.json()["request_id"] for r in responses}
    assert len(request_ids) == 1
    jobs = asyncio.run(count_rows(stack_env["DATABASE_URL"], at_lat)) - before
    assert jobs == 1


def test_rate_limit_answers_429_with_retry_after(own_gateway) -> None:
    codes = [post(own_gateway, body_at(60.17 + i / 1000)).status_code for i in range(6)]
    assert codes[:5] == [202] * 5
    limited = post(own_gateway, body_at(60.18))
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_a_cache_hit_completes_at_once_with_a_succeeded_event(gateway, router, stack_env) -> None:
    body = {**body_at(60.1655), "seed": 7}
    first = post(gateway, body).json()["request_id"]
    assert wait_final(gateway, first).json()["status"] == "succeeded"
    cache = redis.Redis.from_url(stack_env["REDIS_URL"])
    keys = [k for k in cache.scan_iter(match=stack_env["REDIS_PREFIX"] + "route:v1:*")]
    ttls = [cache.ttl(k) for k in keys]
    cache.close()
    assert keys and all(0.89 * 86400 <= ttl <= 1.1 * 86400 for ttl in ttls)
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    with ws_connect(ws_url, subprotocols=stack.ws_protocols(gateway), open_timeout=5) as socket:
        second = post(gateway, body).json()["request_id"]
        done = httpx.get(
            f"{base(gateway)}/api/v1/routes/{second}", timeout=5, headers=stack.auth(gateway)
        )
        assert done.status_code == 200 and done.json()["status"] == "succeeded"
        socket.send(json.dumps({"type": "subscribe", "request_id": second}))
        frames = [json.loads(socket.recv(timeout=5)) for _ in range(2)]
    assert frames[1]["status"] == "succeeded"
    assert done.json()["route"] == wait_final(gateway, first).json()["route"]
    metrics = httpx.get(gateway.metrics_url, timeout=5).text
    assert 'cache_route_lookups_total{outcome="hit"}' in metrics


def test_with_redis_down_sessions_fail_closed_and_nothing_is_accepted(
    stack_env, gateway, router
) -> None:
    """Redis holds the ended sessions: without it no session can be confirmed, so the
    gateway is not ready and refuses with 503 (never a 500, never a session that was
    ended coming back); the route cache and rate limits degrade only within the one
    second a session check may lag behind Redis (docs/runbooks/sessions.md)."""
    stack.token(gateway)  # a valid session, from a gateway that has Redis
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    service = stack.gateway({**stack_env, "REDIS_URL": dead_redis})
    service.start()
    try:
        live = service.health_url.replace("/health/ready", "/health/live")
        for _ in range(300):
            try:
                if httpx.get(live, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        ready = httpx.get(service.health_url, timeout=5)
        assert ready.status_code == 503 and "session_revocations" in ready.text
        response = post(service, body_at(60.1667), key=str(uuid.uuid4()))
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert "retry-after" in response.headers
    finally:
        service.stop()


def test_another_users_request_is_404_over_http_and_refused_over_ws(gateway) -> None:
    request_id = post(gateway, body_at(60.1611)).json()["request_id"]
    admin = stack.auth(gateway, "admin")
    response = httpx.get(f"{base(gateway)}/api/v1/routes/{request_id}", headers=admin, timeout=5)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    missing = httpx.get(f"{base(gateway)}/api/v1/routes/{uuid.uuid4()}", headers=admin, timeout=5)
    assert missing.json()["message"] == response.json()["message"]
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    with ws_connect(
        ws_url, subprotocols=stack.ws_protocols(gateway, "admin"), open_timeout=5
    ) as socket:
        socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
        refused = json.loads(socket.recv(timeout=5))
        socket.send(json.dumps({"type": "ping"}))
        assert json.loads(socket.recv(timeout=5)) == {"type": "pong"}
    assert refused["type"] == "error" and refused["code"] == "not_found"
    assert refused["request_id"] == request_id
