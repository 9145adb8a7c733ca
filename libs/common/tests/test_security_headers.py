"""Security headers from the shared middleware, on every service's responses (the workers'
health and metrics port included), and `Cache-Control: no-store` only where asked."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from wildside_common.health import health_routes, ops_app
from wildside_common.http import TelemetryMiddleware

pytestmark = pytest.mark.unit

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def build() -> Starlette:
    async def data(_: Request) -> Response:
        return JSONResponse({"user": "me"})

    async def own_headers(_: Request) -> Response:
        headers = {"Cache-Control": "max-age=60", "X-Frame-Options": "SAMEORIGIN"}
        return PlainTextResponse("mine", headers=headers)

    async def crash(_: Request) -> Response:
        raise RuntimeError("boom")

    routes = [
        Route("/api/data", data),
        Route("/api/own", own_headers),
        Route("/api/crash", crash),
        Route("/public", data),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(
        TelemetryMiddleware, service="headers-test", router=app.router, no_store_prefixes=("/api/",)
    )
    return app


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


async def test_every_response_carries_the_security_headers() -> None:
    async with client(build()) as http:
        responses = [
            await http.get("/api/data"),
            await http.get("/public"),
            await http.get("/nowhere"),  # the framework's 404
            await http.get("/api/crash"),  # the middleware's own 500 envelope
        ]
    assert [response.status_code for response in responses] == [200, 200, 404, 500]
    for response in responses:
        for name, value in SECURITY.items():
            assert response.headers.get(name) == value, (response.url, name)


async def test_no_store_only_under_the_prefixes_and_never_over_an_endpoints_own() -> None:
    async with client(build()) as http:
        api, public, mine = [await http.get(path) for path in ("/api/data", "/public", "/api/own")]
    assert api.headers["cache-control"] == "no-store"
    assert "cache-control" not in public.headers
    assert mine.headers.get_list("cache-control") == ["max-age=60"]
    assert mine.headers.get_list("x-frame-options") == ["SAMEORIGIN"]  # not doubled
    assert mine.headers["x-content-type-options"] == "nosniff"


async def test_the_ops_port_of_workers_carries_them_too() -> None:
    async def healthy() -> None:
        return None

    async with client(ops_app({"database": healthy}, "ops-test")) as http:
        for path in ("/health/live", "/health/ready", "/metrics"):
            response = await http.get(path)
            assert response.status_code == 200, path
            for name, value in SECURITY.items():
                assert response.headers.get(name) == value, (path, name)


async def test_health_routes_can_leave_metrics_out() -> None:
    paths = [getattr(route, "path", "") for route in health_routes({}, metrics=False)]
    assert paths == ["/health/live", "/health/ready"]
