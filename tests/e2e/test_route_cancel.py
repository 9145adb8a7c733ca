"""Cancelling route requests through the running stack (gateway and a slowed router as
processes, real NATS, PostgreSQL and Redis): DELETE /api/v1/routes/{id} and the
WebSocket `cancel` on queued and running requests, the refusals, and a cancel racing the
router's own completion, which ends in exactly one final status, stored and published once.

The router is tests/e2e/slow_router.py (ROUTER_SIMULATED_WORK_SECONDS): idle work,
reported as progress, before the real plan, so a request stays `running` long enough to
cancel. No other router may consume this module's jobs."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import nats
import pytest
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import BODY, base, wait_final
from wildside_common.bus.topology import ROUTE_STATUS_STREAM, status_subject
from wildside_common.codec import decode
from wildside_common.messages import RouteGenerationStatus

pytestmark = pytest.mark.e2e
FINAL = ("succeeded", "failed", "cancelled")
SIMULATED_SECONDS = 2.0


@pytest.fixture(scope="module")
def slow_router(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    env = {**stack_env, "ROUTER_SIMULATED_WORK_SECONDS": str(SIMULATED_SECONDS)}
    with stack.running(stack.router(env)) as (service,):
        yield service


def fresh_body() -> dict[str, object]:
    """A body no earlier request shares (its own seed): never a route-cache hit."""
    return {**BODY, "seed": random.randrange(2**31)}


def submit(gateway: stack.Service) -> str:
    response = httpx.post(
        f"{base(gateway)}/api/v1/routes", json=fresh_body(), headers=stack.auth(gateway), timeout=10
    )
    assert response.status_code == 202, response.text
    return str(response.json()["request_id"])


def delete(gateway: stack.Service, request_id: str, user: str = "demo") -> httpx.Response:
    return httpx.delete(
        f"{base(gateway)}/api/v1/routes/{request_id}", headers=stack.auth(gateway, user), timeout=10
    )


def state(gateway: stack.Service, request_id: str) -> dict[str, object]:
    response = httpx.get(
        f"{base(gateway)}/api/v1/routes/{request_id}", headers=stack.auth(gateway), timeout=5
    )
    body: dict[str, object] = response.json()
    return body


def wait_running(gateway: stack.Service, request_id: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state(gateway, request_id)["status"] == "running":
            return
        time.sleep(0.05)
    raise AssertionError(f"{request_id} did not start")


def socket(gateway: stack.Service) -> ClientConnection:
    url = base(gateway).replace("http://", "ws://") + "/ws"
    return ws_connect(url, subprotocols=stack.ws_protocols(gateway), open_timeout=5)


def subscribe(client: ClientConnection, request_id: str) -> str:
    """Subscribes; the status the socket was first given."""
    client.send(json.dumps({"type": "subscribe", "request_id": request_id}))
    assert json.loads(client.recv(timeout=5)) == {"type": "subscribed", "request_id": request_id}
    return str(json.loads(client.recv(timeout=5))["status"])


def until_final(client: ClientConnection, request_id: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = json.loads(client.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("type") == "route_generation_status" and frame["status"] in FINAL:
            assert frame["request_id"] == request_id
            return str(frame["status"])
    raise AssertionError("no final status pushed")


def published(nats_url: str, request_id: str) -> list[str]:
    """The statuses on the request's subject of the status stream, in order."""

    async def read() -> list[str]:
        client = await nats.connect(nats_url)
        try:
            js = client.jetstream()
            sub = await js.subscribe(status_subject(request_id), stream=ROUTE_STATUS_STREAM)
            found: list[str] = []
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except TimeoutError:
                    return found
                found.append(decode(RouteGenerationStatus, msg.data).status.value)
        finally:
            await client.close()

    return asyncio.run(read())


def stored(database_url: str, request_id: str) -> tuple[str, int, int]:
    """(status, attempts, routes stored) of the request."""

    async def read() -> tuple[str, int, int]:
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow(
                "SELECT status, attempts, (SELECT count(*) FROM route_results s "
                "WHERE s.request_id = r.id) AS routes FROM route_requests r WHERE id = $1",
                uuid.UUID(request_id),
            )
            return str(row["status"]), int(row["attempts"]), int(row["routes"])
        finally:
            await conn.close()

    return asyncio.run(read())


