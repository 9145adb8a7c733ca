"""Every HTTP request leaves one access log line carrying the ids bound while handling it."""

from __future__ import annotations

import logging

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.http import TelemetryMiddleware
from wildside_common.logs import annotate
from wildside_common.telemetry import configure_tracing

pytestmark = pytest.mark.unit


async def handler(request: Request) -> PlainTextResponse:
    annotate(user_id="u-1", request_id=request.path_params["rid"])
    return PlainTextResponse("ok", status_code=202)


def app() -> Starlette:
    application = Starlette(routes=[Route("/things/{rid}", handler, methods=["POST"])])
    application.add_middleware(TelemetryMiddleware, service="test", router=application.router)
    return application


async def test_the_access_line_has_route_status_and_the_bound_ids(caplog) -> None:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        configure_tracing(CommonSettings.from_env(EnvReader({}), "access-test", 0))
    caplog.set_level(logging.INFO, logger="wildside.access")
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/things/r-9")
    [record] = [r for r in caplog.records if r.name == "wildside.access"]
    assert (record.route, record.status, record.method) == ("/things/{rid}", 202, "POST")
    assert (record.user_id, record.request_id) == ("u-1", "r-9")
    assert record.trace_id == response.headers["trace-id"] and len(record.trace_id) == 32
    assert record.duration_ms >= 0


async def test_no_access_line_when_info_is_off(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="wildside.access")
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.post("/things/r-1")
    assert [r for r in caplog.records if r.name == "wildside.access"] == []
