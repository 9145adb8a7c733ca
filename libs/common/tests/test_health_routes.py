"""Health and metrics routes: readiness fails (503) when any dependency check fails."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette

from wildside_common.health import health_routes, run_checks

pytestmark = pytest.mark.unit


async def healthy() -> None:
    return None


async def refused() -> None:
    raise ConnectionRefusedError("127.0.0.1:5432")


async def hangs() -> None:
    await asyncio.sleep(10)


def client(**checks: object) -> httpx.AsyncClient:
    # starlette's TestClient now wants httpx2, which this workspace does not pin; httpx's
    # ASGI transport drives the same app in-process.
    app = Starlette(routes=health_routes(checks))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


async def test_ready_is_200_when_every_check_passes() -> None:
    async with client(database=healthy, bus=healthy) as http:
        response = await http.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "bus": "ok"}}


async def test_ready_is_503_naming_the_failed_check() -> None:
    async with client(database=refused, bus=healthy) as http:
        response = await http.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "failed: ConnectionRefusedError", "bus": "ok"},
    }
    assert "5432" not in response.text


async def test_live_does_not_run_the_checks() -> None:
    async with client(database=refused) as http:
        response = await http.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_metrics_are_prometheus_text() -> None:
    async with client() as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# HELP" in response.text


async def test_a_hanging_check_times_out_as_a_failure() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await run_checks({"redis": hangs, "bus": healthy}, timeout=0.05)
    assert results == {"redis": "failed: TimeoutError", "bus": "ok"}
    assert loop.time() - started < 1.0
