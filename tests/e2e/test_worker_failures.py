"""Worker failures: a job timeout, a worker killed mid-job, a dead bus. These tests
start their own routers, so no other router may consume the jobs they submit."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_route_lifecycle import body_at, count_rows, post
from tests.e2e.test_walking_skeleton import base, wait_final
from wildside_common.testing.servers import NatsServer, unique_prefix

pytestmark = pytest.mark.e2e


def test_job_timeout_ends_in_failed_timeout(gateway, stack_env) -> None:
    slow = stack.router(
        {**stack_env, "ROUTER_SIMULATED_WORK_SECONDS": "3", "ROUTER_JOB_TIMEOUT_SECONDS": "0.5"}
    )
    slow.start()
    try:
        slow.wait_ready()
        request_id = post(gateway, body_at(60.1677)).json()["request_id"]
        final = wait_final(gateway, request_id).json()
        assert final["status"] == "failed" and final["error"] == "timeout"
    finally:
        slow.stop()


def test_a_worker_killed_mid_job_still_ends_with_exactly_one_result(gateway, stack_env) -> None:
    env = {**stack_env, "ROUTER_SIMULATED_WORK_SECONDS": "2"}
    first = stack.router(env)
    first.start()
    first.wait_ready()
    request_id = post(gateway, body_at(60.1688)).json()["request_id"]
    deadline = 20
    while deadline > 0:
        state = httpx.get(
            f"{base(gateway)}/api/v1/routes/{request_id}", timeout=5, headers=stack.auth(gateway)
        ).json()
        if state["status"] == "running":
            break
        deadline -= 1
        asyncio.run(asyncio.sleep(0.2))
    first.stop(kill=True)
    second = stack.router({**stack_env, "ROUTER_SIMULATED_WORK_SECONDS": "0.2"})
    second.start()
    try:
        second.wait_ready()
        assert wait_final(gateway, request_id, timeout=40).json()["status"] == "succeeded"
        results = asyncio.run(
            count_rows(
                stack_env["DATABASE_URL"],
                "SELECT count(*) FROM route_results WHERE request_id = $1",
                uuid.UUID(request_id),
            )
        )
        attempts = asyncio.run(
            count_rows(
                stack_env["DATABASE_URL"],
                "SELECT attempts FROM route_requests WHERE id = $1",
                uuid.UUID(request_id),
            )
        )
        assert results == 1
        assert attempts == 2
    finally:
        second.stop()


def test_bus_down_is_503_and_nothing_is_stored(database_url, redis_url) -> None:
    nats = NatsServer()
    nats.start()
    env = stack.base_env(database_url, nats.url, redis_url, {"REDIS_PREFIX": unique_prefix()})
    service = stack.gateway(env)
    service.start()
    try:
        service.wait_ready()
        before = asyncio.run(count_rows(database_url, "SELECT count(*) FROM route_requests"))
        nats.stop()
        response = post(service, body_at(60.1699))
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        after = asyncio.run(count_rows(database_url, "SELECT count(*) FROM route_requests"))
        assert after == before
    finally:
        service.stop()
        nats.close()
