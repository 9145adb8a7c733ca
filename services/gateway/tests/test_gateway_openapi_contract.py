"""The OpenAPI document against the gateway built by its real bootstrap and served by
uvicorn: it documents exactly the app's routes, and an operation declares `security`
exactly when the gateway answers it 401 without credentials."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gateway_live import LiveGateway, live_gateway
from starlette.routing import Route, WebSocketRoute

from wildside_gateway.openapi import METHODS, document

pytestmark = pytest.mark.contract
DOCUMENT = document()


@pytest.fixture(scope="module")
def live(database_url: str, nats_url: str, redis_url: str) -> Iterator[LiveGateway]:
    with live_gateway(database_url, nats_url, redis_url) as gateway:
        yield gateway


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in DOCUMENT["paths"].items()
        for method in METHODS
        if method in item
    ]


def test_the_document_has_exactly_the_apps_routes(live: LiveGateway) -> None:
    served: set[tuple[str, str]] = set()
    sockets = []
    for route in live.gateway.app.routes:
        if isinstance(route, WebSocketRoute):
            sockets.append(route.path)  # documented in schemas/asyncapi.yaml
            continue
        assert isinstance(route, Route), route
        served |= {(route.path, m.lower()) for m in (route.methods or set()) - {"HEAD"}}
    assert sockets == ["/ws"]
    documented = {(path, method) for path, method, _ in operations()}
    assert documented == served


def _call(live: LiveGateway, path: str, method: str) -> httpx.Response:
    url = live.base_url + re.sub(r"{\w+}", str(uuid.uuid4()), path)
    # No credentials at all; a JSON body where one may be read (never reached when refused).
    body: dict[str, Any] = {"json": {}} if method in ("post", "put", "patch") else {}
    return httpx.request(method.upper(), url, timeout=10, **body)


def test_security_is_declared_exactly_where_the_gateway_wants_a_session(
    live: LiveGateway,
) -> None:
    protected, public = [], []
    for path, method, operation in operations():
        response = _call(live, path, method)
        assert response.status_code < 500, (path, method, response.text)
        if operation["security"]:
            protected.append(path)
            assert response.status_code == 401, (path, method, response.status_code)
            assert response.json()["code"] == "unauthorized"
            assert "401" in operation["responses"], (path, method)
            assert {"sessionCookie": []} in operation["security"]
            assert {"bearerToken": []} in operation["security"]
        else:
            public.append(path)
            assert response.status_code != 401, (path, method)
    assert "/api/v1/routes" in protected and "/api/v1/users/me" in protected
    assert {"/api/v1/login", "/health/live", "/openapi.json", "/asyncapi.json"} <= set(public)


def test_both_documented_schemes_are_accepted(live: LiveGateway) -> None:
    """The cookie and the Bearer header each authenticate (the document offers either)."""
    token = live.user["Authorization"].removeprefix("Bearer ")
    url = f"{live.base_url}/api/v1/users/me"
    assert httpx.get(url, headers=live.user, timeout=10).status_code == 200
    assert httpx.get(url, cookies={"session": token}, timeout=10).status_code == 200
    cookie = DOCUMENT["components"]["securitySchemes"]["sessionCookie"]
    assert (cookie["in"], cookie["name"]) == ("cookie", "session")


def test_a_reused_idempotency_key_is_the_documented_409(live: LiveGateway) -> None:
    key = str(uuid.uuid4())
    headers = {**live.user, "Idempotency-Key": key}
    url = f"{live.base_url}/api/v1/routes"
    body = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}
    first = httpx.post(url, json=body, headers=headers, timeout=10)
    assert first.status_code == 202, first.text
    replay = httpx.post(url, json=body, headers=headers, timeout=10)
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    conflict = httpx.post(url, json={**body, "duration_minutes": 61}, headers=headers, timeout=10)
    assert conflict.status_code == 409
    documented = DOCUMENT["components"]["responses"]["IdempotencyConflict"]
    enum = documented["content"]["application/json"]["schema"]["allOf"][1]["properties"]
    assert conflict.json()["code"] in enum["code"]["enum"]