def cancelled_jobs(router: stack.Service, reason: str) -> float:
    text = httpx.get(router.metrics_url, timeout=5).text
    pattern = rf'^wildside_routes_total{{outcome="cancelled",reason="{reason}"}} (\S+)$'
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_queued_request_is_cancelled_and_the_router_never_starts_it(
    gateway: stack.Service, stack_env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    request_id = submit(gateway)  # no router yet: it stays queued
    with socket(gateway) as listener:
        assert subscribe(listener, request_id) == "queued"
        response = delete(gateway, request_id)
        assert response.status_code == 202, response.text
        assert response.json() == {"request_id": request_id, "status": "cancelled"}
        assert until_final(listener, request_id) == "cancelled"
    router: stack.Service = request.getfixturevalue("slow_router")  # starts now
    deadline = time.monotonic() + 15
    while cancelled_jobs(router, "queued") < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cancelled_jobs(router, "queued") >= 1  # the job came and was dropped
    assert stored(stack_env["DATABASE_URL"], request_id) == ("cancelled", 0, 0)
    events = published(stack_env["NATS_URL"], request_id)
    assert events == ["queued", "cancelled"]  # the router's re-announcement de-duplicated


def test_a_running_request_is_cancelled_over_http_and_its_solve_stops(
    gateway: stack.Service, slow_router: stack.Service, stack_env: dict[str, str]
) -> None:
    before = cancelled_jobs(slow_router, "running")
    request_id = submit(gateway)
    wait_running(gateway, request_id)
    with socket(gateway) as listener:
        assert subscribe(listener, request_id) == "running"
        assert delete(gateway, request_id).status_code == 202
        assert until_final(listener, request_id) == "cancelled"
    deadline = time.monotonic() + 10
    while cancelled_jobs(slow_router, "running") <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cancelled_jobs(slow_router, "running") == before + 1  # stopped, not finished
    assert stored(stack_env["DATABASE_URL"], request_id) == ("cancelled", 1, 0)
    events = published(stack_env["NATS_URL"], request_id)
    assert [e for e in events if e in FINAL] == ["cancelled"]
    final = wait_final(gateway, request_id).json()
    assert final["status"] == "cancelled" and "route" not in final


def test_a_running_request_is_cancelled_over_the_websocket(
    gateway: stack.Service, slow_router: stack.Service, stack_env: dict[str, str]
) -> None:
    request_id = submit(gateway)
    wait_running(gateway, request_id)
    with socket(gateway) as listener, socket(gateway) as canceller:
        assert subscribe(listener, request_id) == "running"
        canceller.send(json.dumps({"type": "cancel", "request_id": request_id}))
        answer = json.loads(canceller.recv(timeout=5))
        assert answer["type"] == "route_generation_status"
        assert (answer["request_id"], answer["status"]) == (request_id, "cancelled")
        assert until_final(listener, request_id) == "cancelled"
        canceller.send(json.dumps({"type": "cancel", "request_id": request_id}))
        again = json.loads(canceller.recv(timeout=5))
        assert (again["type"], again["code"], again["request_id"]) == (
            "error",
            "already_final",
            request_id,
        )
        canceller.send(json.dumps({"type": "cancel", "request_id": str(uuid.uuid4())}))
        unknown = json.loads(canceller.recv(timeout=5))
        assert (unknown["type"], unknown["code"]) == ("error", "not_found")
    time.sleep(0.5)
    assert stored(stack_env["DATABASE_URL"], request_id)[0] == "cancelled"


def test_a_finished_request_is_409_already_final(
    gateway: stack.Service, slow_router: stack.Service
) -> None:
    request_id = submit(gateway)
    assert wait_final(gateway, request_id).json()["status"] == "succeeded"
    response = delete(gateway, request_id)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "already_final" and body["details"] == {"status": "succeeded"}
    assert state(gateway, request_id)["status"] == "succeeded"


def test_another_users_request_is_404_and_a_bad_id_400(gateway: stack.Service) -> None:
    request_id = submit(gateway)
    foreign = delete(gateway, request_id, user="admin")
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    missing = delete(gateway, str(uuid.uuid4()), user="admin")
    assert missing.json()["message"] == foreign.json()["message"]  # nothing tells them apart
    for bad in ("not-a-uuid", "1" * 32, "%7B" + request_id + "%7D"):
        invalid = delete(gateway, bad)
        assert invalid.status_code == 400, bad
        assert invalid.json()["code"] == "invalid_request"
    assert state(gateway, request_id)["status"] in ("queued", "running", "succeeded")
    assert delete(gateway, request_id).status_code in (202, 409)  # the owner may


def test_a_cancel_racing_completion_ends_in_one_final_status_stored_and_published_once(
    gateway: stack.Service, slow_router: stack.Service, stack_env: dict[str, str]
) -> None:
    # Cancels sent around the moment the slowed router finishes: either may win.
    outcomes: dict[int, int] = {}
    for offset in (1.6, 1.9, 2.1, 2.3, 2.5, 2.8, 3.2):
        request_id = submit(gateway)
        wait_running(gateway, request_id)
        with socket(gateway) as listener:
            subscribe(listener, request_id)
            time.sleep(max(0.0, offset - 0.1))
            answer = delete(gateway, request_id)
            assert answer.status_code in (202, 409), answer.text
            outcomes[answer.status_code] = outcomes.get(answer.status_code, 0) + 1
            pushed = until_final(listener, request_id, timeout=20)
        winner = "cancelled" if answer.status_code == 202 else "succeeded"
        if answer.status_code == 409:
            assert answer.json()["details"] == {"status": "succeeded"}
        assert pushed == winner
        assert wait_final(gateway, request_id).json()["status"] == winner
        time.sleep(0.5)  # the losing side has had its say
        status, _, routes = stored(stack_env["DATABASE_URL"], request_id)
        assert (status, routes) == (winner, 1 if winner == "succeeded" else 0)
        finals = [e for e in published(stack_env["NATS_URL"], request_id) if e in FINAL]
        assert finals == [winner], (offset, finals)
    assert sum(outcomes.values()) == 7
