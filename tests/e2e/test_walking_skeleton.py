"""One route request crossing every hop: gateway -> JetStream -> router -> status
events -> gateway -> WebSocket, against the real services as separate processes."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.e2e import stack

pytestmark = pytest.mark.e2e

BODY = {
    "start": {"lat": 60.1699, "lng": 24.9384},
    "duration_minutes": 60,
    "preferences": ["history", "nature"],
}


def base(service: stack.Service) -> str:
    return service.health_url.removesuffix("/health/ready")


def submit(gateway: stack.Service, body: dict[str, object] | None = None) -> str:
    response = httpx.post(
        f"{base(gateway)}/api/v1/routes", json=body or BODY, timeout=10, headers=stack.auth(gateway)
    )
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    # Absolute, under PUBLIC_BASE_URL (by default the gateway's listen address).
    assert response.headers["location"] == f"{base(gateway)}/api/v1/routes/{request_id}"
    assert len(response.headers["trace-id"]) == 32
    return str(request_id)


def wait_final(gateway: stack.Service, request_id: str, timeout: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(
            f"{base(gateway)}/api/v1/routes/{request_id}", timeout=5, headers=stack.auth(gateway)
        )
        if response.status_code == 200:
            return response
        assert response.status_code == 202, response.text
        assert response.headers["retry-after"].isdigit()
        time.sleep(0.1)
    raise AssertionError(f"{request_id} did not finish in {timeout} s")


def test_route_request_reaches_succeeded_over_http_and_websocket(gateway, router) -> None:
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    with ws_connect(ws_url, subprotocols=stack.ws_protocols(gateway), open_timeout=5) as socket:
        assert socket.subprotocol == "wildside.v1"
        request_id = submit(gateway)
        socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
        statuses = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            frame = json.loads(socket.recv(timeout=30))
            if frame["type"] == "route_generation_status":
                assert frame["request_id"] == request_id
                statuses.append(frame["status"])
                if frame["status"] in ("succeeded", "failed"):
                    break
        assert statuses[-1] == "succeeded", statuses
        assert statuses == sorted(statuses, key=["queued", "running", "succeeded"].index)
    done = wait_final(gateway, request_id)
    body = done.json()
    assert body["status"] == "succeeded"
    assert body["route"]["points"][0] == {"lat": 60.1699, "lng": 24.9384, "name": "Start"}
    assert "OpenStreetMap" in body["route"]["attribution"]


def test_late_subscriber_gets_the_final_status(gateway, router) -> None:
    request_id = submit(gateway)
    wait_final(gateway, request_id)
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    cookie = {"Cookie": f"session={stack.token(gateway)}"}
    with ws_connect(ws_url, additional_headers=cookie, open_timeout=5) as socket:
        socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
        frames = [json.loads(socket.recv(timeout=10)) for _ in range(2)]
    assert frames[0] == {"type": "subscribed", "request_id": request_id}
    assert frames[1]["status"] == "succeeded" and frames[1]["progress"] == 100


def test_unknown_request_is_not_found(gateway) -> None:
    response = httpx.get(
        f"{base(gateway)}/api/v1/routes/{uuid.uuid4()}", timeout=5, headers=stack.auth(gateway)
    )
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found"
    assert body["trace_id"] == response.headers["trace-id"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"duration_minutes": 60}, "start"),
        ({**BODY, "start": {"lat": 91, "lng": 0}}, "start.lat"),
        ({**BODY, "start": {"lat": 0, "lng": -180}}, "start.lng"),
        ({**BODY, "duration_minutes": 5}, "duration_minutes"),
        ({**BODY, "duration_minutes": "60"}, "duration_minutes"),
        ({**BODY, "preferences": ["astrology"]}, "preferences[0]"),
        ({**BODY, "colour": "red"}, "colour"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(gateway, body, field) -> None:
    response = httpx.post(
        f"{base(gateway)}/api/v1/routes", json=body, timeout=5, headers=stack.auth(gateway)
    )
    assert response.status_code == 400, response.text
    assert response.json()["details"]["field"] == field


def test_every_service_serves_its_own_metrics(gateway, router) -> None:
    gateway_metrics = httpx.get(gateway.metrics_url, timeout=5)
    assert gateway_metrics.headers["content-type"].startswith("text/plain")
    assert "http_requests_total" in gateway_metrics.text
    assert "wildside_ws_connections" in gateway_metrics.text
    assert httpx.get(f"{base(gateway)}/metrics", timeout=5).status_code == 404  # not public
    router_metrics = httpx.get(router.metrics_url, timeout=5).text
    assert "wildside_engine_route_duration_seconds" in router_metrics
    assert 'wildside_jobs_total{consumer="router"' in router_metrics
