"""Inputs that were a 500 (issue 12, "No 500 from any input"), each now a 4xx envelope,
against the gateway built by its real bootstrap and served by uvicorn; and a client that
hangs up mid-body, which is a 499 in the access log and the metrics, not a 500."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from gateway_live import LiveGateway, live_gateway

from wildside_common.metrics import HTTP_REQUESTS

pytestmark = pytest.mark.contract
ID = "0b7e4d1c-3f6a-4c1e-9a52-6d2f0e8b9c11"
STAMP = "2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def live(database_url: str, nats_url: str, redis_url: str) -> Iterator[LiveGateway]:
    with live_gateway(database_url, nats_url, redis_url) as gateway:
        yield gateway


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def envelope(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "trace_id", "details"}
    assert body["trace_id"] == response.headers["trace-id"]
    return dict(body)


SPELLINGS: dict[str, Callable[[str], str]] = {
    "braces": lambda uid: "{" + uid + "}",
    "urn": lambda uid: "urn:uuid:" + uid,
    "no hyphens": lambda uid: uid.replace("-", ""),
    "trailing hyphen": lambda uid: uid + "-",
}


@pytest.mark.parametrize("spell", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_route_id_in_a_spelling_asyncpg_refuses_is_404(
    live: LiveGateway, spell: Callable[[str], str]
) -> None:
    for request_id in (ID, live.user_request_id):
        url = f"{live.base_url}/api/v1/routes/{spell(request_id)}"
        body = envelope(httpx.get(url, headers=live.user), 404)
        assert body["code"] == "not_found"


def test_a_route_id_in_upper_case_is_the_same_request(live: LiveGateway) -> None:
    url = f"{live.base_url}/api/v1/routes/{live.user_request_id.upper()}"
    response = httpx.get(url, headers=live.user)
    assert response.status_code in (200, 202)
    assert response.json()["request_id"] == live.user_request_id


@pytest.mark.parametrize("key", ["{" + ID + "}", "urn:uuid:" + ID, ID.replace("-", "")])
def test_an_idempotency_key_in_another_spelling_is_400(live: LiveGateway, key: str) -> None:
    body = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}
    headers = {**live.user, "Idempotency-Key": key}
    response = httpx.post(f"{live.base_url}/api/v1/routes", json=body, headers=headers)
    assert envelope(response, 400)["details"] == {"field": "Idempotency-Key"}


@pytest.mark.parametrize("revision", [2**40, 2**31, 2**63 - 1, -(2**63)])
def test_an_expected_revision_beyond_the_integer_column_is_400(
    live: LiveGateway, revision: int
) -> None:
    body = {"interest_theme_ids": [], "expected_revision": revision}
    response = httpx.put(f"{live.base_url}/api/v1/users/me/interests", json=body, headers=live.user)
    assert envelope(response, 400)["details"] == {"field": "expected_revision"}


HOSTILE_CURSORS = {
    "timestamp of year 0 in UTC": json.dumps({"k": ["0001-01-01T00:00:00+14:00", ID]}),
    "timestamp of year 10000 in UTC": json.dumps({"k": ["9999-12-31T23:59:00-14:00", ID]}),
    "id in braces": json.dumps({"k": [STAMP, "{" + ID + "}"]}),
    "depth of 4,000 digits": json.dumps({"k": [STAMP, ID]})[:-1] + ',"n":' + "9" * 4000 + "}",
    "arrays nested 3,000 deep": '{"k":' + "[" * 3000 + "]" * 3000 + "}",
}
LISTINGS = ["/api/v1/users", "/api/v1/admin/enrichment/provenance"]


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("raw", HOSTILE_CURSORS.values(), ids=HOSTILE_CURSORS.keys())
def test_a_hostile_cursor_is_400_invalid_cursor(live: LiveGateway, listing: str, raw: str) -> None:
    url = f"{live.base_url}{listing}"
    response = httpx.get(url, params={"cursor": cursor(raw)}, headers=live.admin)
    assert envelope(response, 400)["details"] == {"field": "cursor", "code": "invalid_cursor"}


@pytest.mark.parametrize(
    ("name", "value"),
    [("from", "0001-01-01T00:00+14:00"), ("to", "9999-12-31T23:59-14:00")],
)
def test_a_provenance_bound_outside_years_1_to_9999_in_utc_is_400(
    live: LiveGateway, name: str, value: str
) -> None:
    url = f"{live.base_url}/api/v1/admin/enrichment/provenance"
    response = httpx.get(url, params={name: value}, headers=live.admin)
    assert envelope(response, 400)["details"] == {"field": name}


def test_the_edges_of_the_range_are_served(live: LiveGateway) -> None:
    url = f"{live.base_url}/api/v1/admin/enrichment/provenance"
    edges = {"from": "0001-01-01T00:00-14:00", "to": "9999-12-31T23:59+14:00"}
    assert httpx.get(url, params=edges, headers=live.admin).status_code == 200


def counted(status: str) -> float:
    sample = HTTP_REQUESTS.labels("gateway", "PUT", "/api/v1/users/me/interests", status)
    return float(sample._value.get())


def test_a_client_that_hangs_up_mid_body_is_logged_as_a_disconnect_not_a_500(
    live: LiveGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = {status: counted(status) for status in ("499", "500")}
    head = (
        "PUT /api/v1/users/me/interests HTTP/1.1\r\nHost: gateway\r\n"
        f"Authorization: {live.user['Authorization']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        '{"interest_theme_ids": ["hist'
    )
    with socket.create_connection(("127.0.0.1", live.port)) as sock:
        sock.sendall(head.encode())
        time.sleep(0.2)  # the handler is waiting for the rest of the body
    deadline = time.monotonic() + 5
    while counted("499") == before["499"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counted("499") == before["499"] + 1
    assert counted("500") == before["500"]
    lines = [r for r in caplog.records if getattr(r, "path", "") == "/api/v1/users/me/interests"]
    assert [(r.name, r.getMessage()) for r in lines] == [
        ("wildside_common.http", "client disconnected"),
        ("wildside.access", "request"),
    ]
    assert lines[1].status == 499
