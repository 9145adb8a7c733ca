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
from starlette.types import Message

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.http import TelemetryMiddleware
from wildside_common.logs import annotate
from wildside_common.metrics import HTTP_REQUESTS
from wildside_common.telemetry import configure_tracing

pytestmark = pytest.mark.unit


async def handler(request: Request) -> PlainTextResponse:
    annotate(user_id="u-1", request_id=request.path_params["rid"])
    return PlainTextResponse("ok", status_code=202)


async def upload(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


def app() -> Starlette:
    application = Starlette(
        routes=[
            Route("/things/{rid}", handler, methods=["POST"]),
            Route("/uploads", upload, methods=["PUT"]),
        ]
    )
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


def requests_counted(status: str) -> float:
    sample = HTTP_REQUESTS.labels("test", "PUT", "/uploads", status)
    return float(sample._value.get())


async def test_a_client_that_hangs_up_mid_body_is_a_499_not_a_server_error(caplog) -> None:
    caplog.set_level(logging.INFO)
    incoming: list[Message] = [
        {"type": "http.request", "body": b'{"half', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    before = {status: requests_counted(status) for status in ("499", "500")}
    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/uploads",
        "raw_path": b"/uploads",
        "query_string": b"",
        "headers": [(b"content-length", b"1000")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
        "scheme": "http",
        "http_version": "1.1",
        "root_path": "",
    }
    await app()(scope, receive, send)
    assert sent == []  # nobody is listening: nothing is answered
    [access] = [r for r in caplog.records if r.name == "wildside.access"]
    assert access.status == 499
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in caplog.records if r.name == "wildside_common.http"] == [
        "client disconnected"
    ]
    assert requests_counted("499") == before["499"] + 1
    assert requests_counted("500") == before["500"]
