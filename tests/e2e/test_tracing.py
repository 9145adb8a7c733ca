"""One route request's spans, from the gateway through the router and back through the
status event, join one trace whose id is the `trace-id` response header, its database
statements included; the router's JSON logs carry that trace id with the request id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import BODY, base

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def traced(stack_env: dict[str, str]) -> Iterator[tuple[stack.Service, stack.Service]]:
    env = {**stack_env, "OTEL_EXPORTER": "console"}
    with stack.running(stack.gateway(env), stack.router(env)) as (gateway, router):
        yield gateway, router


def spans(log: str, trace_id: str) -> list[str]:
    """Names of the console-exported spans of one trace in a service's output."""
    names, depth, chunk = [], 0, []
    for line in log.splitlines():
        if line.startswith("{") and depth == 0:
            chunk = []
        depth += line.count("{") - line.count("}")
        chunk.append(line)
        if depth == 0 and chunk and chunk[0].startswith("{"):
            try:
                span = json.loads("\n".join(chunk))
            except json.JSONDecodeError:
                continue
            if span.get("context", {}).get("trace_id") == f"0x{trace_id}":
                names.append(span["name"])
    return names


def log_entries(service: stack.Service) -> list[dict[str, object]]:
    lines = service.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith('{"ts"')]


def test_one_request_is_one_trace_across_gateway_router_and_back(traced) -> None:
    gateway, router = traced
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    with ws_connect(ws_url, subprotocols=stack.ws_protocols(gateway), open_timeout=5) as socket:
        response = httpx.post(
            f"{base(gateway)}/api/v1/routes",
            json={**BODY, "seed": 99},
            headers=stack.auth(gateway),
            timeout=10,
        )
        assert response.status_code == 202
        trace_id, request_id = response.headers["trace-id"], response.json()["request_id"]
        # A socket listens, so the router's status events fan out through this gateway.
        socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
        while json.loads(socket.recv(timeout=30)).get("status") not in ("succeeded", "failed"):
            pass
    deadline = time.monotonic() + 30
    gateway_spans: list[str] = []
    router_spans: list[str] = []
    logged = False
    # The router may first finish jobs other modules left queued on the shared stream.
    while time.monotonic() < deadline:
        router_spans = spans(router.log_path.read_text(), trace_id)
        gateway_spans = spans(gateway.log_path.read_text(), trace_id)
        logged = any(
            entry.get("trace_id") == trace_id and entry.get("request_id") == request_id
            for entry in log_entries(router)
        )
        if "fan-out route status" in gateway_spans and router_spans and logged:
            break
        time.sleep(0.2)
    assert "POST /api/v1/routes" in gateway_spans
    assert "process wildside.jobs.route.generate" in router_spans
    assert "fan-out route status" in gateway_spans
    # each statement is a span of the trace (wildside_common.pg_metrics), named by query
    assert "insert idempotency_keys" in gateway_spans  # the request and its key, one statement
    assert {name for name in router_spans if name.endswith(" route_requests")}, router_spans
    assert logged, "no router log line carries both the trace id and the request id"
