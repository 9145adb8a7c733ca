"""With the router stopped, the gateway stays ready and accepts route requests; they
wait in the stream and all reach `succeeded` once a router starts again."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import base, submit, wait_final

pytestmark = pytest.mark.e2e


def test_requests_wait_in_the_stream_while_the_router_is_down(gateway, stack_env) -> None:
    request_ids = [submit(gateway) for _ in range(5)]
    assert httpx.get(gateway.health_url, timeout=5).status_code == 200
    for request_id in request_ids:
        response = httpx.get(
            f"{base(gateway)}/api/v1/routes/{request_id}", timeout=5, headers=stack.auth(gateway)
        )
        assert response.status_code == 202
        assert response.json()["status"] == "queued"
    router = stack.router(stack_env)
    router.start()
    try:
        router.wait_ready()
        for request_id in request_ids:
            assert wait_final(gateway, request_id).json()["status"] == "succeeded"
    finally:
        router.stop()
