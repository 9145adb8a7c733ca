"""Attack suite, hostile inputs: what issue 12 found answered with a 500, sent to the
running gateway process as an attacker would. Each must be a 4xx error envelope; a client
that hangs up mid-body must leave a 499 access line and no server error."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e import stack

pytestmark = pytest.mark.e2e
ID = "0b7e4d1c-3f6a-4c1e-9a52-6d2f0e8b9c11"
STAMP = "2026-01-01T00:00:00+00:00"
ROUTE = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}


def base(gateway: stack.Service) -> str:
    return gateway.health_url.removesuffix("/health/ready")


def refused(response: httpx.Response, status: int) -> dict[str, object]:
    """The error envelope of a `status` answer."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "trace_id", "details"}, body
    assert body["code"] != "internal_error"
    return dict(body)


@pytest.fixture(scope="module")
def own_request(gateway: stack.Service) -> str:
    url = f"{base(gateway)}/api/v1/routes"
    response = httpx.post(url, json=ROUTE, headers=stack.auth(gateway), timeout=10)
    assert response.status_code == 202, response.text
    return str(response.json()["request_id"])


SPELLINGS: dict[str, Callable[[str], str]] = {
    "braces": lambda uid: "{" + uid + "}",
    "urn": lambda uid: "urn:uuid:" + uid,
}


@pytest.mark.parametrize("spell", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_route_ids_uuid_accepts_and_asyncpg_refuses_are_404(
    gateway: stack.Service, own_request: str, spell: Callable[[str], str]
) -> None:
    for request_id in (own_request, ID):
        url = f"{base(gateway)}/api/v1/routes/{spell(request_id)}"
        assert refused(httpx.get(url, headers=stack.auth(gateway)), 404)["code"] == "not_found"


def test_a_braced_idempotency_key_is_400(gateway: stack.Service) -> None:
    headers = {**stack.auth(gateway), "Idempotency-Key": "{" + ID + "}"}
    response = httpx.post(f"{base(gateway)}/api/v1/routes", json=ROUTE, headers=headers)
    assert refused(response, 400)["details"] == {"field": "Idempotency-Key"}


def test_an_expected_revision_of_2_to_the_40_is_400(gateway: stack.Service) -> None:
    body = {"interest_theme_ids": [], "expected_revision": 2**40}
    url = f"{base(gateway)}/api/v1/users/me/interests"
    response = httpx.put(url, json=body, headers=stack.auth(gateway))
    assert refused(response, 400)["details"] == {"field": "expected_revision"}


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CURSORS = {
    "out-of-range timestamp": json.dumps({"k": ["0001-01-01T00:00:00+14:00", ID]}),
    "4,000-digit depth": json.dumps({"k": [STAMP, ID]})[:-1] + ',"n":' + "9" * 4000 + "}",
    "arrays nested 3,000 deep": '{"k":' + "[" * 3000 + "]" * 3000 + "}",
}


@pytest.mark.parametrize("listing", ["/api/v1/users", "/api/v1/admin/enrichment/provenance"])
@pytest.mark.parametrize("raw", CURSORS.values(), ids=CURSORS.keys())
def test_hostile_admin_cursors_are_400(gateway: stack.Service, listing: str, raw: str) -> None:
    url = f"{base(gateway)}{listing}"
    response = httpx.get(url, params={"cursor": cursor(raw)}, headers=stack.auth(gateway, "admin"))
    assert refused(response, 400)["details"] == {"field": "cursor", "code": "invalid_cursor"}


@pytest.mark.parametrize("listing", ["/api/v1/routes", "/api/v1/saved-routes"])
@pytest.mark.parametrize("raw", CURSORS.values(), ids=CURSORS.keys())
def test_hostile_user_cursors_are_400(gateway: stack.Service, listing: str, raw: str) -> None:
    url = f"{base(gateway)}{listing}"
    response = httpx.get(url, params={"cursor": cursor(raw)}, headers=stack.auth(gateway))
    assert refused(response, 400)["details"] == {"field": "cursor", "code": "invalid_cursor"}


@pytest.mark.parametrize(
    ("name", "value"), [("from", "0001-01-01T00:00+14:00"), ("to", "9999-12-31T23:59-14:00")]
)
def test_provenance_bounds_beyond_the_calendar_are_400(
    gateway: stack.Service, name: str, value: str
) -> None:
    url = f"{base(gateway)}/api/v1/admin/enrichment/provenance"
    response = httpx.get(url, params={name: value}, headers=stack.auth(gateway, "admin"))
    assert refused(response, 400)["details"] == {"field": name}


def log_lines(gateway: stack.Service) -> list[dict[str, object]]:
    lines = gateway.log_path.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_a_client_hanging_up_mid_body_is_a_disconnect_not_a_server_error(
    gateway: stack.Service,
) -> None:
    path = "/api/v1/users/me/interests"
    port = int(base(gateway).rsplit(":", 1)[1])
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: gateway\r\n"
        f"Authorization: Bearer {stack.token(gateway)}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        '{"interest_theme_ids": ["hist'
    )
    seen = len(log_lines(gateway))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head.encode())
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [line for line in log_lines(gateway)[seen:] if line.get("path") == path]
        if any(line.get("logger") == "wildside.access" for line in lines):
            break
        time.sleep(0.1)
    assert [(line["logger"], line.get("status")) for line in lines] == [
        ("wildside_common.http", None),
        ("wildside.access", 499),
    ]
    assert lines[0]["message"] == "client disconnected" and lines[0]["level"] == "info"
    assert httpx.get(f"{base(gateway)}/api/v1/users/me", headers=stack.auth(gateway)).is_success
