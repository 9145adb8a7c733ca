"""TelemetryMiddleware: trace-id header, traceparent continued, crashes become the envelope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.http import TelemetryMiddleware
from wildside_common.logs import current_trace_id
from wildside_common.telemetry import configure_tracing

pytestmark = pytest.mark.unit

SERVICE = "middleware-test"
INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module", autouse=True)
def sdk_tracing() -> None:
    # Spans need a real (SDK) provider to carry ids; install one unless a test did already.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        configure_tracing(CommonSettings.from_env(EnvReader({}), SERVICE, 0))
    assert isinstance(trace.get_tracer_provider(), TracerProvider)


def build(seen: dict[str, Any]) -> Starlette:
    async def item(request: Request) -> Response:
        span = trace.get_current_span()
        seen["trace_id"] = current_trace_id()
        seen["parent"] = getattr(span, "parent", None)
        return PlainTextResponse(request.path_params["item_id"])

    async def crash(_: Request) -> Response:
        raise RuntimeError("SELECT password_hash FROM users")

    app = Starlette(routes=[Route("/items/{item_id}", item), Route("/crash", crash)])
    app.add_middleware(TelemetryMiddleware, service=SERVICE, router=app.router)
    return app


def client(app: Starlette) -> httpx.AsyncClient:
    # starlette's TestClient wants httpx2, which is not pinned here; same app, in-process.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_trace_id_header_is_the_spans_trace_id() -> None:
    seen: dict[str, Any] = {}
    async with client(build(seen)) as http:
        first = await http.get("/items/1")
        second = await http.get("/items/2")
    assert first.status_code == 200 and first.text == "1"
    assert len(first.headers["trace-id"]) == 32
    assert first.headers["trace-id"] != second.headers["trace-id"]
    assert second.headers["trace-id"] == seen["trace_id"]
    assert seen["parent"] is None


async def test_an_incoming_traceparent_is_continued() -> None:
    seen: dict[str, Any] = {}
    async with client(build(seen)) as http:
        response = await http.get(
            "/items/7", headers={"traceparent": f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"}
        )
    assert response.headers["trace-id"] == INCOMING_TRACE == seen["trace_id"]
    assert format(seen["parent"].span_id, "016x") == INCOMING_SPAN


async def test_a_malformed_traceparent_starts_a_new_trace() -> None:
    seen: dict[str, Any] = {}
    async with client(build(seen)) as http:
        response = await http.get("/items/7", headers={"traceparent": "00-zz-yy-01"})
    assert response.status_code == 200
    assert response.headers["trace-id"] == seen["trace_id"]
    assert seen["parent"] is None


async def test_an_unhandled_exception_is_the_redacted_500_envelope() -> None:
    async with client(build({})) as http:
        response = await http.get("/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    trace_id = response.headers["trace-id"]
    assert response.json() == {
        "code": "internal_error",
        "message": "internal error",
        "trace_id": trace_id,
        "details": {},
    }
    assert "SELECT" not in response.text


async def test_requests_are_counted_by_route_template() -> None:
    def count(path: str, status: str) -> float:
        labels = {"service": SERVICE, "method": "GET", "path": path, "status": status}
        return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0

    before = (count("/items/{item_id}", "200"), count("/crash", "500"), count("unmatched", "404"))
    async with client(build({})) as http:
        await http.get("/items/a")
        await http.get("/items/b")
        await http.get("/crash")
        missing = await http.get("/nowhere")
    after = (count("/items/{item_id}", "200"), count("/crash", "500"), count("unmatched", "404"))
    assert [b - a for a, b in zip(before, after, strict=True)] == [2.0, 1.0, 1.0]
    assert missing.status_code == 404 and len(missing.headers["trace-id"]) == 32
